// AVX2 + FMA + F16C matmul kernels (declarations; the table is in dispatch.cpp). Compiled only
// into the x86_avx2/ sources, which CMake builds with -mavx2 -mfma -mf16c.
#pragma once

#include <cstddef>
#include <cstdint>

namespace hearth::kernels::avx2 {

#define HEARTH_DECLARE_MATMUL(w, act)                                                     \
    float vec_dot_##w##_##act(int64_t n, const void* w_row, const void* a_row);           \
    void gemm_##w##_##act(int64_t n, const void* w, size_t bw, int64_t nr, const void* a, \
                          size_t ba, int ny, float* y, size_t by);

HEARTH_DECLARE_MATMUL(f32, f32)
HEARTH_DECLARE_MATMUL(f16, f16)
HEARTH_DECLARE_MATMUL(bf16, bf16)
HEARTH_DECLARE_MATMUL(q8_0, q8_0)
HEARTH_DECLARE_MATMUL(q4_0, q8_0)
HEARTH_DECLARE_MATMUL(q5_0, q8_0)
HEARTH_DECLARE_MATMUL(iq4_nl, q8_0)
HEARTH_DECLARE_MATMUL(q4_1, q8_1)
HEARTH_DECLARE_MATMUL(q5_1, q8_1)
HEARTH_DECLARE_MATMUL(q2_K, q8_K)
HEARTH_DECLARE_MATMUL(q3_K, q8_K)
HEARTH_DECLARE_MATMUL(q4_K, q8_K)
HEARTH_DECLARE_MATMUL(q5_K, q8_K)
HEARTH_DECLARE_MATMUL(q6_K, q8_K)
HEARTH_DECLARE_MATMUL(iq4_xs, q8_K)

// Activation quantizers, bit-identical to ref::quantize_row_q8_0 / quantize_row_q8_K.
void quantize_row_q8_0(const float* src, void* dst, int64_t n);
void quantize_row_q8_K(const float* src, void* dst, int64_t n);
void quantize_row_f16(const float* src, void* dst, int64_t n);

}  // namespace hearth::kernels::avx2
