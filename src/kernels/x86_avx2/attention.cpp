// AVX2 + FMA + F16C attention kernels over F32, F16 and Q8_0 cache rows: the online-softmax
// chunk (8 positions' dot products at once, one transposing reduction) and a vector exp.
// Rows are widened to float 8 elements at a time; Q8_0 multiplies each 8 by its block scale.
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

// The dot products of q (D) with the K rows of positions k, k + rb, ... (count <= 8; missing
// lanes repeat the first row and are ignored by the caller).
template <class Row>
__m256 dot8(const float* q, const uint8_t* k, size_t rb, int count, int64_t D) {
    const uint8_t* p[8];
    for (int i = 0; i < 8; ++i) p[i] = k + (i < count ? i : 0) * rb;
    __m256 a[8];
    for (auto& x : a) x = _mm256_setzero_ps();
    int64_t d = 0;
    for (; d + 8 <= D; d += 8) {
        const __m256 qv = _mm256_loadu_ps(q + d);
        for (int i = 0; i < 8; ++i) a[i] = _mm256_fmadd_ps(qv, Row::load8(p[i], d), a[i]);
    }
    __m256 s = hsum8_ps(a);
    if (d == D) return s;
    alignas(32) float t[8];
    _mm256_store_ps(t, s);
    for (int i = 0; i < 8; ++i)
        for (int64_t e = d; e < D; ++e) t[i] += q[e] * Row::at(p[i], e);
    return _mm256_load_ps(t);
}

// acc (D) += sum_j p[j] * v row j, for the n rows at v, v + rb, ...: 32 accumulator floats
// stay in registers across the positions.
template <class Row>
void accumulate(float* acc, const float* p, const uint8_t* v, size_t rb, int64_t n, int64_t D) {
    int64_t d = 0;
    for (; d + 32 <= D; d += 32) {
        __m256 a0 = _mm256_loadu_ps(acc + d), a1 = _mm256_loadu_ps(acc + d + 8);
        __m256 a2 = _mm256_loadu_ps(acc + d + 16), a3 = _mm256_loadu_ps(acc + d + 24);
        for (int64_t j = 0; j < n; ++j) {
            const __m256 pj = _mm256_set1_ps(p[j]);
            const uint8_t* row = v + j * rb;
            a0 = _mm256_fmadd_ps(pj, Row::load8(row, d), a0);
            a1 = _mm256_fmadd_ps(pj, Row::load8(row, d + 8), a1);
            a2 = _mm256_fmadd_ps(pj, Row::load8(row, d + 16), a2);
            a3 = _mm256_fmadd_ps(pj, Row::load8(row, d + 24), a3);
        }
        _mm256_storeu_ps(acc + d, a0), _mm256_storeu_ps(acc + d + 8, a1);
        _mm256_storeu_ps(acc + d + 16, a2), _mm256_storeu_ps(acc + d + 24, a3);
    }
    for (; d + 8 <= D; d += 8) {
        __m256 a = _mm256_loadu_ps(acc + d);
        for (int64_t j = 0; j < n; ++j)
            a = _mm256_fmadd_ps(_mm256_set1_ps(p[j]), Row::load8(v + j * rb, d), a);
        _mm256_storeu_ps(acc + d, a);
    }
    for (; d < D; ++d)
        for (int64_t j = 0; j < n; ++j) acc[d] += p[j] * Row::at(v + j * rb, d);
}

constexpr int kBlock = 32;  // positions per softmax rescale

// Asks for n rows of rb bytes at p ahead of their use.
inline void prefetch_rows(const uint8_t* p, size_t rb, int64_t n) {
    const size_t bytes = rb * static_cast<size_t>(n);
    for (size_t off = 0; off < bytes; off += 64)
        _mm_prefetch(reinterpret_cast<const char*>(p + off), _MM_HINT_T0);
}

template <class Row>
void attention_chunk(const AttnRows& rows, const void* k, const void* v, size_t rb,
                     int64_t head_dim, int64_t j0, int64_t j1, float scale) {
    const int64_t D = head_dim;
    const auto* kb = static_cast<const uint8_t*>(k);
    const auto* vb = static_cast<const uint8_t*>(v);
    alignas(32) float s[kMaxAttnRows][kBlock];
    const __m256 vscale = _mm256_set1_ps(scale);
    for (int64_t jb = j0; jb < j1; jb += kBlock) {
        const int64_t n_block = std::min<int64_t>(kBlock, j1 - jb);
        bool any = false;
        for (int r = 0; r < rows.n_rows; ++r) {
            const int64_t nv = std::clamp<int64_t>(rows.n_keys[r] - jb, 0, n_block);
            if (nv == 0) continue;
            any = true;
            const float* q = rows.q + r * rows.q_stride;
            for (int64_t jj = 0; jj < nv; jj += 8) {
                const int count = static_cast<int>(std::min<int64_t>(8, nv - jj));
                // The first row asks for these positions' V rows while it computes their scores,
                // and for the K rows of the same positions in the next block: the V pass and the
                // next block then find their rows in cache instead of waiting on each first line.
                if (r == 0) {
                    prefetch_rows(vb + (jb + jj) * rb, rb, count);
                    if (jb + kBlock + jj + 8 <= j1) prefetch_rows(kb + (jb + kBlock + jj) * rb, rb, 8);
                }
                const __m256 d8 = dot8<Row>(q, kb + (jb + jj) * rb, rb, count, D);
                _mm256_store_ps(s[r] + jj, _mm256_mul_ps(d8, vscale));
            }
            const float bm = *std::max_element(s[r], s[r] + nv);
            if (bm > rows.m[r]) {  // rescale the state to the new maximum (exp(-inf) = 0)
                const float f = std::exp(rows.m[r] - bm);
                rows.l[r] *= f;
                for (int64_t d = 0; d < D; ++d) rows.acc[r * D + d] *= f;
                rows.m[r] = bm;
            }
            rows.l[r] += exp_sum(s[r], nv, 1.0f, rows.m[r]);
            accumulate<Row>(rows.acc + r * D, s[r], vb + jb * rb, rb, nv, D);
        }
        if (!any) break;  // later blocks are masked for every row too
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
