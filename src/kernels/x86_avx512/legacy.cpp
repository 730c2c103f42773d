// AVX-512 VNNI dot products of Q8_0, Q4_0 and IQ4_NL with Q8_0 activations: as the AVX2
// kernels (sign trick), but vpdpbusd replaces maddubs + madd, and up to 8 tokens per pass.
#include <immintrin.h>

#include "kernels/ref/blocks.h"
#include "kernels/x86_avx2/common.h"
#include "kernels/x86_avx2/legacy_blocks.h"
#include "kernels/x86_avx512/kernels_avx512.h"

namespace hearth::kernels::avx512 {

namespace {

using x86::f16;

template <typename D>
struct GemmLegacy {
    template <int NY>
    static void run(int64_t n, const void* w, size_t bw, int64_t nr, const void* a, size_t ba,
                    float* y, size_t by) {
        const int64_t nb = n / kQK;
        const BlockQ8_0* ay[NY];
        for (int t = 0; t < NY; ++t) ay[t] = x86::row<BlockQ8_0>(a, ba, t);
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
            const auto* x = x86::row<typename D::Block>(w, bw, r);
            __m256 acc[2][NY];
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
                        _mm256_dpbusd_epi32(_mm256_setzero_si256(), ax, _mm256_sign_epi8(aq, wq));
                    as[t] = _mm256_fmadd_ps(
                        _mm256_cvtepi32_ps(p),
                        _mm256_set1_ps(dw * (cached ? da[t * nb + i] : f16(ay[t][i].d))), as[t]);
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
                y[t * by + r] = x86::hsum(s);
            }
        }
    }
};

}  // namespace

#define HEARTH_DEFINE_LEGACY_512(name, D)                                                   \
    float vec_dot_##name##_q8_0(int64_t n, const void* w, const void* a) {                  \
        return x86::vec_dot_via<GemmLegacy<D>>(n, w, a);                                    \
    }                                                                                       \
    void gemm_##name##_q8_0(int64_t n, const void* w, size_t bw, int64_t nr, const void* a, \
                            size_t ba, int ny, float* y, size_t by) {                       \
        x86::gemm_dispatch<GemmLegacy<D>, 8>(n, w, bw, nr, a, ba, ny, y, by);               \
    }

HEARTH_DEFINE_LEGACY_512(q8_0, x86::Q8_0)
HEARTH_DEFINE_LEGACY_512(q4_0, x86::Q4_0)
HEARTH_DEFINE_LEGACY_512(iq4_nl, x86::IQ4_NL)

}  // namespace hearth::kernels::avx512
