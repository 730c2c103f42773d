// The online-softmax attention chunk over F32, F16 and Q8_0 caches (K panels, V rows), written
// once for a vector type V of V::W floats: V8 here (AVX2, x86_avx2/attention.cpp) and V16
// (AVX-512, x86_avx512/attention.cpp, which defines it). Query rows go in groups of up to
// V::kMaxRows that share each widened K and V element. In an unnamed namespace: each including
// file keeps its own copy, compiled with its own ISA flags.
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

// 8 floats (AVX2). A vector type gives these operations, kMaxRows: the most query rows whose
// score accumulators for two K panels (2 * 16 / W each) fit in its registers, and kChains: the
// accumulators the inner loops keep (each takes one multiply-add per step, so this many are in
// flight; 8 of the 16 registers here).
struct V8 {
    using F = __m256;
    static constexpr int64_t W = 8;
    static constexpr int kMaxRows = 2;
    static constexpr int kChains = 8;
    static F zero() { return _mm256_setzero_ps(); }
    static F set1(float x) { return _mm256_set1_ps(x); }
    static F load(const float* p) { return _mm256_loadu_ps(p); }
    static void store(float* p, F v) { _mm256_storeu_ps(p, v); }
    static F fmadd(F a, F b, F c) { return _mm256_fmadd_ps(a, b, c); }
    static F mul(F a, F b) { return _mm256_mul_ps(a, b); }
    static F add(F a, F b) { return _mm256_add_ps(a, b); }
    static F sub(F a, F b) { return _mm256_sub_ps(a, b); }
    static F max(F a, F b) { return _mm256_max_ps(a, b); }
    static F exp(F x) { return exp256(x); }
    static float reduce_add(F v) { return hsum(v); }
    static float reduce_max(F v) { return hmax(v); }
    // Lanes n and past set to fill.
    static F keep_first(F x, int64_t n, float fill) {
        const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        const int kept = static_cast<int>(std::min<int64_t>(n, W));
        const __m256i keep = _mm256_cmpgt_epi32(_mm256_set1_epi32(kept), lane);
        return _mm256_blendv_ps(_mm256_set1_ps(fill), x, _mm256_castsi256_ps(keep));
    }
    static F from_f16(const uint8_t* p) {
        return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    }
    static F from_i8(const int8_t* p) {
        return _mm256_cvtepi32_ps(
            _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
    }
};

// Cache row formats: V::W elements from element d on (d a multiple of W), one element, and the
// bytes before element d (d a multiple of 32).
struct RowF32 {
    static size_t bytes_before(int64_t d) { return 4 * d; }
    template <class V>
    static typename V::F load(const uint8_t* row, int64_t d) {
        return V::load(reinterpret_cast<const float*>(row) + d);
    }
    static float at(const uint8_t* row, int64_t d) {
        return reinterpret_cast<const float*>(row)[d];
    }
};
struct RowF16 {
    static size_t bytes_before(int64_t d) { return 2 * d; }
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
    static size_t bytes_before(int64_t d) { return d / kQK * sizeof(BlockQ8_0); }
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

// K panel formats (kernels/attention.h): lanes c * W .. c * W + W - 1 (positions of the
// panel) of element d, as floats. W divides 16.
struct PanelF32 {
    template <class V>
    static typename V::F load(const uint8_t* panel, int64_t d, int c) {
        return V::load(reinterpret_cast<const float*>(panel) + d * kKPanel + c * V::W);
    }
};
struct PanelF16 {
    template <class V>
    static typename V::F load(const uint8_t* panel, int64_t d, int c) {
        return V::from_f16(panel + 2 * (d * kKPanel + c * V::W));
    }
};
// Per block of 32 elements: 16 f16 scales, then (32, 16) int8 levels.
struct PanelQ8_0 {
    static constexpr int64_t kBlockBytes = kKPanel * sizeof(BlockQ8_0);
    template <class V>
    static typename V::F load(const uint8_t* panel, int64_t d, int c) {
        const uint8_t* b = panel + d / kQK * kBlockBytes;
        const auto* qs = reinterpret_cast<const int8_t*>(b + 2 * kKPanel);
        return V::mul(V::from_i8(qs + d % kQK * kKPanel + c * V::W), V::from_f16(b + 2 * c * V::W));
    }
};

// Cache lines asked for along a block's loops: the ranges [at[r], end[r]) for r = 0, 1, the
// same number of lines from each at every step (a burst would fill the miss queue and stall),
// the last step's possibly reaching past the end (a prefetch never faults).
struct Prefetch {
    const uint8_t* at[2] = {nullptr, nullptr};
    const uint8_t* end[2] = {nullptr, nullptr};
    size_t step_bytes[2] = {0, 0};
    // Spreads the ranges over `steps` steps.
    void spread(int64_t steps) {
        for (int r = 0; r < 2; ++r) {
            const size_t lines = (end[r] - at[r] + 63) / 64;
            step_bytes[r] = 64 * ((lines + steps - 1) / steps);
        }
    }
    void step() {
        for (int r = 0; r < 2; ++r) {
            if (at[r] >= end[r]) continue;
            for (size_t b = 0; b < step_bytes[r]; b += 64)
                _mm_prefetch(reinterpret_cast<const char*>(at[r] + b), _MM_HINT_T0);
            at[r] += step_bytes[r];
        }
    }
};

// Elements of q per step of panel_scores with `acc` accumulators per element: enough that
// `chains` products are in flight.
constexpr int score_unroll(int chains, int acc) { return acc >= chains ? 1 : chains / acc; }
// Accumulator vectors per row in accumulate_group's chunks of G rows: `chains` in all, at most
// 8 per row (a head of 128 floats in one pass with AVX-512).
constexpr int accumulate_vectors(int chains, int G) { return std::min(chains / G, 8); }

constexpr int kBlock = 32;  // positions per softmax rescale: two K panels

// out[g][j] = q[g] · K of position j for the G rows and the 16 * NP positions of the panels
// k (k + 16 row_bytes the second): element d of 16 positions widened once for all rows, then
// multiplied by each row's q[d]. Accumulators per d: G * NP * 16 / W, unrolled over U elements
// (score_unroll); fetch's lines are asked for at each step (it is spread by the caller). Not
// inlined: GCC keeps the accumulators in registers only when nothing after the loop indexes
// them.
template <class V, class KP, int G, int NP>
[[gnu::noinline]] void panel_scores(const float* const* q, const uint8_t* k, size_t rb, int64_t D,
                                    float (*out)[kBlock], Prefetch& fetch_state) {
    using F = typename V::F;
    Prefetch fetch = fetch_state;  // a local copy, in registers
    constexpr int NW = kKPanel / V::W, NA = G * NP * NW, U = score_unroll(V::kChains, NA);
    const uint8_t* panel[NP];
    for (int p = 0; p < NP; ++p) panel[p] = k + p * kKPanel * rb;
    F a[U * NA];
    // Loops over a[] unrolled before GCC places it: left as loops, a[] got a stack home,
    // zeroed with rep stos and stored and reloaded around the main loop in every call.
#pragma GCC unroll 64
    for (F& x : a) x = V::zero();
    int64_t d = 0;
    for (; d + U <= D; d += U) {
        fetch.step();
#pragma GCC unroll 64
        for (int u = 0; u < U; ++u)
#pragma GCC unroll 64
            for (int p = 0; p < NP; ++p)
                for (int w = 0; w < NW; ++w) {
                    const F kv = KP::template load<V>(panel[p], d + u, w);
                    for (int g = 0; g < G; ++g) {
                        F& x = a[u * NA + (g * NP + p) * NW + w];
                        x = V::fmadd(V::set1(q[g][d + u]), kv, x);
                    }
                }
    }
    for (; d < D; ++d)
        for (int p = 0; p < NP; ++p)
            for (int w = 0; w < NW; ++w) {
                const F kv = KP::template load<V>(panel[p], d, w);
                for (int g = 0; g < G; ++g) {
                    F& x = a[(g * NP + p) * NW + w];
                    x = V::fmadd(V::set1(q[g][d]), kv, x);
                }
            }
    fetch_state = fetch;
#pragma GCC unroll 64
    for (int i = 0; i < NA; ++i) {
#pragma GCC unroll 64
        for (int u = 1; u < U; ++u) a[i] = V::add(a[i], a[u * NA + i]);
        const int g = i / (NP * NW), j = i % (NP * NW);
        V::store(out[g] + j * V::W, a[i]);
    }
}

// acc[g] (D) += sum_j p[g][j] * v row j for the G rows at once, over the n V rows at v,
// v + rb, ...: each V element is widened once for all G rows. The elements go in chunks of
// NV vectors per row, NV accumulate_vectors(G) and then halves of it while a chunk stays a
// multiple of 32 elements (so that it starts on a Q8_0 block and its loads are at fixed
// offsets from one row pointer); the chunk's accumulators stay in registers across the
// positions, and fetch's lines are asked for at each position of a chunk. Returns the
// elements done.
template <class V, class Row, int G, int NV = accumulate_vectors(V::kChains, G)>
int64_t accumulate_chunks(float* const* acc, const float* const* p, const uint8_t* v, size_t rb,
                          int64_t n, int64_t D, Prefetch& fetch_state, int64_t d = 0) {
    using F = typename V::F;
    static_assert(V::W * NV % 32 == 0);
    Prefetch fetch = fetch_state;  // a local copy, in registers
    for (; d + V::W * NV <= D; d += V::W * NV) {
        F a[G][NV];
        for (int g = 0; g < G; ++g)
            for (int c = 0; c < NV; ++c) a[g][c] = V::load(acc[g] + d + V::W * c);
        const uint8_t* row = v + Row::bytes_before(d);
        for (int64_t j = 0; j < n; ++j, row += rb) {
            fetch.step();
            F pj[G];
            for (int g = 0; g < G; ++g) pj[g] = V::set1(p[g][j]);
            for (int c = 0; c < NV; ++c) {
                const F vv = Row::template load<V>(row, V::W * c);
                for (int g = 0; g < G; ++g) a[g][c] = V::fmadd(pj[g], vv, a[g][c]);
            }
        }
        for (int g = 0; g < G; ++g)
            for (int c = 0; c < NV; ++c) V::store(acc[g] + d + V::W * c, a[g][c]);
    }
    fetch_state = fetch;
    if constexpr (V::W * NV / 2 % 32 == 0)
        return accumulate_chunks<V, Row, G, NV / 2>(acc, p, v, rb, n, D, fetch_state, d);
    return d;
}

// The chunks accumulate_chunks takes for D elements: the steps of its fetch per position.
template <class V, int G>
int64_t accumulate_chunk_count(int64_t D) {
    int64_t count = 0, d = 0;
    for (int64_t w = V::W * accumulate_vectors(V::kChains, G); w % 32 == 0; w /= 2)
        for (; d + w <= D; d += w) ++count;
    return count;
}

// accumulate_chunks, then the elements past the last chunk a vector and then one at a time.
template <class V, class Row, int G>
void accumulate_group(float* const* acc, const float* const* p, const uint8_t* v, size_t rb,
                      int64_t n, int64_t D, Prefetch fetch) {
    using F = typename V::F;
    int64_t d = accumulate_chunks<V, Row, G>(acc, p, v, rb, n, D, fetch);
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

// One block of positions [jb, jb + n) for the G rows r0 .. r0 + G - 1 (n = the largest of
// nv, row g seeing nv[g] of them): their scores, the online-softmax update of each row, then
// the V accumulation, the weights past a row's own count being 0.
template <class V, class KP, class Row, int G>
void block_group(const AttnRows& rows, int r0, const int64_t* nv, const uint8_t* kb,
                 const uint8_t* vb, size_t rb, int64_t D, int64_t jb, int64_t j1, float scale,
                 float (*s)[kBlock], bool prefetch, bool first_block) {
    using F = typename V::F;
    constexpr int NV = kBlock / V::W;
    const int64_t n = *std::max_element(nv, nv + G);
    const float* q[G];
    float* acc[G];
    for (int g = 0; g < G; ++g) {
        q[g] = rows.q + (r0 + g) * rows.q_stride;
        acc[g] = rows.acc + (r0 + g) * D;
    }
    // The first group asks for the next block's V rows and the K panels of the one after it
    // (the first block of a call also for its own V rows and the next K panels), spread over
    // its score and accumulation steps: the data then has a block's time to come.
    Prefetch fetch;
    const int np = n > kKPanel ? 2 : 1;
    if (prefetch) {
        const int64_t v0 = first_block ? jb : jb + kBlock, v1 = std::min(j1, jb + 2 * kBlock);
        const int64_t k0 = v0 + kBlock, k1 = std::min(j1, jb + 3 * kBlock);
        if (v1 > v0) fetch.at[0] = vb + v0 * rb, fetch.end[0] = vb + v1 * rb;
        if (k1 > k0)  // whole panels
            fetch.at[1] = kb + k0 * rb,
            fetch.end[1] = kb + (k1 + kKPanel - 1) / kKPanel * kKPanel * rb;
        const int64_t score_steps = D / score_unroll(V::kChains, G * np * (kKPanel / V::W));
        const int64_t accumulate_steps = accumulate_chunk_count<V, G>(D) * n;
        fetch.spread(std::max<int64_t>(1, score_steps + accumulate_steps));
    }
    const uint8_t* k = kb + jb * rb;  // the block's first panel (jb is a multiple of 16)
    if (np == 2)
        panel_scores<V, KP, G, 2>(q, k, rb, D, s + r0, fetch);
    else
        panel_scores<V, KP, G, 1>(q, k, rb, D, s + r0, fetch);
    const F vscale = V::set1(scale);
    for (int g = 0; g < G; ++g) {
        const int r = r0 + g;
        float* sg = s[r];
        if (nv[g] == 0) {  // a row past its causal limit: weights 0
            std::fill(sg, sg + n, 0.0f);
            continue;
        }
        F x[NV];
        F mx = V::set1(-INFINITY);
        for (int c = 0; c * V::W < nv[g]; ++c) {
            const F scaled = V::mul(V::load(sg + c * V::W), vscale);
            x[c] = V::keep_first(scaled, nv[g] - c * V::W, -INFINITY);
            mx = V::max(mx, x[c]);
        }
        const float bm = V::reduce_max(mx);
        if (bm > rows.m[r]) {  // rescale the state to the new maximum (exp(-inf) = 0)
            const float f = std::exp(rows.m[r] - bm);
            rows.l[r] *= f;
            for (int64_t d = 0; d < D; ++d) acc[g][d] *= f;
            rows.m[r] = bm;
        }
        const F m = V::set1(rows.m[r]);
        F sum = V::zero();
        int c = 0;
        for (; c * V::W < nv[g]; ++c) {
            const F e = V::keep_first(V::exp(V::sub(x[c], m)), nv[g] - c * V::W, 0.0f);
            sum = V::add(sum, e);
            V::store(sg + c * V::W, e);
        }
        for (; c * V::W < n; ++c) V::store(sg + c * V::W, V::zero());
        rows.l[r] += V::reduce_add(sum);
    }
    const float* p[G];
    for (int g = 0; g < G; ++g) p[g] = s[r0 + g];
    accumulate_group<V, Row, G>(acc, p, vb + jb * rb, rb, n, D, fetch);
}

// block_group for a group of g rows (8, 4, 2 or 1, at most V::kMaxRows).
template <class V, class KP, class Row, class... A>
void block_group_of(int g, A... a) {
    if constexpr (V::kMaxRows >= 8)
        if (g == 8) return block_group<V, KP, Row, 8>(a...);
    if constexpr (V::kMaxRows >= 4)
        if (g == 4) return block_group<V, KP, Row, 4>(a...);
    if (g == 2) return block_group<V, KP, Row, 2>(a...);
    block_group<V, KP, Row, 1>(a...);
}

template <class V, class KP, class Row>
void attention_chunk(const AttnRows& rows, const void* k, const void* v, size_t rb,
                     int64_t head_dim, int64_t j0, int64_t j1, float scale) {
    const int64_t D = head_dim;
    const auto* kb = static_cast<const uint8_t*>(k);
    const auto* vb = static_cast<const uint8_t*>(v);
    alignas(64) float s[kMaxAttnRows][kBlock];
    for (int64_t jb = j0; jb < j1; jb += kBlock) {
        const int64_t n_block = std::min<int64_t>(kBlock, j1 - jb);
        int64_t nv[kMaxAttnRows];
        bool any = false;
        for (int r = 0; r < rows.n_rows; ++r) {
            nv[r] = std::clamp<int64_t>(rows.n_keys[r] - jb, 0, n_block);
            any = any || nv[r] > 0;
        }
        if (!any) break;  // later blocks are masked for every row too
        // Rows in groups of V::kMaxRows, then halves of it; a group with no visible position
        // is skipped.
        for (int r = 0; r < rows.n_rows;) {
            const int left = rows.n_rows - r;
            const int g = left >= V::kMaxRows ? V::kMaxRows : left >= 4 ? 4 : left >= 2 ? 2 : 1;
            if (*std::max_element(nv + r, nv + r + g) > 0)
                block_group_of<V, KP, Row>(g, rows, r, nv + r, kb, vb, rb, D, jb, j1, scale, s,
                                           r == 0, jb == j0);
            r += g;
        }
    }
}

}  // namespace
}  // namespace hearth::kernels::x86
