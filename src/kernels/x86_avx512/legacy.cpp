// AVX-512 VNNI dot products of Q8_0, Q4_0 and IQ4_NL with Q8_0 activations. One token: two
// blocks per 512-bit vector, the activations paired once per call (see Pairs). 2..4 tokens
// (and rows Pairs cannot hold): as the AVX2 kernels (sign trick), but vpdpbusd replaces
// maddubs + madd. 5..8 tokens: the activations are interleaved once per call so that one
// vpdpbusd of a broadcast weight dword gives every token's partial sum in its own lane (see
// Interleaved).
#include <immintrin.h>

#include <cstddef>
#include <cstring>
#include <type_traits>

#include "kernels/dispatch.h"
#include "kernels/interleave.h"
#include "kernels/ref/blocks.h"
#include "kernels/x86_avx2/kernels_avx2.h"
#include "kernels/x86_avx2/common.h"
#include "kernels/x86_avx2/legacy_blocks.h"
#include "kernels/x86_avx512/common.h"
#include "kernels/x86_avx512/kernels_avx512.h"

namespace hearth::kernels::avx512 {

namespace {

using x86::f16;

// The activation blocks of up to 8 tokens laid out for run_wide, for rows of up to kBlocks
// blocks: per block, chunk c (elements 4c..4c+3) of every token as one 32-byte vector (lane t =
// token t's 4 bytes), the negated 128 * sum of each token's block (which undoes the +128 that
// makes the weights unsigned for vpdpbusd) and the tokens' scales. Tokens past NY are zero.
struct Interleaved {
    static constexpr int64_t kBlocks = 128;
    struct Block {
        __m256i q[8];
        __m256i neg_offset;
        __m256 d;
    };
    Block b[kBlocks];

    template <int NY>
    void fill(const BlockQ8_0* const* ay, int64_t nb) {
        const __m256i ones = _mm256_set1_epi8(1);
        for (int64_t i = 0; i < nb; ++i) {
            __m256i v[8];
            alignas(32) float d[8];
            for (int t = 0; t < 8; ++t) {
                v[t] = t < NY ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ay[t][i].qs))
                              : _mm256_setzero_si256();
                d[t] = t < NY ? f16(ay[t][i].d) : 0.0f;
            }
            x86::transpose8_epi32(v);  // v[c] lane t = token t's dword c
            __m256i sum = _mm256_setzero_si256();
            for (int c = 0; c < 8; ++c) {
                b[i].q[c] = v[c];
                sum = _mm256_dpbusd_epi32(sum, ones, v[c]);
            }
            b[i].neg_offset = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(sum, 7));
            b[i].d = _mm256_load_ps(d);
        }
    }
};

// One token's activation blocks in pairs for run_one, for rows of up to kBlocks blocks: per
// pair of blocks (i, i + 1), their 64 levels as one vector, the negated 128 * sum of each
// block (in lane 0 of its half; it undoes the +128 that makes the weights unsigned) and the
// two scales, each in its half's 8 lanes.
struct Pairs {
    static constexpr int64_t kBlocks = 256;
    struct Pair {
        __m512i q;
        __m512i neg_offset;
        __m512 d;
    };
    Pair p[kBlocks / 2];

    void fill(const BlockQ8_0* ay, int64_t nb) {
        const __m512i ones = _mm512_set1_epi8(1);
        for (int64_t i = 0; i + 1 < nb; i += 2) {
            Pair& pr = p[i / 2];
            pr.q = _mm512_inserti64x4(
                _mm512_castsi256_si512(
                    _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ay[i].qs))),
                _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ay[i + 1].qs)), 1);
            alignas(64) int32_t sums[16];
            _mm512_store_si512(sums, _mm512_dpbusd_epi32(_mm512_setzero_si512(), ones, pr.q));
            alignas(64) int32_t off[16] = {};
            alignas(64) float d[16];
            for (int h = 0; h < 2; ++h) {
                int32_t sum = 0;
                for (int l = 0; l < 8; ++l) sum += sums[8 * h + l];
                off[8 * h] = -128 * sum;
                for (int l = 0; l < 8; ++l) d[8 * h + l] = f16(ay[i + h].d);
            }
            pr.neg_offset = _mm512_load_si512(off);
            pr.d = _mm512_load_ps(d);
        }
    }
};

