// Definitions shared by the packed-weight kernels (gemm.c, bf16.c, int8.c).
#ifndef ELMO_PANELS_H
#define ELMO_PANELS_H

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
