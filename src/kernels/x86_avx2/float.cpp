// AVX2 dot products for F32, F16 and BF16 weights with activations of the same type: both
// sides widened to float, 16 elements per step in two FMA chains per token.
#include <immintrin.h>

#include <cstring>

#include "kernels/x86_avx2/common.h"
#include "kernels/x86_avx2/kernels_avx2.h"

namespace hearth::kernels::avx2 {

namespace {

using x86::hsum;

struct F32 {
    using T = float;
    static __m256 load(const T* p) { return _mm256_loadu_ps(p); }
    static float scalar(T v) { return v; }
};
struct F16 {
    using T = uint16_t;
    static __m256 load(const T* p) {
        return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    }
    static float scalar(T v) { return _cvtsh_ss(v); }
};
struct BF16 {
    using T = uint16_t;
    static __m256 load(const T* p) {
        const __m256i v =
            _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
        return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
    }
    static float scalar(T v) {
        const uint32_t bits = static_cast<uint32_t>(v) << 16;
        float f;
        std::memcpy(&f, &bits, 4);
        return f;
    }
};

template <typename L>
struct GemmFloat {
    // 4 tokens: rows in pairs, so each activation load feeds two FMAs (8 independent chains);
    // the 4 sums of a row are reduced together.
    static void run_pairs(int64_t n, const void* w, size_t bw, int64_t nr, const void* a, size_t ba,
                          float* y, size_t by) {
        using T = typename L::T;
        const T* at[4];
        for (int t = 0; t < 4; ++t) at[t] = x86::row<T>(a, ba, t);
        for (int64_t r = 0; r < nr; r += 2) {
            const T* wr[2] = {x86::row<T>(w, bw, r), x86::row<T>(w, bw, r + 1)};
            __m256 acc[2][4];
            for (int j = 0; j < 2; ++j)
                for (int t = 0; t < 4; ++t) acc[j][t] = _mm256_setzero_ps();
            int64_t k = 0;
            for (; k + 8 <= n; k += 8) {
                const __m256 w0 = L::load(wr[0] + k), w1 = L::load(wr[1] + k);
                for (int t = 0; t < 4; ++t) {
                    const __m256 av = L::load(at[t] + k);
                    acc[0][t] = _mm256_fmadd_ps(w0, av, acc[0][t]);
                    acc[1][t] = _mm256_fmadd_ps(w1, av, acc[1][t]);
                }
            }
            for (int j = 0; j < 2; ++j) {
                // Lane t of the 128-bit result = sum of acc[j][t].
                const __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(acc[j][0], acc[j][1]),
                                                _mm256_hadd_ps(acc[j][2], acc[j][3]));
                alignas(16) float s[4];
                _mm_store_ps(s, _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1)));
                for (int t = 0; t < 4; ++t) {
                    for (int64_t i = k; i < n; ++i)
                        s[t] += L::scalar(wr[j][i]) * L::scalar(at[t][i]);
                    y[t * by + r + j] = s[t];
                }
            }
        }
    }

    template <int NY>
    static void run(int64_t n, const void* w, size_t bw, int64_t nr, const void* a, size_t ba,
                    float* y, size_t by) {
        if constexpr (NY == 4) {
            if (nr >= 2) {
                const int64_t even = nr & ~int64_t{1};
                run_pairs(n, w, bw, even, a, ba, y, by);
                if (even == nr) return;
                w = static_cast<const uint8_t*>(w) + even * bw;
                y += even;
                nr -= even;
            }
        }
        using T = typename L::T;
        const T* at[NY];
        for (int t = 0; t < NY; ++t) at[t] = x86::row<T>(a, ba, t);
        for (int64_t r = 0; r < nr; ++r) {
            const T* wr = x86::row<T>(w, bw, r);
            __m256 acc0[NY], acc1[NY];
            for (int t = 0; t < NY; ++t) acc0[t] = acc1[t] = _mm256_setzero_ps();
            int64_t k = 0;
            for (; k + 16 <= n; k += 16) {
                const __m256 w0 = L::load(wr + k), w1 = L::load(wr + k + 8);
                for (int t = 0; t < NY; ++t) {
                    acc0[t] = _mm256_fmadd_ps(w0, L::load(at[t] + k), acc0[t]);
                    acc1[t] = _mm256_fmadd_ps(w1, L::load(at[t] + k + 8), acc1[t]);
                }
            }
            for (int t = 0; t < NY; ++t) {
                float s = hsum(_mm256_add_ps(acc0[t], acc1[t]));
                for (int64_t j = k; j < n; ++j) s += L::scalar(wr[j]) * L::scalar(at[t][j]);
                y[t * by + r] = s;
            }
        }
    }
};

}  // namespace

float vec_dot_f32_f32(int64_t n, const void* w, const void* a) {
    return x86::vec_dot_via<GemmFloat<F32>>(n, w, a);
}
void gemm_f32_f32(int64_t n, const void* w, size_t bw, int64_t nr, const void* a, size_t ba, int ny,
                  float* y, size_t by) {
    x86::gemm_dispatch<GemmFloat<F32>, 4>(n, w, bw, nr, a, ba, ny, y, by);
}
float vec_dot_f16_f16(int64_t n, const void* w, const void* a) {
    return x86::vec_dot_via<GemmFloat<F16>>(n, w, a);
}
void gemm_f16_f16(int64_t n, const void* w, size_t bw, int64_t nr, const void* a, size_t ba, int ny,
                  float* y, size_t by) {
    x86::gemm_dispatch<GemmFloat<F16>, 4>(n, w, bw, nr, a, ba, ny, y, by);
}
float vec_dot_bf16_bf16(int64_t n, const void* w, const void* a) {
    return x86::vec_dot_via<GemmFloat<BF16>>(n, w, a);
}
void gemm_bf16_bf16(int64_t n, const void* w, size_t bw, int64_t nr, const void* a, size_t ba,
                    int ny, float* y, size_t by) {
    x86::gemm_dispatch<GemmFloat<BF16>, 4>(n, w, bw, nr, a, ba, ny, y, by);
}

// F16 activations: rounded with the hardware converter (round to nearest even, like f32_to_f16).
void quantize_row_f16(const float* src, void* dst, int64_t n) {
    auto* h = static_cast<uint16_t*>(dst);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        _mm_storeu_si128(reinterpret_cast<__m128i*>(h + i),
                         _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
    }
    for (; i < n; ++i) h[i] = _cvtss_sh(src[i], _MM_FROUND_TO_NEAREST_INT);
}

}  // namespace hearth::kernels::avx2