template <typename D>
struct GemmLegacy {
    // 5..8 tokens, rows of up to Interleaved::kBlocks blocks: per weight block, the 32 levels
    // plus 128 (unsigned), each dword broadcast against the interleaved activations; lane t of
    // the int32 result is token t's block dot product, which one convert and one FMA scale.
    template <int NY>
    static void run_wide(int64_t n, const void* w, size_t bw, int64_t nr, const void* a,
                         size_t ba, float* y, size_t by, Interleaved& act) {
        const int64_t nb = n / kQK;
        const BlockQ8_0* ay[NY];
        for (int t = 0; t < NY; ++t) ay[t] = x86::row<BlockQ8_0>(a, ba, t);
        act.fill<NY>(ay, nb);
        const __m256i flip = _mm256_set1_epi8(static_cast<char>(0x80));
        for (int64_t r = 0; r < nr; ++r) {
            const auto* x = x86::row<typename D::Block>(w, bw, r);
            __m256 acc = _mm256_setzero_ps();
            for (int64_t i = 0; i < nb; ++i) {
                alignas(32) int32_t wu[8];
                _mm256_store_si256(reinterpret_cast<__m256i*>(wu),
                                   _mm256_xor_si256(D::load(x[i]), flip));
                const Interleaved::Block& ab = act.b[i];
                // Two chains (even and odd dwords) to halve the vpdpbusd latency per block.
                __m256i s0 = ab.neg_offset, s1 = _mm256_setzero_si256();
                for (int c = 0; c < 8; c += 2) {
                    s0 = _mm256_dpbusd_epi32(s0, _mm256_set1_epi32(wu[c]), ab.q[c]);
                    s1 = _mm256_dpbusd_epi32(s1, _mm256_set1_epi32(wu[c + 1]), ab.q[c + 1]);
                }
                const __m256 p = _mm256_cvtepi32_ps(_mm256_add_epi32(s0, s1));
                acc = _mm256_fmadd_ps(p, _mm256_mul_ps(ab.d, _mm256_set1_ps(f16(x[i].d))), acc);
            }
            x86::store_tokens(acc, NY, y, by, r);
        }
    }

