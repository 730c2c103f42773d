// AVX-512 dot products for F32 weights (16 lanes, two FMA chains per token) and BF16 weights
// with BF16 activations (vdpbf16ps: exact bf16 products summed in float, 32 elements per op).
#include <immintrin.h>

#include <cstring>

#include "kernels/x86_avx2/common.h"
#include "kernels/x86_avx512/common.h"
#include "kernels/x86_avx512/kernels_avx512.h"

namespace hearth::kernels::avx512 {

namespace {

float bf16_scalar(uint16_t v) {
    const uint32_t bits = static_cast<uint32_t>(v) << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

struct GemmF32 {
    template <int NY>
    static void run(int64_t n, const void* w, size_t bw, int64_t nr, const void* a, size_t ba,
                    float* y, size_t by) {
        const float* at[NY];
        for (int t = 0; t < NY; ++t) at[t] = x86::row<float>(a, ba, t);
        for (int64_t r = 0; r < nr; ++r) {
            const float* wr = x86::row<float>(w, bw, r);
            __m512 acc0[NY], acc1[NY];
            for (int t = 0; t < NY; ++t) acc0[t] = acc1[t] = _mm512_setzero_ps();
            int64_t k = 0;
            for (; k + 32 <= n; k += 32) {
                const __m512 w0 = _mm512_loadu_ps(wr + k), w1 = _mm512_loadu_ps(wr + k + 16);
                for (int t = 0; t < NY; ++t) {
                    acc0[t] = _mm512_fmadd_ps(w0, _mm512_loadu_ps(at[t] + k), acc0[t]);
                    acc1[t] = _mm512_fmadd_ps(w1, _mm512_loadu_ps(at[t] + k + 16), acc1[t]);
                }
            }
            // Tail of fewer than 32: up to two masked 16-lane steps.
            for (; k < n; k += 16) {
                const int64_t left = n - k;
                const __mmask16 m = left >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << left) - 1);
                const __m512 w0 = _mm512_maskz_loadu_ps(m, wr + k);
                for (int t = 0; t < NY; ++t)
                    acc0[t] = _mm512_fmadd_ps(w0, _mm512_maskz_loadu_ps(m, at[t] + k), acc0[t]);
            }
            for (int t = 0; t < NY; ++t) y[t * by + r] = hsum512(_mm512_add_ps(acc0[t], acc1[t]));
        }
    }
};

struct GemmBF16 {
    template <int NY>
    static void run(int64_t n, const void* w, size_t bw, int64_t nr, const void* a, size_t ba,
                    float* y, size_t by) {
        const uint16_t* at[NY];
        for (int t = 0; t < NY; ++t) at[t] = x86::row<uint16_t>(a, ba, t);
        for (int64_t r = 0; r < nr; ++r) {
            const uint16_t* wr = x86::row<uint16_t>(w, bw, r);
            __m512 acc[NY];
            for (int t = 0; t < NY; ++t) acc[t] = _mm512_setzero_ps();
            int64_t k = 0;
            for (; k + 32 <= n; k += 32) {
                const __m512bh w0 = (__m512bh)_mm512_loadu_si512(wr + k);
                for (int t = 0; t < NY; ++t)
                    acc[t] = _mm512_dpbf16_ps(acc[t], w0, (__m512bh)_mm512_loadu_si512(at[t] + k));
            }
            for (int t = 0; t < NY; ++t) {
                float s = hsum512(acc[t]);
                for (int64_t j = k; j < n; ++j) s += bf16_scalar(wr[j]) * bf16_scalar(at[t][j]);
                y[t * by + r] = s;
            }
        }
    }
};

}  // namespace

float vec_dot_f32_f32(int64_t n, const void* w, const void* a) {
    return x86::vec_dot_via<GemmF32>(n, w, a);
}
void gemm_f32_f32(int64_t n, const void* w, size_t bw, int64_t nr, const void* a, size_t ba, int ny,
                  float* y, size_t by) {
    x86::gemm_dispatch<GemmF32, 8>(n, w, bw, nr, a, ba, ny, y, by);
}
float vec_dot_bf16_bf16(int64_t n, const void* w, const void* a) {
    return x86::vec_dot_via<GemmBF16>(n, w, a);
}
void gemm_bf16_bf16(int64_t n, const void* w, size_t bw, int64_t nr, const void* a, size_t ba,
                    int ny, float* y, size_t by) {
    x86::gemm_dispatch<GemmBF16, 8>(n, w, bw, nr, a, ba, ny, y, by);
}

}  // namespace hearth::kernels::avx512
