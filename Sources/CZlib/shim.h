// zlib (Debian: zlib1g-dev, pkg-config name "zlib"), for reading TF Hub's compressed module
// tarballs. inflateInit2/deflateInit2 are macros (they pass the library version and the
// stream size for a compatibility check), which Swift cannot call: wrapped here.
#ifndef ELMO_CZLIB_SHIM_H
#define ELMO_CZLIB_SHIM_H
#include <zlib.h>

/// Starts decompressing a gzip stream (windowBits 15 + 16: gzip header and trailer, CRC-32 and
/// length checked by zlib).
static inline int elmo_inflate_init_gzip(z_stream *stream) { return inflateInit2(stream, 15 + 16); }

/// Starts compressing into a gzip stream (tests write archives with it).
static inline int elmo_deflate_init_gzip(z_stream *stream, int level) {
    return deflateInit2(stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
}
#endif
