// AVX-512 (F, BW, VL, VNNI, BF16) matmul kernels (declarations; the table is in dispatch.cpp).
// Types without an entry here use the AVX2 kernels on an AVX-512 machine.
#pragma once

#include <cstddef>
#include <cstdint>

namespace hearth::kernels::avx512 {

#define HEARTH_DECLARE_MATMUL_512(w, act)                                                 \
    float vec_dot_##w##_##act(int64_t n, const void* w_row, const void* a_row);           \
    void gemm_##w##_##act(int64_t n, const void* w, size_t bw, int64_t nr, const void* a, \
                          size_t ba, int ny, float* y, size_t by);

HEARTH_DECLARE_MATMUL_512(f32, f32)
HEARTH_DECLARE_MATMUL_512(bf16, bf16)
HEARTH_DECLARE_MATMUL_512(q8_0, q8_0)
HEARTH_DECLARE_MATMUL_512(q4_0, q8_0)
HEARTH_DECLARE_MATMUL_512(iq4_nl, q8_0)
HEARTH_DECLARE_MATMUL_512(q4_K, q8_K)
HEARTH_DECLARE_MATMUL_512(q6_K, q8_K)

}  // namespace hearth::kernels::avx512
