// The online-softmax attention chunk over F32, F16 and Q8_0 cache rows, written once for a
// vector type V of V::W floats: V8 here (AVX2, x86_avx2/attention.cpp) and V16 (AVX-512,
// x86_avx512/attention.cpp, which defines it). Query rows go in groups of up to 4 that share each widened K and V
// element. In an unnamed namespace: each including file keeps its own copy, compiled with its
// own ISA flags.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "kernels/attention.h"
#include "kernels/ref/blocks.h"
#include "kernels/x86_avx2/common.h"
#include "kernels/x86_avx2/kernels_avx2.h"

namespace hearth::kernels::x86 {
namespace {

// 8 floats (AVX2). A vector type gives these operations, and fold8 (its lanes summed down to
// 8, lane by lane).
struct V8 {
    using F = __m256;
    static constexpr int64_t W = 8;
    static F zero() { return _mm256_setzero_ps(); }
    static F set1(float x) { return _mm256_set1_ps(x); }
    static F load(const float* p) { return _mm256_loadu_ps(p); }
    static void store(float* p, F v) { _mm256_storeu_ps(p, v); }
    static F fmadd(F a, F b, F c) { return _mm256_fmadd_ps(a, b, c); }
    static F mul(F a, F b) { return _mm256_mul_ps(a, b); }
    static F from_f16(const uint8_t* p) {
        return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    }
    static F from_i8(const int8_t* p) {
        return _mm256_cvtepi32_ps(
            _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
    }
    static __m256 fold8(F v) { return v; }
};

// Cache row formats: V::W elements from element d on (d a multiple of W), and one element.
struct RowF32 {
    template <class V>
    static typename V::F load(const uint8_t* row, int64_t d) {
        return V::load(reinterpret_cast<const float*>(row) + d);
    }
    static float at(const uint8_t* row, int64_t d) {
        return reinterpret_cast<const float*>(row)[d];
    }
};
struct RowF16 {
    template <class V>
    static typename V::F load(const uint8_t* row, int64_t d) {
        return V::from_f16(row + 2 * d);
    }
    static float at(const uint8_t* row, int64_t d) {
        return _cvtsh_ss(reinterpret_cast<const uint16_t*>(row)[d]);
    }
};
// W divides the block's 32, so the W elements sit in one block.
struct RowQ8_0 {
    template <class V>
    static typename V::F load(const uint8_t* row, int64_t d) {
        const auto* b = reinterpret_cast<const BlockQ8_0*>(row) + d / kQK;
        return V::mul(V::from_i8(b->qs + d % kQK), V::set1(_cvtsh_ss(b->d)));
    }
    static float at(const uint8_t* row, int64_t d) {
        const auto* b = reinterpret_cast<const BlockQ8_0*>(row) + d / kQK;
        return _cvtsh_ss(b->d) * b->qs[d % kQK];
    }
};

// Lane i of the result = the sum of the 8 lanes of v[i].
inline __m256 hsum8_ps(const __m256 v[8]) {
    auto pair = [](__m256 a, __m256 b) {
        return _mm256_add_ps(_mm256_unpacklo_ps(a, b), _mm256_unpackhi_ps(a, b));
    };
    auto quad = [](__m256 ab, __m256 cd) {
        const __m256d x = _mm256_castps_pd(ab), y = _mm256_castps_pd(cd);
        return _mm256_add_ps(_mm256_castpd_ps(_mm256_unpacklo_pd(x, y)),
                             _mm256_castpd_ps(_mm256_unpackhi_pd(x, y)));
    };
    const __m256 b0 = quad(pair(v[0], v[1]), pair(v[2], v[3]));
    const __m256 b1 = quad(pair(v[4], v[5]), pair(v[6], v[7]));
    return _mm256_add_ps(_mm256_permute2f128_ps(b0, b1, 0x20),
                         _mm256_permute2f128_ps(b0, b1, 0x31));
}

// Scores of G query rows against P = 8 / G positions at once, so each K element widened to
// float serves G rows: lane g * P + p of the result = q[g] · (K row at k + p * rb). Positions
// past count repeat the first one (their lanes are ignored by the caller). With fetch, the
// fetch_lines cache lines from fetch[0] and from fetch[1] (when not null) are asked for along
// the way.
template <class V, class Row, int G>
__m256 dot_group(const float* const* q, const uint8_t* k, size_t rb, int count, int64_t D,
                 const uint8_t* const* fetch = nullptr, size_t fetch_lines = 0) {
    constexpr int P = 8 / G;
    const uint8_t* p[P];
    for (int i = 0; i < P; ++i) p[i] = k + (i < count ? i : 0) * rb;
    typename V::F a[8];
    for (auto& x : a) x = V::zero();
    int64_t d = 0;
    size_t line = 0;
    // Asks for line `line` of the prefetch ranges (fetch[1] may be null).
    auto fetch_line = [&](size_t l) {
        _mm_prefetch(reinterpret_cast<const char*>(fetch[0] + 64 * l), _MM_HINT_T0);
        if (fetch[1] != nullptr) _mm_prefetch(reinterpret_cast<const char*>(fetch[1] + 64 * l), _MM_HINT_T0);
    };
    for (; d + V::W <= D; d += V::W) {
        // Two lines of each prefetch range per step, spread over the products rather than
        // asked for all at once (a burst fills the miss queue and stalls).
        if (fetch != nullptr)
            for (int f = 0; f < 2 && line < fetch_lines; ++f) fetch_line(line++);
        typename V::F qv[G];
        for (int g = 0; g < G; ++g) qv[g] = V::load(q[g] + d);
        for (int i = 0; i < P; ++i) {
            const typename V::F kv = Row::template load<V>(p[i], d);
            for (int g = 0; g < G; ++g) a[g * P + i] = V::fmadd(qv[g], kv, a[g * P + i]);
        }
    }
    if (fetch != nullptr)
        while (line < fetch_lines) fetch_line(line++);
    __m256 a8[8];
    for (int i = 0; i < 8; ++i) a8[i] = V::fold8(a[i]);
    __m256 s = hsum8_ps(a8);
    if (d == D) return s;
    alignas(32) float t[8];
    _mm256_store_ps(t, s);
    for (int g = 0; g < G; ++g)
        for (int i = 0; i < P; ++i)
            for (int64_t e = d; e < D; ++e) t[g * P + i] += q[g][e] * Row::at(p[i], e);
    return _mm256_load_ps(t);
}

// acc[g] (D) += sum_j p[g][j] * v row j for the G rows at once, over the n V rows at v,
// v + rb, ...: each V element is widened once for all G rows; 8 / G accumulator vectors per
// row stay in registers across the positions.
template <class V, class Row, int G>
void accumulate_group(float* const* acc, const float* const* p, const uint8_t* v, size_t rb,
                      int64_t n, int64_t D) {
    using F = typename V::F;
    constexpr int NV = 8 / G;  // vectors per row in a chunk
    int64_t d = 0;
    for (; d + V::W * NV <= D; d += V::W * NV) {
        F a[G][NV];
        for (int g = 0; g < G; ++g)
            for (int c = 0; c < NV; ++c) a[g][c] = V::load(acc[g] + d + V::W * c);
        for (int64_t j = 0; j < n; ++j) {
            const uint8_t* row = v + j * rb;
            F pj[G];
            for (int g = 0; g < G; ++g) pj[g] = V::set1(p[g][j]);
            for (int c = 0; c < NV; ++c) {
                const F vv = Row::template load<V>(row, d + V::W * c);
                for (int g = 0; g < G; ++g) a[g][c] = V::fmadd(pj[g], vv, a[g][c]);
            }
        }
        for (int g = 0; g < G; ++g)
            for (int c = 0; c < NV; ++c) V::store(acc[g] + d + V::W * c, a[g][c]);
    }
    for (; d + V::W <= D; d += V::W) {
        F a[G];
        for (int g = 0; g < G; ++g) a[g] = V::load(acc[g] + d);
        for (int64_t j = 0; j < n; ++j) {
            const F vv = Row::template load<V>(v + j * rb, d);
            for (int g = 0; g < G; ++g) a[g] = V::fmadd(V::set1(p[g][j]), vv, a[g]);
        }
        for (int g = 0; g < G; ++g) V::store(acc[g] + d, a[g]);
    }
    for (; d < D; ++d)
        for (int64_t j = 0; j < n; ++j) {
            const float x = Row::at(v + j * rb, d);
            for (int g = 0; g < G; ++g) acc[g][d] += p[g][j] * x;
        }
}

constexpr int kBlock = 32;  // positions per softmax rescale

// One block of positions [jb, jb + n_block) for the G rows r0 .. r0 + G - 1: their scores, the
// online-softmax update of each row, then the V accumulation. nv[g] is row g's count of
// visible positions in the block (0 < max of them); scores and weights are computed for the
// largest count and the weights past a row's own count set to 0.
template <class V, class Row, int G>
void block_group(const AttnRows& rows, int r0, const int64_t* nv, const uint8_t* kb,
                 const uint8_t* vb, size_t rb, int64_t D, int64_t jb, int64_t j1, float scale,
                 float (*s)[kBlock], bool prefetch) {
    constexpr int P = 8 / G;
    const int64_t n = *std::max_element(nv, nv + G);
    const float* q[G];
    float* sg[G];
    float* acc[G];
    for (int g = 0; g < G; ++g) {
        q[g] = rows.q + (r0 + g) * rows.q_stride;
        sg[g] = s[r0 + g];
        acc[g] = rows.acc + (r0 + g) * D;
    }
    const __m256 vscale = _mm256_set1_ps(scale);
    for (int64_t jj = 0; jj < n; jj += P) {
        const int count = static_cast<int>(std::min<int64_t>(P, n - jj));
        // The first rows ask for these positions' V rows while they compute their scores,
        // and for the K rows of the same positions in the next block: the V pass and the next
        // block then find their rows in cache instead of waiting on each first line.
        const bool next_k = jb + kBlock + jj + P <= j1;
        const uint8_t* fetch[2] = {vb + (jb + jj) * rb,
                                   next_k ? kb + (jb + kBlock + jj) * rb : nullptr};
        const size_t lines = (rb * (next_k ? P : count) + 63) / 64;
        alignas(32) float t[8];
        _mm256_store_ps(t, _mm256_mul_ps(dot_group<V, Row, G>(q, kb + (jb + jj) * rb, rb, count, D,
                                                              prefetch ? fetch : nullptr, lines),
                                         vscale));
        for (int g = 0; g < G; ++g)
            for (int i = 0; i < count; ++i) sg[g][jj + i] = t[g * P + i];
    }
    for (int g = 0; g < G; ++g) {
        const int r = r0 + g;
        if (nv[g] > 0) {
            const float bm = *std::max_element(sg[g], sg[g] + nv[g]);
            if (bm > rows.m[r]) {  // rescale the state to the new maximum (exp(-inf) = 0)
                const float f = std::exp(rows.m[r] - bm);
                rows.l[r] *= f;
                for (int64_t d = 0; d < D; ++d) acc[g][d] *= f;
                rows.m[r] = bm;
            }
            rows.l[r] += avx2::exp_sum(sg[g], nv[g], 1.0f, rows.m[r]);
        }
        std::fill(sg[g] + nv[g], sg[g] + n, 0.0f);
    }
    accumulate_group<V, Row, G>(acc, sg, vb + jb * rb, rb, n, D);
}

template <class V, class Row>
void attention_chunk(const AttnRows& rows, const void* k, const void* v, size_t rb,
                     int64_t head_dim, int64_t j0, int64_t j1, float scale) {
    const int64_t D = head_dim;
    const auto* kb = static_cast<const uint8_t*>(k);
    const auto* vb = static_cast<const uint8_t*>(v);
    alignas(32) float s[kMaxAttnRows][kBlock];
    for (int64_t jb = j0; jb < j1; jb += kBlock) {
        const int64_t n_block = std::min<int64_t>(kBlock, j1 - jb);
        int64_t nv[kMaxAttnRows];
        bool any = false;
        for (int r = 0; r < rows.n_rows; ++r) {
            nv[r] = std::clamp<int64_t>(rows.n_keys[r] - jb, 0, n_block);
            any = any || nv[r] > 0;
        }
        if (!any) break;  // later blocks are masked for every row too
        // Rows in groups of 4, then 2, then 1; a group with no visible position is skipped.
        for (int r = 0; r < rows.n_rows;) {
            const int left = rows.n_rows - r;
            const int g = left >= 4 ? 4 : left >= 2 ? 2 : 1;
            if (*std::max_element(nv + r, nv + r + g) > 0) {
                const bool first = r == 0;
                if (g == 4)
                    block_group<V, Row, 4>(rows, r, nv + r, kb, vb, rb, D, jb, j1, scale, s, first);
                else if (g == 2)
                    block_group<V, Row, 2>(rows, r, nv + r, kb, vb, rb, D, jb, j1, scale, s, first);
                else
                    block_group<V, Row, 1>(rows, r, nv + r, kb, vb, rb, D, jb, j1, scale, s, first);
            }
            r += g;
        }
    }
}

}  // namespace
}  // namespace hearth::kernels::x86