    // One token, rows of an even number of blocks up to Pairs::kBlocks: two blocks per 512-bit
    // vector, so each xor, vpdpbusd, convert and FMA serves 64 weights. The weights plus 128
    // (unsigned) against the signed activations, the +128 undone by the pair's offsets.
    static void run_one(int64_t n, const void* w, size_t bw, int64_t nr, const void* a, float* y,
                        Pairs& act) {
        const int64_t nb = n / kQK;
        act.fill(static_cast<const BlockQ8_0*>(a), nb);
        const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
        // Pair k (blocks 2k, 2k + 1) of row x, folded into acc.
        auto pair = [&](const typename D::Block* x, int64_t k, __m512 acc) {
            const Pairs::Pair& ap = act.p[k];
            const __m512i wq = _mm512_xor_si512(
                _mm512_inserti64x4(_mm512_castsi256_si512(D::load(x[2 * k])), D::load(x[2 * k + 1]),
                                   1),
                flip);
            const __m512i p = _mm512_dpbusd_epi32(ap.neg_offset, wq, ap.q);
            // Both blocks' weight scales, each across its half.
            const __m256i dh =
                _mm256_blend_epi32(_mm256_set1_epi16(static_cast<short>(x[2 * k].d)),
                                   _mm256_set1_epi16(static_cast<short>(x[2 * k + 1].d)), 0xF0);
            return _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), _mm512_mul_ps(_mm512_cvtph_ps(dh), ap.d),
                                   acc);
        };
        const int64_t n_pairs = nb / 2;
        for (int64_t r = 0; r < nr; ++r) {
            x86::prefetch_ahead(w, bw, r);
            const auto* x = x86::row<typename D::Block>(w, bw, r);
            // Two accumulators (even and odd pairs) to halve the FMA latency per pair.
            __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
            int64_t k = 0;
            for (; k + 1 < n_pairs; k += 2) {
                acc0 = pair(x, k, acc0);
                acc1 = pair(x, k + 1, acc1);
            }
            if (k < n_pairs) acc0 = pair(x, k, acc0);
            y[r] = hsum512(_mm512_add_ps(acc0, acc1));
        }
    }

    template <int NY>
    static void run(int64_t n, const void* w, size_t bw, int64_t nr, const void* a, size_t ba,
                    float* y, size_t by) {
        const int64_t nb = n / kQK;
        if constexpr (NY == 1) {
            if (nb % 2 == 0 && nb <= Pairs::kBlocks) {
                Pairs act;
                run_one(n, w, bw, nr, a, y, act);
                return;
            }
        }
        if constexpr (NY >= 5) {
            if (nb <= Interleaved::kBlocks) {
                Interleaved act;
                run_wide<NY>(n, w, bw, nr, a, ba, y, by, act);
                return;
            }
        }
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
            if constexpr (NY == 1) x86::prefetch_ahead(w, bw, r);
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

// Q8_0 batches with the rows in lanes, as PackedQ4K in k_quants.cpp: per block of 16 rows,
//   q[c][r][4]  levels 4c..4c+3 of row r (signed bytes), 512 bytes;
//   off[r]      -128 * the sum of row r's levels (int32), 64 bytes;
//   d[r]        the row's scale (float), 64 bytes.
// vpdpbusd needs one unsigned side: the activations come with their levels plus 128
// (quantize_row_q8_0_biased), and off undoes the 128 * sum of the weights that adds.
struct PackedQ8_0 {
    static constexpr int64_t kRows = kPackRows;
    static constexpr int kGroups = 2;  // groups per pass (packed_gemm)
    static constexpr size_t kLevelBytes = 8 * kRows * 4;
    static constexpr size_t kBlockBytes = kLevelBytes + 2 * kRows * 4;

    static size_t bytes(int64_t n) { return static_cast<size_t>(n / kQK) * kBlockBytes; }

    // Writes one packed block from its levels (cols[c] lane r: dword c of row r) and the rows'
    // scales.
    static void store_block(uint8_t* b, const __m512i* cols, __m512 d) {
        const __m512i ones = _mm512_set1_epi8(1);
        __m512i sum = _mm512_setzero_si512();
        for (int c = 0; c < 8; ++c) {
            _mm512_storeu_si512(b + c * kRows * 4, cols[c]);
            sum = _mm512_dpbusd_epi32(sum, ones, cols[c]);
        }
        _mm512_storeu_si512(b + kLevelBytes,
                            _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(sum, 7)));
        _mm512_storeu_ps(b + kLevelBytes + kRows * 4, d);
    }

    // 16 rows of any 32-element format without a min (x86::Q8_0, Q4_0, Q5_0, IQ4_NL: its
    // levels as signed bytes from D::load, times the F16 scale d): its products with Q8_0
    // activations are the same integer sums as Q8_0's.
    template <typename D>
    static void pack(int64_t n, const void* w, size_t bw, void* dst) {
        using Block = typename D::Block;
        static_assert(!D::kHasMin && std::is_same_v<typename D::ABlock, BlockQ8_0>);
        const int64_t nb = n / kQK;
        auto* out = static_cast<uint8_t*>(dst);
        for (int64_t i = 0; i < nb; ++i) {
            const uint8_t* blocks = static_cast<const uint8_t*>(w) + i * sizeof(Block);  // row 0's
            __m256i rows[kRows];
            alignas(64) float d[kRows];
            for_rows16(blocks, bw, [&](int r, const uint8_t* b) {
                const Block& block = *reinterpret_cast<const Block*>(b);
                rows[r] = D::load(block);
                d[r] = f16(block.d);
            });
            __m512i cols[8];
            transpose16x8_epi32(rows, cols);
            store_block(out + i * kBlockBytes, cols, _mm512_load_ps(d));
        }
    }

    // NG groups (packed one after another) and NY tokens: y[t * by + 16g + r] for row r of
    // group g (lane r of each vector).
    template <int NG, int NY>
    static void run(int64_t nb, const uint8_t* packed, const BlockQ8_0* const* ay, float* y,
                    size_t by) {
        const size_t stride = static_cast<size_t>(nb) * kBlockBytes;
        __m512 acc[NG][NY];
        for (int g = 0; g < NG; ++g)
            for (int t = 0; t < NY; ++t) acc[g][t] = _mm512_setzero_ps();
        for (int64_t i = 0; i < nb; ++i) {
            const uint8_t* b = packed + i * kBlockBytes;
            __m512i part[NG][NY];
            for (int g = 0; g < NG; ++g) {
                const __m512i off = _mm512_loadu_si512(b + g * stride + kLevelBytes);
                for (int t = 0; t < NY; ++t) part[g][t] = off;
            }
#pragma GCC unroll 8
            for (int c = 0; c < 8; ++c) {
                __m512i q[NG];
                for (int g = 0; g < NG; ++g)
                    q[g] = _mm512_loadu_si512(b + g * stride + c * kRows * 4);
                for (int t = 0; t < NY; ++t) {
                    const __m512i a = broadcast_dword(ay[t][i].qs + 4 * c);
                    for (int g = 0; g < NG; ++g)
                        part[g][t] = _mm512_dpbusd_epi32(part[g][t], a, q[g]);
                }
            }
            for (int g = 0; g < NG; ++g) {
                const __m512 d = _mm512_loadu_ps(b + g * stride + kLevelBytes + kRows * 4);
                for (int t = 0; t < NY; ++t)
                    acc[g][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(part[g][t]),
                                                _mm512_mul_ps(d, _mm512_set1_ps(f16(ay[t][i].d))),
                                                acc[g][t]);
            }
        }
        for (int g = 0; g < NG; ++g)
            for (int t = 0; t < NY; ++t) _mm512_storeu_ps(y + t * by + g * kRows, acc[g][t]);
    }
};

