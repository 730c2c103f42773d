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

// The lanes of the n - i < 16 elements left.
inline __mmask16 tail_mask(int64_t left) { return static_cast<__mmask16>((1u << left) - 1); }

}  // namespace

void swiglu(float* gate, const float* up, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m512 s = silu16(_mm512_loadu_ps(gate + i));
        _mm512_storeu_ps(gate + i, _mm512_mul_ps(s, _mm512_loadu_ps(up + i)));
    }
    if (i < n) {
        const __mmask16 m = tail_mask(n - i);
        const __m512 s = silu16(_mm512_maskz_loadu_ps(m, gate + i));
        _mm512_mask_storeu_ps(gate + i, m, _mm512_mul_ps(s, _mm512_maskz_loadu_ps(m, up + i)));
    }
}

void silu(float* x, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(x + i, silu16(_mm512_loadu_ps(x + i)));
    if (i < n) {
        const __mmask16 m = tail_mask(n - i);
        _mm512_mask_storeu_ps(x + i, m, silu16(_mm512_maskz_loadu_ps(m, x + i)));
    }
}

}  // namespace hearth::kernels::avx512
