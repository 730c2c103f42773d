// AVX2 dot products of the 32-element formats (Q8_0, Q4_0, Q5_0, IQ4_NL with Q8_0 activations;
// Q4_1, Q5_1 with Q8_1). A weight block becomes 32 bytes once per row; per token the sign trick
// (|w| unsigned, a * sign(w) signed) feeds maddubs, which cannot overflow since |w| <= 127.
// Formats with a min add m * s_a per block, s_a = d_a * sum(a) from the Q8_1 block.
#include <immintrin.h>

#include "kernels/ref/blocks.h"
#include "kernels/x86_avx2/common.h"
#include "kernels/x86_avx2/kernels_avx2.h"
#include "kernels/x86_avx2/legacy_blocks.h"

namespace hearth::kernels::avx2 {

namespace {

using x86::f16;
using x86::IQ4_NL;
using x86::Q4_0;
using x86::Q4_1;
using x86::Q5_0;
using x86::Q5_1;
using x86::Q8_0;

template <typename D>
struct GemmLegacy {
    // 5..8 tokens (formats without a min): per block the tokens' int32 products are reduced
    // together into one vector (lane = token) and scaled by one FMA with the tokens' scales.
    template <int NY>
    static void run_wide(int64_t n, const void* w, size_t bw, int64_t nr, const void* a, size_t ba,
                         float* y, size_t by) {
        static_assert(!D::kHasMin);
        const int64_t nb = n / kQK;
        const __m256i ones = _mm256_set1_epi16(1);
        using ABlock = typename D::ABlock;
        const ABlock* ay[NY];
        for (int t = 0; t < NY; ++t) ay[t] = x86::row<ABlock>(a, ba, t);
        // The activation scales as float vectors (lane = token), once per call for rows up to
        // kCachedBlocks blocks; longer rows build them in the loop.
        constexpr int64_t kCachedBlocks = 256;
        alignas(32) float da[8 * kCachedBlocks];
        auto scales = [&](int64_t i, float* dst) {
            for (int t = 0; t < 8; ++t) dst[t] = t < NY ? f16(ay[t][i].d) : 0.0f;
        };
        const bool cached = nb <= kCachedBlocks;
        if (cached) {
            for (int64_t i = 0; i < nb; ++i) scales(i, da + 8 * i);
        }
        for (int64_t r = 0; r < nr; ++r) {
            const auto* x = x86::row<typename D::Block>(w, bw, r);
            __m256 acc = _mm256_setzero_ps();
            for (int64_t i = 0; i < nb; ++i) {
                const __m256i wq = D::load(x[i]);
                const __m256i ax = _mm256_sign_epi8(wq, wq);
                __m256i p[8];
                for (int t = 0; t < 8; ++t) {
                    if (t < NY) {
                        const __m256i aq =
                            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ay[t][i].qs));
                        p[t] = _mm256_madd_epi16(_mm256_maddubs_epi16(ax, _mm256_sign_epi8(aq, wq)),
                                                 ones);
                    } else {
                        p[t] = _mm256_setzero_si256();
                    }
                }
                __m256 dv;
                if (cached) {
                    dv = _mm256_load_ps(da + 8 * i);
                } else {
                    alignas(32) float tmp[8];
                    scales(i, tmp);
                    dv = _mm256_load_ps(tmp);
                }
                acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(x86::hsum8_epi32(p)),
                                      _mm256_mul_ps(dv, _mm256_set1_ps(f16(x[i].d))), acc);
            }
            x86::store_tokens(acc, NY, y, by, r);
        }
    }

    template <int NY>
    static void run(int64_t n, const void* w, size_t bw, int64_t nr, const void* a, size_t ba,
                    float* y, size_t by) {
        if constexpr (NY >= 5 && !D::kHasMin) {
            run_wide<NY>(n, w, bw, nr, a, ba, y, by);
            return;
        }
        const int64_t nb = n / kQK;
        const __m256i ones = _mm256_set1_epi16(1);
        using ABlock = typename D::ABlock;
        const ABlock* ay[NY];
        for (int t = 0; t < NY; ++t) ay[t] = x86::row<ABlock>(a, ba, t);
        // The activation scales as floats, converted once per call rather than once per row
        // (rows up to kCachedBlocks blocks; longer ones convert in the loop). No std:: containers
        // here: their inline code compiled with these -m flags could be shared with other files.
        constexpr int64_t kCachedBlocks = 512;
        float da[NY * kCachedBlocks];
        const bool cached = nb <= kCachedBlocks;
        if (cached) {
            for (int t = 0; t < NY; ++t)
                for (int64_t i = 0; i < nb; ++i) da[t * nb + i] = f16(ay[t][i].d);
        }
        for (int64_t r = 0; r < nr; ++r) {
            if constexpr (NY == 1) x86::prefetch_ahead(w, bw, r);
            const auto* x = x86::row<typename D::Block>(w, bw, r);
            __m256 acc[2][NY];
            float msum[NY] = {};  // sum of m * s_a (formats with a min)
            for (int s = 0; s < 2; ++s)
                for (int t = 0; t < NY; ++t) acc[s][t] = _mm256_setzero_ps();
            auto step = [&](int64_t i, __m256* as) {
                const __m256i wq = D::load(x[i]);
                const __m256i ax = _mm256_sign_epi8(wq, wq);
                const float dw = f16(x[i].d);
                for (int t = 0; t < NY; ++t) {
                    const __m256i aq =
                        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ay[t][i].qs));
                    const __m256i p =
                        _mm256_madd_epi16(_mm256_maddubs_epi16(ax, _mm256_sign_epi8(aq, wq)), ones);
                    as[t] = _mm256_fmadd_ps(
                        _mm256_cvtepi32_ps(p),
                        _mm256_set1_ps(dw * (cached ? da[t * nb + i] : f16(ay[t][i].d))), as[t]);
                    if constexpr (D::kHasMin) msum[t] += f16(x[i].m) * f16(ay[t][i].s);
                }
            };
            // Two accumulator sets (even/odd blocks) hide the FMA latency when NY is small.
            int64_t i = 0;
            for (; i + 1 < nb; i += 2) {
                step(i, acc[0]);
                step(i + 1, NY <= 2 ? acc[1] : acc[0]);
            }
            if (i < nb) step(i, acc[0]);
            for (int t = 0; t < NY; ++t) {
                const __m256 s = _mm256_add_ps(acc[0][t], acc[1][t]);
                y[t * by + r] = x86::hsum(s) + msum[t];
            }
        }
    }
};

}  // namespace

