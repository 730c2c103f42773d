// AVX-512 SwiGLU and SiLU: the AVX2 kernels' steps (the same exp, then a division) 16 lanes at
// a time, the tail in masked lanes, so every element gets the bits the AVX2 kernels give it.
#include <immintrin.h>

#include "kernels/x86_avx512/common.h"
#include "kernels/x86_avx512/kernels_avx512.h"

namespace hearth::kernels::avx512 {

namespace {

inline __m512 silu16(__m512 x) {
    const __m512 e = exp512(_mm512_sub_ps(_mm512_setzero_ps(), x));
    return _mm512_div_ps(x, _mm512_add_ps(_mm512_set1_ps(1.0f), e));
}

// x[i] = f(x[i], y[i]) over n elements, 16 at a time and the tail in masked lanes.
template <class F>
void map16(float* x, const float* y, int64_t n, F f) {
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = n - i >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << (n - i)) - 1);
        _mm512_mask_storeu_ps(x + i, m, f(_mm512_maskz_loadu_ps(m, x + i),
                                          _mm512_maskz_loadu_ps(m, y + i)));
    }
}

}  // namespace

void swiglu(float* gate, const float* up, int64_t n) {
    map16(gate, up, n, [](__m512 g, __m512 u) { return _mm512_mul_ps(silu16(g), u); });
}

void silu(float* x, int64_t n) {
    map16(x, x, n, [](__m512 v, __m512) { return silu16(v); });
}

}  // namespace hearth::kernels::avx512
