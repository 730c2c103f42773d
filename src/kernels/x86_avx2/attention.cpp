// AVX2 + FMA + F16C attention kernels over F32, F16 and Q8_0 cache rows: the online-softmax
// chunk (8 dot products at once, one transposing reduction) and a vector exp. Query rows go in
// groups of up to 4 that share each widened K and V element. Rows are widened to float 8
// elements at a time; Q8_0 multiplies each 8 by its block scale.
#include "kernels/attention.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "kernels/ref/blocks.h"
#include "kernels/x86_avx2/common.h"
#include "kernels/x86_avx2/kernels_avx2.h"

namespace hearth::kernels::avx2 {

namespace {

using x86::exp256;
using x86::hsum;

struct RowF32 {
    static __m256 load8(const uint8_t* row, int64_t d) {
        return _mm256_loadu_ps(reinterpret_cast<const float*>(row) + d);
    }
    static float at(const uint8_t* row, int64_t d) {
        return reinterpret_cast<const float*>(row)[d];
    }
};
struct RowF16 {
    static __m256 load8(const uint8_t* row, int64_t d) {
        return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 2 * d)));
    }
    static float at(const uint8_t* row, int64_t d) {
        return _cvtsh_ss(reinterpret_cast<const uint16_t*>(row)[d]);
    }
};
// d is a multiple of 8, so the 8 elements sit in one block.
struct RowQ8_0 {
    static __m256 load8(const uint8_t* row, int64_t d) {
        const auto* b = reinterpret_cast<const BlockQ8_0*>(row) + d / kQK;
        const __m128i q = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(b->qs + d % kQK));
        return _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q)),
                             _mm256_set1_ps(_cvtsh_ss(b->d)));
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
// past count repeat the first one (their lanes are ignored by the caller).
template <class Row, int G>
__m256 dot_group(const float* const* q, const uint8_t* k, size_t rb, int count, int64_t D) {
    constexpr int P = 8 / G;
    const uint8_t* p[P];
    for (int i = 0; i < P; ++i) p[i] = k + (i < count ? i : 0) * rb;
    __m256 a[8];
    for (auto& x : a) x = _mm256_setzero_ps();
    int64_t d = 0;
    for (; d + 8 <= D; d += 8) {
        __m256 qv[G];
        for (int g = 0; g < G; ++g) qv[g] = _mm256_loadu_ps(q[g] + d);
        for (int i = 0; i < P; ++i) {
            const __m256 kv = Row::load8(p[i], d);
            for (int g = 0; g < G; ++g) a[g * P + i] = _mm256_fmadd_ps(qv[g], kv, a[g * P + i]);
        }
    }
    __m256 s = hsum8_ps(a);
    if (d == D) return s;
    alignas(32) float t[8];
    _mm256_store_ps(t, s);
    for (int g = 0; g < G; ++g)
        for (int i = 0; i < P; ++i)
            for (int64_t e = d; e < D; ++e) t[g * P + i] += q[g][e] * Row::at(p[i], e);
    return _mm256_load_ps(t);
}

// acc[g] (D) += sum_j p[g][j] * v row j for the G rows at once, over the n V rows at v,
// v + rb, ...: each V element is widened once for all G rows; 64 / G accumulator floats per
// row stay in registers across the positions.
template <class Row, int G>
void accumulate_group(float* const* acc, const float* const* p, const uint8_t* v, size_t rb,
                      int64_t n, int64_t D) {
    constexpr int NV = 8 / G;  // vectors per row in a chunk
    int64_t d = 0;
    for (; d + 8 * NV <= D; d += 8 * NV) {
        __m256 a[G][NV];
        for (int g = 0; g < G; ++g)
            for (int c = 0; c < NV; ++c) a[g][c] = _mm256_loadu_ps(acc[g] + d + 8 * c);
        for (int64_t j = 0; j < n; ++j) {
            const uint8_t* row = v + j * rb;
            __m256 pj[G];
            for (int g = 0; g < G; ++g) pj[g] = _mm256_set1_ps(p[g][j]);
            for (int c = 0; c < NV; ++c) {
                const __m256 vv = Row::load8(row, d + 8 * c);
                for (int g = 0; g < G; ++g) a[g][c] = _mm256_fmadd_ps(pj[g], vv, a[g][c]);
            }
        }
        for (int g = 0; g < G; ++g)
            for (int c = 0; c < NV; ++c) _mm256_storeu_ps(acc[g] + d + 8 * c, a[g][c]);
    }
    for (; d + 8 <= D; d += 8) {
        __m256 a[G];
        for (int g = 0; g < G; ++g) a[g] = _mm256_loadu_ps(acc[g] + d);
        for (int64_t j = 0; j < n; ++j) {
            const __m256 vv = Row::load8(v + j * rb, d);
            for (int g = 0; g < G; ++g) a[g] = _mm256_fmadd_ps(_mm256_set1_ps(p[g][j]), vv, a[g]);
        }
        for (int g = 0; g < G; ++g) _mm256_storeu_ps(acc[g] + d, a[g]);
    }
    for (; d < D; ++d)
        for (int64_t j = 0; j < n; ++j) {
            const float x = Row::at(v + j * rb, d);
            for (int g = 0; g < G; ++g) acc[g][d] += p[g][j] * x;
        }
}

