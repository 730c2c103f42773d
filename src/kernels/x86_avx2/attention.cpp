// AVX2 + FMA + F16C attention kernels over F32, F16 and Q8_0 caches: the online-softmax chunk
// of attention_impl.h at 8 floats per vector, a vector exp, and the cache formats.
#include <immintrin.h>

#include <algorithm>

#include "kernels/x86_avx2/attention_impl.h"

namespace hearth::kernels::avx2 {

namespace {

using x86::exp256;
using x86::hsum;
using x86::PanelF16;
using x86::PanelF32;
using x86::PanelQ8_0;
using x86::RowF16;
using x86::RowF32;
using x86::RowQ8_0;
using x86::V8;

}  // namespace

float exp_sum(float* x, int64_t n, float scale, float max) {
    const __m256 mx = _mm256_set1_ps(max), sc = _mm256_set1_ps(scale);
    __m256 sum = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 e = exp256(_mm256_fmsub_ps(_mm256_loadu_ps(x + i), sc, mx));
        _mm256_storeu_ps(x + i, e);
        sum = _mm256_add_ps(sum, e);
    }
    float tail = 0.0f;
    if (i < n) {  // the tail through a padded copy, so every element uses the same exp
        alignas(32) float t[8] = {};
        std::copy(x + i, x + n, t);
        _mm256_store_ps(t, exp256(_mm256_fmsub_ps(_mm256_load_ps(t), sc, mx)));
        for (int64_t j = i; j < n; ++j) tail += (x[j] = t[j - i]);
    }
    return hsum(sum) + tail;
}

void attention_chunk_f32(const AttnRows& rows, const void* k, const void* v, size_t rb,
                         int64_t head_dim, int64_t j0, int64_t j1, float scale) {
    x86::attention_chunk<V8, PanelF32, RowF32>(rows, k, v, rb, head_dim, j0, j1, scale);
}
void attention_chunk_f16(const AttnRows& rows, const void* k, const void* v, size_t rb,
                         int64_t head_dim, int64_t j0, int64_t j1, float scale) {
    x86::attention_chunk<V8, PanelF16, RowF16>(rows, k, v, rb, head_dim, j0, j1, scale);
}
void attention_chunk_q8_0(const AttnRows& rows, const void* k, const void* v, size_t rb,
                          int64_t head_dim, int64_t j0, int64_t j1, float scale) {
    x86::attention_chunk<V8, PanelQ8_0, RowQ8_0>(rows, k, v, rb, head_dim, j0, j1, scale);
}

// Whole blocks directly; the last partial block through a zero-padded copy (as ref does).
void store_kv_row_q8_0(const float* src, void* dst, int64_t n) {
    const int64_t full = n / kQK * kQK;
    quantize_row_q8_0(src, dst, full);
    if (full == n) return;
    float tmp[kQK] = {};
    std::copy(src + full, src + n, tmp);
    quantize_row_q8_0(tmp, static_cast<BlockQ8_0*>(dst) + full / kQK, kQK);
}

// Element d of position `lane` at d * 16 + lane: eight elements converted at once, then
// spread over the panel.
void store_k_f16(const float* src, void* panel, int lane, int64_t n) {
    auto* p = static_cast<uint16_t*>(panel) + lane;
    int64_t d = 0;
    for (; d + 8 <= n; d += 8) {
        alignas(16) uint16_t h[8];
        _mm_store_si128(reinterpret_cast<__m128i*>(h),
                        _mm256_cvtps_ph(_mm256_loadu_ps(src + d), _MM_FROUND_TO_NEAREST_INT));
        for (int i = 0; i < 8; ++i) p[(d + i) * kKPanel] = h[i];
    }
    for (; d < n; ++d) p[d * kKPanel] = _cvtss_sh(src[d], _MM_FROUND_TO_NEAREST_INT);
}

void load_kv_row_f16(const void* src, float* dst, int64_t n) {
    const auto* s = static_cast<const uint8_t*>(src);
    int64_t d = 0;
    for (; d + 8 <= n; d += 8) _mm256_storeu_ps(dst + d, RowF16::load<V8>(s, d));
    for (; d < n; ++d) dst[d] = RowF16::at(s, d);
}

void load_k_f16(const void* panel, float* dst, int64_t n) {
    load_kv_row_f16(panel, dst, n * kKPanel);
}

void load_kv_row_q8_0(const void* src, float* dst, int64_t n) {
    const auto* s = static_cast<const uint8_t*>(src);
    int64_t d = 0;
    for (; d + 8 <= n; d += 8) _mm256_storeu_ps(dst + d, RowQ8_0::load<V8>(s, d));
    for (; d < n; ++d) dst[d] = RowQ8_0::at(s, d);
}

}  // namespace hearth::kernels::avx2
