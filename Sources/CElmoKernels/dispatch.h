// Which instruction-set variant of the kernels runs on this CPU (shared by kernels.c and
// gemm.c so that both always agree).
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

#endif