// The activations of the interleaved Q8_0 kernels: a block's levels as they are (signed), its
// scale as a float, and off = -128 * the sum of its levels, which takes off what the weights'
// plus 128 adds to their dot product.
struct BlockQ8_0Sum {
    float d;
    int32_t off;
    int8_t qs[kQK];
};
static_assert(sizeof(BlockQ8_0Sum) == 40);

// Q8_0 in the interleaved layout (kernels/interleave.h), for decode and small batches: rows in
// lanes as in PackedQ8_0, the levels stored plus 128 at load, so that one vpdpbusd of each
// level dword against a broadcast activation dword is all a block costs; each token's
// activations bring their off (quantize_row_q8_0_sum), which starts its sum.
struct InterleavedQ8_0 {
    static constexpr int64_t kRows = kInterleaveRows;
    static_assert(kRows == PackedQ8_0::kRows, "pack turns one group into one packed tile");
    static constexpr size_t kLevelBytes = 8 * kRows * 4;
    static constexpr size_t kGroupBytes = sizeof(BlockQ8_0) * kRows;

    template <int NY>
    static void run(int64_t n, const void* w, size_t bw, int64_t nr, const void* a, size_t ba,
                    float* y, size_t by) {
        const int64_t nb = n / kQK;
        const BlockQ8_0Sum* ay[NY];
        for (int t = 0; t < NY; ++t) ay[t] = x86::row<BlockQ8_0Sum>(a, ba, t);
        interleaved_rows<NY, kGroupBytes>(nb, w, bw, nr, y, by,
                             [&](const uint8_t* b, int64_t i, __m512* acc) {
                if constexpr (NY == 1) x86::prefetch_group_part<kGroupBytes, 1>(b, 0);
                // Even and odd dwords in separate chains.
                __m512i part[NY][2];
                for (int t = 0; t < NY; ++t) {
                    part[t][0] = _mm512_set1_epi32(ay[t][i].off);
                    part[t][1] = _mm512_setzero_si512();
                }
#pragma GCC unroll 8
                for (int c = 0; c < 8; ++c) {
                    const __m512i q = _mm512_loadu_si512(b + c * kRows * 4);
                    for (int t = 0; t < NY; ++t)
                        part[t][c % 2] = _mm512_dpbusd_epi32(part[t][c % 2], q,
                                                             broadcast_dword(ay[t][i].qs + 4 * c));
                }
                const __m512 d = _mm512_cvtph_ps(
                    _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + kLevelBytes)));
                for (int t = 0; t < NY; ++t) {
                    const __m512i v = _mm512_add_epi32(part[t][0], part[t][1]);
                    const __m512 dt = _mm512_mul_ps(d, _mm512_set1_ps(ay[t][i].d));
                    acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(v), dt, acc[t]);
                }
        });
    }

    // One group's rows in PackedQ8_0's layout (signed levels), for the batch path.
    static void pack(int64_t n, const void* w, size_t, void* dst) {
        const int64_t nb = n / kQK;
        const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
        for (int64_t i = 0; i < nb; ++i) {
            const uint8_t* b = static_cast<const uint8_t*>(w) + i * kGroupBytes;
            __m512i cols[8];
            for (int c = 0; c < 8; ++c)
                cols[c] = _mm512_xor_si512(_mm512_loadu_si512(b + c * kRows * 4), flip);
            const __m512 d = _mm512_cvtph_ps(
                _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + kLevelBytes)));
            PackedQ8_0::store_block(static_cast<uint8_t*>(dst) + i * PackedQ8_0::kBlockBytes,
                                    cols, d);
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

