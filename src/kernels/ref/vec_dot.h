// Scalar reference dot products of a weight row with an activation row in the layout the
// reference engine quantizes activations to (ARCHITECTURES.md section 7). The oracle for SIMD.
#pragma once

#include <cstddef>
#include <cstdint>

namespace hearth::kernels::ref {

// Each returns dot(w row, a row) over n elements (a multiple of the weight block size).
// Integer sums are exact; the float part multiplies each block's integer sum by its scales in
// the reference's order, so SIMD versions differ only by float summation order.
float vec_dot_f32_f32(int64_t n, const void* w, const void* a);
float vec_dot_f16_f16(int64_t n, const void* w, const void* a);
float vec_dot_bf16_bf16(int64_t n, const void* w, const void* a);

float vec_dot_q4_0_q8_0(int64_t n, const void* w, const void* a);
float vec_dot_q4_1_q8_1(int64_t n, const void* w, const void* a);
float vec_dot_q5_0_q8_0(int64_t n, const void* w, const void* a);
float vec_dot_q5_1_q8_1(int64_t n, const void* w, const void* a);
float vec_dot_q8_0_q8_0(int64_t n, const void* w, const void* a);
float vec_dot_iq4_nl_q8_0(int64_t n, const void* w, const void* a);

float vec_dot_q2_K_q8_K(int64_t n, const void* w, const void* a);
float vec_dot_q3_K_q8_K(int64_t n, const void* w, const void* a);
float vec_dot_q4_K_q8_K(int64_t n, const void* w, const void* a);
float vec_dot_q5_K_q8_K(int64_t n, const void* w, const void* a);
float vec_dot_q6_K_q8_K(int64_t n, const void* w, const void* a);
float vec_dot_iq4_xs_q8_K(int64_t n, const void* w, const void* a);

// The multi-token product built from a vec_dot: no reuse, only the GemmFn signature.
template <float (*VecDot)(int64_t, const void*, const void*)>
void gemm_by_vec_dot(int64_t n, const void* w, size_t bw, int64_t nr, const void* a, size_t ba,
                     int ny, float* y, size_t by) {
    const auto* wb = static_cast<const uint8_t*>(w);
    const auto* ab = static_cast<const uint8_t*>(a);
    for (int64_t r = 0; r < nr; ++r) {
        for (int t = 0; t < ny; ++t) y[t * by + r] = VecDot(n, wb + r * bw, ab + t * ba);
    }
}

}  // namespace hearth::kernels::ref
