// AVX2 activation quantizers for Q8_0 and Q8_K, bit-identical to the ref/ versions: the same
// float operations (amax, one division, multiply, round to nearest even), only vectorized.
#include <immintrin.h>

#include "kernels/ref/blocks.h"
#include "kernels/x86_avx2/kernels_avx2.h"

namespace hearth::kernels::avx2 {

namespace {

inline float amax_of(const float* x, int n) {
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    __m256 m = _mm256_setzero_ps();
    for (int j = 0; j < n; j += 8)
        m = _mm256_max_ps(m, _mm256_and_ps(_mm256_loadu_ps(x + j), abs_mask));
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// 32 floats times scale, rounded to nearest even, clamped to [-127, 127], stored as bytes.
inline void round_32(const float* x, float scale, int8_t* q) {
    const __m256 s = _mm256_set1_ps(scale);
    const __m256i lo = _mm256_set1_epi32(-127), hi = _mm256_set1_epi32(127);
    __m256i v[4];
    for (int k = 0; k < 4; ++k) {
        v[k] = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 8 * k), s));
        v[k] = _mm256_min_epi32(_mm256_max_epi32(v[k], lo), hi);
    }
    // packs works per 128-bit lane; the permute puts the four 8-element groups back in order.
    const __m256i p =
        _mm256_packs_epi16(_mm256_packs_epi32(v[0], v[1]), _mm256_packs_epi32(v[2], v[3]));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(q),
                        _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
}

}  // namespace

void quantize_row_q8_0(const float* src, void* dst, int64_t n) {
    auto* y = static_cast<BlockQ8_0*>(dst);
    for (int64_t i = 0; i < n / kQK; ++i, src += kQK) {
        const float amax = amax_of(src, kQK);
        y[i].d = _cvtss_sh(amax / 127.0f, _MM_FROUND_TO_NEAREST_INT);
        round_32(src, amax != 0.0f ? 127.0f / amax : 0.0f, y[i].qs);
    }
}

void quantize_row_q8_K(const float* src, void* dst, int64_t n) {
    auto* y = static_cast<BlockQ8_K*>(dst);
    for (int64_t i = 0; i < n / kQK_K; ++i, src += kQK_K) {
        const float amax = amax_of(src, kQK_K);
        const float iscale = amax != 0.0f ? 127.0f / amax : 0.0f;
        y[i].d = amax != 0.0f ? 1.0f / iscale : 0.0f;
        for (int k = 0; k < kQK_K / 32; ++k) round_32(src + 32 * k, iscale, y[i].qs + 32 * k);
        for (int b = 0; b < kQK_K / 16; ++b) {
            // Sum of 16 bytes: widen to int16, madd by ones, then add the four int32.
            const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(y[i].qs + 16 * b));
            const __m256i s = _mm256_madd_epi16(_mm256_cvtepi8_epi16(q), _mm256_set1_epi16(1));
            __m128i t = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
            t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0x4E));
            t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0xB1));
            y[i].bsums[b] = static_cast<int16_t>(_mm_cvtsi128_si32(t));
        }
    }
}

void quantize_row_q8_K_paired(const float* src, void* dst, int64_t n) {
    quantize_row_q8_K(src, dst, n);
    auto* y = static_cast<BlockQ8_K*>(dst);
    for (int64_t i = 0; i < n / kQK_K; ++i) {
        int16_t* b = y[i].bsums;
        for (int k = 0; k < 8; ++k) b[k] = static_cast<int16_t>(b[2 * k] + b[2 * k + 1]);
        for (int k = 8; k < 16; ++k) b[k] = 0;
    }
}

}  // namespace hearth::kernels::avx2