size_t packed_bytes_q8_0(int64_t n) { return PackedQ8_0::bytes(n); }
void pack_q8_0(int64_t n, const void* w, size_t bw, void* dst) {
    PackedQ8_0::pack<x86::Q8_0>(n, w, bw, dst);
}
void pack_q4_0(int64_t n, const void* w, size_t bw, void* dst) {
    PackedQ8_0::pack<x86::Q4_0>(n, w, bw, dst);
}
void pack_q5_0(int64_t n, const void* w, size_t bw, void* dst) {
    PackedQ8_0::pack<x86::Q5_0>(n, w, bw, dst);
}
void pack_iq4_nl(int64_t n, const void* w, size_t bw, void* dst) {
    PackedQ8_0::pack<x86::IQ4_NL>(n, w, bw, dst);
}
void gemm_packed_q8_0_q8_0(int64_t n, const void* packed, int64_t ng, const void* a, size_t ba,
                           int64_t ny, float* y, size_t by) {
    packed_gemm<PackedQ8_0, BlockQ8_0>(n / kQK, packed, ng, a, ba, ny, y, by);
}
void gemm_q8_0_interleaved_q8_0(int64_t n, const void* w, size_t bw, int64_t nr, const void* a,
                                size_t ba, int ny, float* y, size_t by) {
    x86::gemm_dispatch<InterleavedQ8_0, 8>(n, w, bw, nr, a, ba, ny, y, by);
}
void pack_q8_0_interleaved(int64_t n, const void* w, size_t bw, void* dst) {
    InterleavedQ8_0::pack(n, w, bw, dst);
}
size_t row_bytes_q8_0_sum(int64_t n) { return static_cast<size_t>(n / kQK) * sizeof(BlockQ8_0Sum); }
void quantize_row_q8_0_sum(const float* x, void* dst, int64_t n) {
    auto* y = static_cast<BlockQ8_0Sum*>(dst);
    const __m256i flip = _mm256_set1_epi8(static_cast<char>(0x80));
    for (int64_t i = 0; i < n / kQK; ++i) {
        BlockQ8_0 b;
        avx2::quantize_row_q8_0(x + i * kQK, &b, kQK);
        std::memcpy(y[i].qs, b.qs, kQK);
        y[i].d = f16(b.d);
        // The sum of the levels plus 128, in four 64-bit parts.
        const __m256i s = _mm256_sad_epu8(
            _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs)), flip),
            _mm256_setzero_si256());
        const __m128i h = _mm_add_epi64(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
        const int32_t biased = _mm_cvtsi128_si32(_mm_add_epi64(h, _mm_unpackhi_epi64(h, h)));
        y[i].off = -128 * (biased - 128 * kQK);
    }
}
void quantize_row_q8_0_biased(const float* x, void* dst, int64_t n) {
    avx2::quantize_row_q8_0(x, dst, n);
    auto* b = static_cast<BlockQ8_0*>(dst);
    const __m256i flip = _mm256_set1_epi8(static_cast<char>(0x80));
    for (int64_t i = 0; i < n / kQK; ++i) {
        auto* q = reinterpret_cast<__m256i*>(b[i].qs);
        _mm256_storeu_si256(q, _mm256_xor_si256(_mm256_loadu_si256(q), flip));
    }
}

}  // namespace hearth::kernels::avx512
