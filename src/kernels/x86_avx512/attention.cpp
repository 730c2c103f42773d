// AVX-512 attention chunk over F32, F16 and Q8_0 caches: attention_impl.h with 16 floats per
// vector, so each K and V element is widened and multiplied 16 at a time; and the prompt
// path's exp_sum. The cache formats' conversions are the AVX2 kernels.
#include <immintrin.h>

#include "kernels/x86_avx2/attention_impl.h"
#include "kernels/x86_avx512/common.h"
#include "kernels/x86_avx512/kernels_avx512.h"

namespace hearth::kernels::avx512 {

namespace {

struct V16 {
    using F = __m512;
    static constexpr int64_t W = 16;
    static constexpr int kMaxRows = 8;
    // Two multiply-adds per cycle of four cycles' latency would need 8 in flight; this CPU
    // kind reached 1.4 per cycle with 8 independent chains and 1.8 with 12-16 (Ice Lake).
    static constexpr int kChains = 16;
    static F zero() { return _mm512_setzero_ps(); }
    static F set1(float x) { return _mm512_set1_ps(x); }
    static F load(const float* p) { return _mm512_loadu_ps(p); }
    static void store(float* p, F v) { _mm512_storeu_ps(p, v); }
    static F fmadd(F a, F b, F c) { return _mm512_fmadd_ps(a, b, c); }
    static F mul(F a, F b) { return _mm512_mul_ps(a, b); }
    static F add(F a, F b) { return _mm512_add_ps(a, b); }
    static F sub(F a, F b) { return _mm512_sub_ps(a, b); }
    static F max(F a, F b) { return _mm512_max_ps(a, b); }
    static F exp(F x) { return exp512(x); }
    static float reduce_add(F v) { return hsum512(v); }
    static float reduce_max(F v) {
        const __m256 hi = _mm512_castps512_ps256(_mm512_shuffle_f32x4(v, v, 0xEE));
        return x86::hmax(_mm256_max_ps(_mm512_castps512_ps256(v), hi));
    }
    // Lanes n and past set to fill.
    static F keep_first(F x, int64_t n, float fill) {
        const __mmask16 keep = n >= W ? 0xffff : static_cast<__mmask16>((1u << n) - 1);
        return _mm512_mask_blend_ps(keep, _mm512_set1_ps(fill), x);
    }
    static F from_f16(const uint8_t* p) {
        return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    }
    static F from_i8(const int8_t* p) {
        return _mm512_cvtepi32_ps(
            _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
    }
};

}  // namespace

float exp_sum(float* x, int64_t n, float scale, float max) {
    const __m512 mx = _mm512_set1_ps(max), sc = _mm512_set1_ps(scale);
    __m512 sum = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m512 e = exp512(_mm512_fmsub_ps(_mm512_loadu_ps(x + i), sc, mx));
        _mm512_storeu_ps(x + i, e);
        sum = _mm512_add_ps(sum, e);
    }
    if (i < n) {  // the tail in masked lanes, through the same exp
        const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
        const __m512 e = exp512(_mm512_fmsub_ps(_mm512_maskz_loadu_ps(m, x + i), sc, mx));
        _mm512_mask_storeu_ps(x + i, m, e);
        sum = _mm512_mask_add_ps(sum, m, sum, e);
    }
    return hsum512(sum);
}

void attention_chunk_f32(const AttnRows& rows, const void* k, const void* v, size_t rb,
                         int64_t head_dim, int64_t j0, int64_t j1, float scale) {
    x86::attention_chunk<V16, x86::PanelF32, x86::RowF32>(rows, k, v, rb, head_dim, j0, j1, scale);
}
void attention_chunk_f16(const AttnRows& rows, const void* k, const void* v, size_t rb,
                         int64_t head_dim, int64_t j0, int64_t j1, float scale) {
    x86::attention_chunk<V16, x86::PanelF16, x86::RowF16>(rows, k, v, rb, head_dim, j0, j1, scale);
}
void attention_chunk_q8_0(const AttnRows& rows, const void* k, const void* v, size_t rb,
                          int64_t head_dim, int64_t j0, int64_t j1, float scale) {
    x86::attention_chunk<V16, x86::PanelQ8_0, x86::RowQ8_0>(rows, k, v, rb, head_dim, j0, j1,
                                                            scale);
}

}  // namespace hearth::kernels::avx512