// Formats without a min take up to 8 tokens per pass (the wide path), the others 4.
#define HEARTH_DEFINE_LEGACY(name, act, D)                                                     \
    float vec_dot_##name##_##act(int64_t n, const void* w, const void* a) {                    \
        return x86::vec_dot_via<GemmLegacy<D>>(n, w, a);                                       \
    }                                                                                          \
    void gemm_##name##_##act(int64_t n, const void* w, size_t bw, int64_t nr, const void* a,   \
                             size_t ba, int ny, float* y, size_t by) {                         \
        x86::gemm_dispatch<GemmLegacy<D>, D::kHasMin ? 4 : 8>(n, w, bw, nr, a, ba, ny, y, by); \
    }

HEARTH_DEFINE_LEGACY(q8_0, q8_0, Q8_0)
HEARTH_DEFINE_LEGACY(q4_0, q8_0, Q4_0)
HEARTH_DEFINE_LEGACY(q5_0, q8_0, Q5_0)
HEARTH_DEFINE_LEGACY(iq4_nl, q8_0, IQ4_NL)
HEARTH_DEFINE_LEGACY(q4_1, q8_1, Q4_1)
HEARTH_DEFINE_LEGACY(q5_1, q8_1, Q5_1)

}  // namespace hearth::kernels::avx2
