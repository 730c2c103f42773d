// AVX-512 dot products for F32 and F16 weights (widened to 16 floats, two rows at a time).
#include <immintrin.h>

#include <cstring>

#include "kernels/x86_avx2/common.h"
#include "kernels/x86_avx512/common.h"
#include "kernels/x86_avx512/kernels_avx512.h"

namespace hearth::kernels::avx512 {

namespace {

inline __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// F32 and F16 weights with activations of the same type, widened to 16 floats per load.
struct F32 {
    using T = float;
    static __m512 load(const T* p) { return _mm512_loadu_ps(p); }
    // The first `left` (< 16) elements at p, zeros after them.
    static __m512 load_part(const T* p, int64_t left) {
        return _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << left) - 1), p);
    }
};
struct F16 {
    using T = uint16_t;
    static __m512 load(const T* p) { return _mm512_cvtph_ps(load256(p)); }
    static __m512 load_part(const T* p, int64_t left) {
        alignas(32) uint16_t h[16] = {};
        std::memcpy(h, p, static_cast<size_t>(left) * sizeof(T));
        return _mm512_cvtph_ps(load256(h));
    }
};

// Two rows at a time for batches, so each activation load serves both; with up to 4 tokens
// each (row, token) sum runs as two FMA chains, so batches keep at least 8 chains in flight (two
// FMA pipes of four-cycle latency) and never more than 16 accumulators.
template <typename L>
struct GemmWiden {
    template <int R, int NY>
    static void rows(int64_t n, const void* w, size_t bw, int64_t r, const typename L::T* const* at,
                     float* y, size_t by) {
        using T = typename L::T;
        constexpr int S = NY <= 4 ? 2 : 1;  // chains per (row, token)
        const T* wr[R];
        for (int i = 0; i < R; ++i) wr[i] = x86::row<T>(w, bw, r + i);
        __m512 acc[R][NY][S];
        for (int i = 0; i < R; ++i)
            for (int t = 0; t < NY; ++t)
                for (int c = 0; c < S; ++c) acc[i][t][c] = _mm512_setzero_ps();
        int64_t k = 0;
        for (; k + 16 * S <= n; k += 16 * S) {
            for (int c = 0; c < S; ++c) {
                __m512 wv[R];
                for (int i = 0; i < R; ++i) wv[i] = L::load(wr[i] + k + 16 * c);
                for (int t = 0; t < NY; ++t) {
                    const __m512 av = L::load(at[t] + k + 16 * c);
                    for (int i = 0; i < R; ++i) acc[i][t][c] = _mm512_fmadd_ps(wv[i], av, acc[i][t][c]);
                }
            }
        }
        // Tail of fewer than 16 * S: 16-lane steps, the last one partial.
        for (; k < n; k += 16) {
            const int64_t left = n - k;
            __m512 wv[R];
            for (int i = 0; i < R; ++i) wv[i] = left >= 16 ? L::load(wr[i] + k) : L::load_part(wr[i] + k, left);
            for (int t = 0; t < NY; ++t) {
                const __m512 av = left >= 16 ? L::load(at[t] + k) : L::load_part(at[t] + k, left);
                for (int i = 0; i < R; ++i) acc[i][t][0] = _mm512_fmadd_ps(wv[i], av, acc[i][t][0]);
            }
        }
        for (int i = 0; i < R; ++i)
            for (int t = 0; t < NY; ++t) {
                __m512 v = acc[i][t][0];
                if constexpr (S == 2) v = _mm512_add_ps(v, acc[i][t][1]);
                y[t * by + r + i] = hsum512(v);
            }
    }

    template <int NY>
    static void run(int64_t n, const void* w, size_t bw, int64_t nr, const void* a, size_t ba,
                    float* y, size_t by) {
        using T = typename L::T;
        const T* at[NY];
        for (int t = 0; t < NY; ++t) at[t] = x86::row<T>(a, ba, t);
        // One token (decode) streams row by row: pairs read two streams for no gain.
        constexpr int R = NY == 1 ? 1 : 2;
        int64_t r = 0;
        for (; r + R <= nr; r += R) rows<R, NY>(n, w, bw, r, at, y, by);
        if (r < nr) rows<1, NY>(n, w, bw, r, at, y, by);
    }
};

}  // namespace

float vec_dot_f32_f32(int64_t n, const void* w, const void* a) {
    return x86::vec_dot_via<GemmWiden<F32>>(n, w, a);
}
void gemm_f32_f32(int64_t n, const void* w, size_t bw, int64_t nr, const void* a, size_t ba, int ny,
                  float* y, size_t by) {
    x86::gemm_dispatch<GemmWiden<F32>, 8>(n, w, bw, nr, a, ba, ny, y, by);
}
float vec_dot_f16_f16(int64_t n, const void* w, const void* a) {
    return x86::vec_dot_via<GemmWiden<F16>>(n, w, a);
}
void gemm_f16_f16(int64_t n, const void* w, size_t bw, int64_t nr, const void* a, size_t ba, int ny,
                  float* y, size_t by) {
    x86::gemm_dispatch<GemmWiden<F16>, 8>(n, w, bw, nr, a, ba, ny, y, by);
}
}  // namespace hearth::kernels::avx512
