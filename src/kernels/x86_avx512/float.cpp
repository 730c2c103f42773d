// AVX-512 dot products for F32 and F16 weights (widened to 16 floats, two rows at a time), and
// the packed batch path of F16 and BF16 weights (rows in lanes, widened once per matmul).
#include <immintrin.h>

#include <cstring>

#include "base/fp16.h"
#include "kernels/dispatch.h"
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

// The 16-bit float formats as PackedHalf widens them: the low or high halves of 16 dwords, one
// value.
struct WidenF16 {
    static __m512 low(__m512i v) { return _mm512_cvtph_ps(_mm512_cvtepi32_epi16(v)); }
    static __m512 high(__m512i v) {
        return _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(v, 16)));
    }
    static float one(uint16_t h) { return f16_to_f32(h); }
};
struct WidenBF16 {  // a bfloat16 is the top half of its float
    static __m512 low(__m512i v) { return _mm512_castsi512_ps(_mm512_slli_epi32(v, 16)); }
    static __m512 high(__m512i v) {
        return _mm512_castsi512_ps(_mm512_and_si512(v, _mm512_set1_epi32(static_cast<int>(0xFFFF0000u))));
    }
    static float one(uint16_t h) { return bf16_to_f32(h); }
};

// F16 and BF16 batches with the rows in lanes (dispatch.h's packed path): kPackRows rows
// widened to floats once per matmul as [k][r], one 64-byte vector per element k, so that one
// FMA of a broadcast activation advances 16 rows and each token's 16 results need no
// reduction. The activations come as floats, rounded to the format and widened once per matmul
// (packed_quantize). Both widenings are exact: the products and their float sums are those of
// the per-row kernels, in another order.
template <typename Widen>
struct PackedHalf {
    static constexpr int64_t kRows = kPackRows;

    static constexpr int kGroups = 2;  // groups per pass (packed_gemm)
    static constexpr size_t kBlockBytes = kRows * sizeof(float);  // one element k of 16 rows

    static size_t bytes(int64_t n) { return static_cast<size_t>(n) * kBlockBytes; }

    static void pack(int64_t n, const void* w, size_t bw, void* dst) {
        auto* out = static_cast<float*>(dst);
        int64_t k = 0;
        for (; k + 16 <= n; k += 16) {
            __m256i rows[kRows];
            load_rows16(static_cast<const uint8_t*>(w) + 2 * k, bw, rows);
            __m512i cols[8];  // lane r of cols[c]: elements k + 2c, k + 2c + 1 of row r
            transpose16x8_epi32(rows, cols);
            for (int c = 0; c < 8; ++c) {
                _mm512_storeu_ps(out + (k + 2 * c) * kRows, Widen::low(cols[c]));
                _mm512_storeu_ps(out + (k + 2 * c + 1) * kRows, Widen::high(cols[c]));
            }
        }
        for (; k < n; ++k)
            for (int r = 0; r < kRows; ++r)
                out[k * kRows + r] = Widen::one(x86::row<uint16_t>(w, bw, r)[k]);
    }

    // packed_gemm's pass: NG groups of n elements and NY tokens of widened activations at[t].
    template <int NG, int NY>
    static void run(int64_t n, const uint8_t* packed, const float* const* at, float* y, size_t by) {
        const auto* w = reinterpret_cast<const float*>(packed);
        __m512 acc[NG][NY];
        for (int g = 0; g < NG; ++g)
            for (int t = 0; t < NY; ++t) acc[g][t] = _mm512_setzero_ps();
        for (int64_t k = 0; k < n; ++k) {
            __m512 wv[NG];
            for (int g = 0; g < NG; ++g) wv[g] = _mm512_loadu_ps(w + (g * n + k) * kRows);
            for (int t = 0; t < NY; ++t) {
                const __m512 av = _mm512_set1_ps(at[t][k]);
                for (int g = 0; g < NG; ++g) acc[g][t] = _mm512_fmadd_ps(wv[g], av, acc[g][t]);
            }
        }
        for (int g = 0; g < NG; ++g)
            for (int t = 0; t < NY; ++t) _mm512_storeu_ps(y + t * by + g * kRows, acc[g][t]);
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
size_t packed_bytes_f16(int64_t n) { return PackedHalf<WidenF16>::bytes(n); }
size_t row_bytes_f32(int64_t n) { return (static_cast<size_t>(n) + 16) * sizeof(float); }
void quantize_row_f16_widened(const float* x, void* dst, int64_t n) {
    auto* out = static_cast<float*>(dst);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m256i h = _mm512_cvtps_ph(_mm512_loadu_ps(x + i),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        _mm512_storeu_ps(out + i, _mm512_cvtph_ps(h));
    }
    for (; i < n; ++i) out[i] = f16_to_f32(f32_to_f16(x[i]));
}
void quantize_row_bf16_widened(const float* x, void* dst, int64_t n) {
    auto* out = static_cast<float*>(dst);
    const __m512i abs = _mm512_set1_epi32(0x7fffffff), inf = _mm512_set1_epi32(0x7f800000);
    const __m512i top = _mm512_set1_epi32(static_cast<int>(0xffff0000u));
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        // As f32_to_bf16: round to nearest even, NaN made quiet.
        const __m512i u = _mm512_loadu_si512(x + i);
        const __m512i odd = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
        __m512i r = _mm512_add_epi32(u, _mm512_add_epi32(_mm512_set1_epi32(0x7fff), odd));
        const __mmask16 nan = _mm512_cmpgt_epi32_mask(_mm512_and_si512(u, abs), inf);
        r = _mm512_mask_or_epi32(r, nan, u, _mm512_set1_epi32(0x400000));
        _mm512_storeu_si512(out + i, _mm512_and_si512(r, top));
    }
    for (; i < n; ++i) out[i] = bf16_to_f32(f32_to_bf16(x[i]));
}
void pack_f16(int64_t n, const void* w, size_t bw, void* dst) {
    PackedHalf<WidenF16>::pack(n, w, bw, dst);
}
void gemm_packed_f16_f16(int64_t n, const void* packed, int64_t ng, const void* a, size_t ba,
                         int64_t ny, float* y, size_t by) {
    packed_gemm<PackedHalf<WidenF16>, float>(n, packed, ng, a, ba, ny, y, by);
}
void pack_bf16(int64_t n, const void* w, size_t bw, void* dst) {
    PackedHalf<WidenBF16>::pack(n, w, bw, dst);
}
void gemm_packed_bf16_bf16(int64_t n, const void* packed, int64_t ng, const void* a, size_t ba,
                           int64_t ny, float* y, size_t by) {
    packed_gemm<PackedHalf<WidenBF16>, float>(n, packed, ng, a, ba, ny, y, by);
}
}  // namespace hearth::kernels::avx512
