// Which instruction-set variant of the kernels runs on this CPU (shared by kernels.c,
// gemm.c and bf16.c so that all agree), and the few definitions the packed-weight
// kernels share.
#ifndef ELMO_DISPATCH_H
#define ELMO_DISPATCH_H

#if defined(__x86_64__) && defined(__clang__)
#define ELMO_HAVE_X86_VARIANTS 1
#define ELMO_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define ELMO_TARGET_AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")))
#define ELMO_TARGET_AVX512_BF16 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx512bf16,avx2,fma")))
#endif

typedef enum {
    ELMO_LEVEL_BASELINE = 0,
    ELMO_LEVEL_AVX2 = 1,
    ELMO_LEVEL_AVX512 = 2,
    /// AVX-512 with the BF16 extension (vdpbf16ps): the fp32 kernels run their AVX-512
    /// variant, the bf16 kernels the instruction itself.
    ELMO_LEVEL_AVX512_BF16 = 3,
} elmo_isa_level;

/// The best variant the running CPU supports (computed once).
elmo_isa_level elmo_isa(void);

// ---- shared by the packed-weight kernels (gemm.c, bf16.c) ----------------------------

#include <stddef.h>

/// Initial values of a register tile's accumulators.
enum { ELMO_TILE_ZERO = 0, ELMO_TILE_BIAS = 1, ELMO_TILE_LOAD = 2 };

/// Clamps a caller's panel range [*begin, *end) to a matrix of `panels` panels; 0 when
/// nothing is left to compute.
static inline int elmo_clamp_panels(size_t panels, size_t *begin, size_t *end) {
    if (*end > panels) *end = panels;
    return *begin < *end;
}

#endif