constexpr int kBlock = 32;  // positions per softmax rescale

// Asks for n rows of rb bytes at p ahead of their use.
inline void prefetch_rows(const uint8_t* p, size_t rb, int64_t n) {
    const size_t bytes = rb * static_cast<size_t>(n);
    for (size_t off = 0; off < bytes; off += 64)
        _mm_prefetch(reinterpret_cast<const char*>(p + off), _MM_HINT_T0);
}

// One block of positions [jb, jb + n_block) for the G rows r0 .. r0 + G - 1: their scores, the
// online-softmax update of each row, then the V accumulation. nv[g] is row g's count of
// visible positions in the block (0 < max of them); scores and weights are computed for the
// largest count and the weights past a row's own count set to 0.
template <class Row, int G>
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
        if (prefetch) {
            prefetch_rows(vb + (jb + jj) * rb, rb, count);
            if (jb + kBlock + jj + P <= j1) prefetch_rows(kb + (jb + kBlock + jj) * rb, rb, P);
        }
        alignas(32) float t[8];
        _mm256_store_ps(t, _mm256_mul_ps(dot_group<Row, G>(q, kb + (jb + jj) * rb, rb, count, D),
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
            rows.l[r] += exp_sum(sg[g], nv[g], 1.0f, rows.m[r]);
        }
        std::fill(sg[g] + nv[g], sg[g] + n, 0.0f);
    }
    accumulate_group<Row, G>(acc, sg, vb + jb * rb, rb, n, D);
}

template <class Row>
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
                    block_group<Row, 4>(rows, r, nv + r, kb, vb, rb, D, jb, j1, scale, s, first);
                else if (g == 2)
                    block_group<Row, 2>(rows, r, nv + r, kb, vb, rb, D, jb, j1, scale, s, first);
                else
                    block_group<Row, 1>(rows, r, nv + r, kb, vb, rb, D, jb, j1, scale, s, first);
            }
            r += g;
        }
    }
}

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
    attention_chunk<RowF32>(rows, k, v, rb, head_dim, j0, j1, scale);
}
void attention_chunk_f16(const AttnRows& rows, const void* k, const void* v, size_t rb,
                         int64_t head_dim, int64_t j0, int64_t j1, float scale) {
    attention_chunk<RowF16>(rows, k, v, rb, head_dim, j0, j1, scale);
}
void attention_chunk_q8_0(const AttnRows& rows, const void* k, const void* v, size_t rb,
                          int64_t head_dim, int64_t j0, int64_t j1, float scale) {
    attention_chunk<RowQ8_0>(rows, k, v, rb, head_dim, j0, j1, scale);
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

void load_kv_row_f16(const void* src, float* dst, int64_t n) {
    const auto* s = static_cast<const uint8_t*>(src);
    int64_t d = 0;
    for (; d + 8 <= n; d += 8) _mm256_storeu_ps(dst + d, RowF16::load8(s, d));
    for (; d < n; ++d) dst[d] = RowF16::at(s, d);
}

void load_kv_row_q8_0(const void* src, float* dst, int64_t n) {
    const auto* s = static_cast<const uint8_t*>(src);
    int64_t d = 0;
    for (; d + 8 <= n; d += 8) _mm256_storeu_ps(dst + d, RowQ8_0::load8(s, d));
    for (; d < n; ++d) dst[d] = RowQ8_0::at(s, d);
}

}  // namespace hearth::kernels::avx2
