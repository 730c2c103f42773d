// AVX-512 dot products of the K-quants (Q2_K..Q6_K) and IQ4_XS with Q8_K activations, 64
// elements per step: maddubs multiplies unsigned weight levels with the activations (int16
// pairs) and VNNI vpdpwssd applies the sub-block scales while accumulating in int32. Offsets go
// through bsums as in the AVX2 file. 5..8 tokens: the tokens' sums of a super-block are reduced
// together (lane = token).
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstring>
#include <type_traits>
#include <utility>

#include "kernels/dispatch.h"
#include "kernels/interleave.h"
#include "kernels/ref/blocks.h"
#include "kernels/x86_avx2/common.h"
#include "kernels/x86_avx2/kernels_avx2.h"
#include "kernels/x86_avx512/common.h"
#include "kernels/x86_avx512/kernels_avx512.h"

namespace hearth::kernels::avx512 {

namespace {

using x86::f16;

inline __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
inline __m512i load512(const void* p) { return _mm512_loadu_si512(p); }

// Each token's int32 sums of scaled pairs (madd / dpwssd), step by step. With several tokens
// one chain per token, started by a madd. With one token, two chains (even and odd steps)
// added at the end: in a single chain GCC copies the accumulator around every dpwssd.
template <int NY>
struct ScaledSums {
    __m512i even[NY], odd[NY];

    void add(int t, int step, __m512i p, __m512i scales) {
        if constexpr (NY == 1) {
            __m512i& c = step % 2 ? odd[t] : even[t];
            c = step < 2 ? _mm512_madd_epi16(p, scales) : _mm512_dpwssd_epi32(c, p, scales);
        } else {
            even[t] = step == 0 ? _mm512_madd_epi16(p, scales)
                                : _mm512_dpwssd_epi32(even[t], p, scales);
        }
    }
    __m512i total(int t) const {
        if constexpr (NY == 1) return _mm512_add_epi32(even[t], odd[t]);
        return even[t];
    }
};

// The 5..8-token loop of the kernels below: per row, super-block by super-block,
// sb(x[i], i, acc) folds the tokens' sums into acc (lane = token); then the row's results are
// stored token by token.
template <int NY, typename Block, typename SuperBlock>
void wide_rows(int64_t nb, const void* w, size_t bw, int64_t nr, float* y, size_t by,
               SuperBlock sb) {
    for (int64_t r = 0; r < nr; ++r) {
        const auto* x = x86::row<Block>(w, bw, r);
        __m256 acc = _mm256_setzero_ps();
        for (int64_t i = 0; i < nb; ++i) acc = sb(x[i], i, acc);
        x86::store_tokens(acc, NY, y, by, r);
    }
}

// The 1..4-token loop of the kernels below: per row, super-block by super-block,
// sb(x[i], i, acc, accm) adds to each token's accumulators (acc: scaled sums; accm: min
// corrections, to subtract); each token's result is then the difference of their lane sums.
// With one token each row's bytes are prefetched ahead.
template <int NY, typename Block, typename SuperBlock>
void narrow_rows(int64_t nb, const void* w, size_t bw, int64_t nr, float* y, size_t by,
                 SuperBlock sb) {
    for (int64_t r = 0; r < nr; ++r) {
        if constexpr (NY == 1) x86::prefetch_ahead(w, bw, r);
        const auto* x = x86::row<Block>(w, bw, r);
        __m512 acc[NY];
        __m256 accm[NY];
        for (int t = 0; t < NY; ++t) {
            acc[t] = _mm512_setzero_ps();
            accm[t] = _mm256_setzero_ps();
        }
        for (int64_t i = 0; i < nb; ++i) sb(x[i], i, acc, accm);
        for (int t = 0; t < NY; ++t) y[t * by + r] = hsum512(acc[t]) - x86::hsum(accm[t]);
    }
}

// Lane t = the sum of sumi[t]'s lanes as a float, for t < NY (zero past NY): the 8 tokens'
// sums reduced together.
template <int NY>
__m256 token_sums(const __m512i* sumi) {
    __m512i s8[8];
    for (int t = 0; t < 8; ++t) s8[t] = t < NY ? sumi[t] : _mm512_setzero_si512();
    return _mm256_cvtepi32_ps(hsum8x16_epi32(s8));
}

// The even bytes: with a byte permute, the low bytes of int16 lanes (the high ones zeroed).
constexpr __mmask64 kLowBytes = 0x5555555555555555ull;

// The 8 mins of scales_mins_k4's result as int16, each twice (m0 m0 m1 m1 .. m7 m7): one per
// 16-element activation bsum. One byte permute (x86::doubled_mins takes three shuffles).
inline __m256i doubled_mins(__m128i sm) {
    const __m256i pick = _mm256_setr_epi16(8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15);
    return _mm256_maskz_permutexvar_epi8(static_cast<__mmask32>(kLowBytes), pick,
                                         _mm256_castsi128_si256(sm));
}

inline __m128i load128(const void* p) { return _mm_loadu_si128(static_cast<const __m128i*>(p)); }

// x86::scales_mins_k4 in each 128-bit lane of heads, whose lanes hold a Q4_K/Q5_K block's
// first 16 bytes (d, dmin, then the 12 bytes of packed scales): lane bytes 0..7 get the
// scales, 8..15 the mins.
inline __m512i scales_mins_k4_heads(__m512i heads) {
    const __m512i a = _mm512_shuffle_epi8(
        heads, _mm512_broadcast_i32x4(_mm_setr_epi8(4, 5, 6, 7, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15)));
    const __m512i b = _mm512_shuffle_epi8(
        heads, _mm512_broadcast_i32x4(_mm_setr_epi8(-1, -1, -1, -1, 4, 5, 6, 7, -1, -1, -1, -1, 8, 9, 10, 11)));
    const __m512i low = _mm512_and_si512(
        a, _mm512_broadcast_i32x4(_mm_setr_epi8(63, 63, 63, 63, 15, 15, 15, 15, 63, 63, 63, 63, 0, 0, 0, 0)));
    const __m512i high_nibbles = _mm512_and_si512(
        _mm512_srli_epi16(a, 4),
        _mm512_broadcast_i32x4(_mm_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 15, 15, 15, 15)));
    const __m512i top = _mm512_and_si512(_mm512_srli_epi16(b, 2), _mm512_set1_epi8(0x30));
    return _mm512_or_si512(_mm512_or_si512(low, high_nibbles), top);
}

// The byte permutes of GemmQ45K's step j of the block in 128-bit lane k of the unpacked
// scales, at 4k + j: scale 2j of the lane to the lower 256 bits' int16 lanes, 2j + 1 to the
// upper ones (as low bytes; the mask zeroes the high ones).
alignas(64) constexpr auto kScalePick = [] {
    std::array<std::array<int16_t, 32>, 16> t{};
    for (int p = 0; p < 16; ++p)
        for (int l = 0; l < 32; ++l) t[p][l] = static_cast<int16_t>(16 * (p / 4) + 2 * (p % 4) + l / 16);
    return t;
}();

// The grouped kernel's mins: int16 lane 8k + s gets min s of the block in 128-bit lane k of
// the unpacked scales (as a low byte; the mask zeroes the high ones).
alignas(64) constexpr auto kMinPick = [] {
    std::array<int16_t, 32> v{};
    for (int l = 0; l < 32; ++l) v[l] = static_cast<int16_t>(16 * (l / 8) + 8 + l % 8);
    return v;
}();

// The grouped kernel's dmin lanes: lanes 4k..4k+3 (block k's min sums) take lane 2k + 1 of
// the converted (d, dmin) pairs.
alignas(64) constexpr auto kDminPick = [] {
    std::array<int32_t, 16> v{};
    for (int l = 0; l < 16; ++l) v[l] = 2 * (l / 4) + 1;
    return v;
}();

// One token's activation row, per call, as the grouped one-token kernels read it: each
// super-block's d twice, and its 8 sums of 32 elements; zero from nb up to a multiple of 4.
struct SubBlockSums {
    alignas(64) int16_t b[8 * x86::kCachedSuperBlocks];
    alignas(64) float d2[2 * x86::kCachedSuperBlocks];

    SubBlockSums(const BlockQ8_K* a, int64_t nb) {
        const int64_t padded = (nb + 3) / 4 * 4;
        for (int64_t i = 0; i < padded; ++i)
            for (int s = 0; s < 8; ++s)
                b[8 * i + s] = i < nb ? static_cast<int16_t>(a[i].bsums[2 * s] + a[i].bsums[2 * s + 1])
                                      : int16_t{0};
        for (int64_t i = 0; i < padded; ++i) d2[2 * i] = d2[2 * i + 1] = i < nb ? a[i].d : 0.0f;
    }
};

// Q4_K (kHigh = false) and Q5_K (kHigh = true): step j covers elements 64j..64j+63: low
// nibbles of qs[32j..32j+31] (sub-block 2j) in the lower 256 bits, high nibbles (sub-block
// 2j + 1) in the upper 256 bits. Q5_K's fifth bit of element l of sub-block s is bit s of qh[l].
template <typename Block, bool kHigh>
struct GemmQ45K {
    // sumi[t] = the sub-block-scaled int32 dot products of super-block i with token t's
    // activations (scales and mins in sm as scales_mins_k4 gives them); mins not applied.
    template <int NY>
    static void block_sums(const Block& x, __m128i sm, const BlockQ8_K* const* ay, int64_t i,
                           __m512i* sumi) {
        block_sums<NY, 0>(x, _mm512_castsi128_si512(sm), ay, i, sumi);
    }

    // The same with the block's scales in 128-bit lane kLane of smv.
    template <int NY, int kLane>
    static void block_sums(const Block& x, __m512i smv, const BlockQ8_K* const* ay, int64_t i,
                           __m512i* sumi) {
        const __m512i m4 = _mm512_set1_epi8(0xF);
        __m512i qh, bit4;
        if constexpr (kHigh) {
            qh = _mm512_broadcast_i64x4(load256(x.qh));
            bit4 = _mm512_set1_epi8(0x10);
        }
        // One byte permute per step widens scale 2j into the lower 256 bits' int16 lanes and
        // 2j + 1 into the upper ones (the high bytes zeroed by the mask).
        ScaledSums<NY> sums;
        for (int j = 0; j < 4; ++j) {
            // The step's 32 bytes in both halves, the upper half shifted down a nibble.
            const __m512i bits = _mm512_broadcast_i64x4(load256(x.qs + 32 * j));
            __m512i q = _mm512_and_si512(_mm512_mask_srli_epi16(bits, 0xFFFF0000u, bits, 4), m4);
            if constexpr (kHigh) {
                // Bit 2j of qh in the lower half, bit 2j + 1 in the upper, adds 16 where set.
                const __m512i sel = _mm512_inserti64x4(
                    _mm512_set1_epi8(static_cast<char>(1 << (2 * j))),
                    _mm256_set1_epi8(static_cast<char>(2 << (2 * j))), 1);
                q = _mm512_mask_add_epi8(q, _mm512_test_epi8_mask(qh, sel), q, bit4);
            }
            const __m512i pick = _mm512_load_si512(kScalePick[4 * kLane + j].data());
            const __m512i sv = _mm512_maskz_permutexvar_epi8(kLowBytes, pick, smv);
            for (int t = 0; t < NY; ++t)
                sums.add(t, j, _mm512_maddubs_epi16(q, load512(ay[t][i].qs + 64 * j)), sv);
        }
        for (int t = 0; t < NY; ++t) sumi[t] = sums.total(t);
    }

    // 5..8 tokens: per super-block each token's sums are folded to 256 bits, and the 8 tokens'
    // sums reduced together into one vector (lane = token), scaled by the tokens' d in one FMA,
    // with the min corrections from TokenSubSums in the same lanes, as in the AVX2 kernel; no
    // per-token scalar work.
    template <int NY>
    static void run_wide(int64_t n, const void* w, size_t bw, int64_t nr, const void* a,
                         size_t ba, float* y, size_t by) {
        const int64_t nb = n / kQK_K;
        const BlockQ8_K* ay[NY];
        for (int t = 0; t < NY; ++t) ay[t] = x86::row<BlockQ8_K>(a, ba, t);
        const x86::TokenScales<NY> ds(ay, nb);
        const x86::TokenSubSums<NY> subs(ay, nb);
        wide_rows<NY, Block>(nb, w, bw, nr, y, by, [&](const Block& x, int64_t i, __m256 acc) {
            const __m128i sm = x86::scales_mins_k4(x.scales);
            __m512i sumi[NY];
            block_sums<NY>(x, sm, ay, i, sumi);
            const __m256 mc = _mm256_cvtepi32_ps(subs.min_correction(i, x86::mins_both_lanes(sm)));
            return x86::add_scaled_k4(acc, token_sums<NY>(sumi), mc, ds.get(i), x);
        });
    }

    // One token, super-blocks in groups of up to 4: the groups' heads (d, dmin and the packed
    // scales, a block's first 16 bytes) share one register, a block per 128-bit lane, so the
    // scales are unpacked, d and dmin converted and the mins applied once per group; the row's
    // mins go into its one accumulator. Per block this leaves about 29 vector operations of
    // 43, and the kernel is bound by them (in cache, 1024x3072 on 2 threads: 28-34 -> 23-25 us).
    template <int G>
    static __m512 group_one(const Block* x, const BlockQ8_K* ay, const SubBlockSums& as,
                            int64_t i, __m512 acc) {
        static_assert(offsetof(Block, scales) == 4 && offsetof(Block, dmin) == 2);
        __m512i head = _mm512_inserti32x4(_mm512_setzero_si512(), load128(&x[i]), 0);
        if constexpr (G > 1) head = _mm512_inserti32x4(head, load128(&x[i + 1]), 1);
        if constexpr (G > 2) head = _mm512_inserti32x4(head, load128(&x[i + 2]), 2);
        if constexpr (G > 3) head = _mm512_inserti32x4(head, load128(&x[i + 3]), 3);
        const __m512i sm = scales_mins_k4_heads(head);
        // Lane 2k: block k's d, lane 2k + 1 its dmin, each times the activation's d.
        const __m128i dbits = _mm512_castsi512_si128(
            _mm512_permutexvar_epi32(_mm512_setr_epi32(0, 4, 8, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), head));
        const __m512 dd = _mm512_castps256_ps512(
            _mm256_mul_ps(_mm256_cvtph_ps(dbits), _mm256_load_ps(as.d2 + 2 * i)));
        // The mins: int16 lane 8k + s = min s of block k, times the activation's sub-block sums.
        const __m512i mins = _mm512_maskz_permutexvar_epi8(kLowBytes, _mm512_load_si512(kMinPick.data()), sm);
        const __m512i corr = _mm512_madd_epi16(mins, _mm512_load_si512(as.b + 8 * i));
        acc = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(corr),
                               _mm512_permutexvar_ps(_mm512_load_si512(kDminPick.data()), dd), acc);
        const BlockQ8_K* const a1[1] = {ay};
        [&]<int... k>(std::integer_sequence<int, k...>) {
            ((acc = block_one<k>(x[i + k], sm, a1, i + k, dd, acc)), ...);
        }(std::make_integer_sequence<int, G>{});
        return acc;
    }

    template <int k>
    static __m512 block_one(const Block& x, __m512i sm, const BlockQ8_K* const* a1, int64_t i,
                            __m512 dd, __m512 acc) {
        __m512i sumi[1];
        block_sums<1, k>(x, sm, a1, i, sumi);
        return _mm512_fmadd_ps(_mm512_cvtepi32_ps(sumi[0]),
                               _mm512_permutexvar_ps(_mm512_set1_epi32(2 * k), dd), acc);
    }

    static void run_one(int64_t n, const void* w, size_t bw, int64_t nr, const void* a,
                        float* y) {
        const int64_t nb = n / kQK_K;
        const auto* ay = static_cast<const BlockQ8_K*>(a);
        const SubBlockSums as(ay, nb);
        for (int64_t r = 0; r < nr; ++r) {
            x86::prefetch_ahead(w, bw, r);
            const auto* x = x86::row<Block>(w, bw, r);
            __m512 acc = _mm512_setzero_ps();
            int64_t i = 0;
            for (; i + 4 <= nb; i += 4) acc = group_one<4>(x, ay, as, i, acc);
            switch (nb - i) {
                case 3: acc = group_one<3>(x, ay, as, i, acc); break;
                case 2: acc = group_one<2>(x, ay, as, i, acc); break;
                case 1: acc = group_one<1>(x, ay, as, i, acc); break;
                default: break;
            }
            y[r] = hsum512(acc);
        }
    }

    template <int NY>
    static void run(int64_t n, const void* w, size_t bw, int64_t nr, const void* a, size_t ba,
                    float* y, size_t by) {
        if constexpr (NY >= 5) {
            run_wide<NY>(n, w, bw, nr, a, ba, y, by);
            return;
        }
        if (NY == 1 && n / kQK_K <= x86::kCachedSuperBlocks) {
            run_one(n, w, bw, nr, a, y);
            return;
        }
        const int64_t nb = n / kQK_K;
        const BlockQ8_K* ay[NY];
        for (int t = 0; t < NY; ++t) ay[t] = x86::row<BlockQ8_K>(a, ba, t);
        narrow_rows<NY, Block>(nb, w, bw, nr, y, by,
                               [&](const Block& x, int64_t i, __m512* acc, __m256* accm) {
            const __m128i sm = x86::scales_mins_k4(x.scales);
            __m512i sumi[NY];
            block_sums<NY>(x, sm, ay, i, sumi);
            const __m256i mx = doubled_mins(sm);
            const __m128 dd = x86::d_dmin(x);
            for (int t = 0; t < NY; ++t) {
                const __m256i corr = _mm256_madd_epi16(load256(ay[t][i].bsums), mx);
                const __m128 dt = _mm_mul_ps(dd, _mm_broadcast_ss(&ay[t][i].d));
                acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sumi[t]), _mm512_broadcastss_ps(dt),
                                         acc[t]);
                accm[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(corr),
                                          _mm256_broadcastss_ps(_mm_movehdup_ps(dt)), accm[t]);
            }
        });
    }
};

// Q6_K: per 128-element half, ql bytes 0..63 give elements 0..63 (low nibbles) and 64..127
// (high nibbles); qh byte l holds the top bits of l, l + 32 (lower/upper 256 bits after the
// shifts below), l + 64, l + 96. Levels unsigned 0..63; -32 applied through bsums.
struct GemmQ6K {
    // sumi[t] = the sub-block-scaled int32 dot products of super-block i's unsigned levels with
    // token t's activations (sc512: the 16 scales as int16 in the lower 256 bits); the -32
    // offset not applied.
    template <int NY>
    static void block_sums(const BlockQ6_K& x, __m512i sc512, const BlockQ8_K* const* ay,
                           int64_t i, __m512i* sumi) {
        const __m512i m4 = _mm512_set1_epi8(0xF), m30 = _mm512_set1_epi8(0x30);
        // Lane l of a 64-element step uses sub-block 4b + l / 8 (int16 lane l = elements 2l,
        // 2l + 1).
        __m512i idx[4];
        for (int b = 0; b < 4; ++b) {
            alignas(64) int16_t v[32];
            for (int l = 0; l < 32; ++l) v[l] = static_cast<int16_t>(4 * b + l / 8);
            idx[b] = _mm512_load_si512(v);
        }
        ScaledSums<NY> sums;
        for (int h = 0; h < 2; ++h) {
            const __m512i ql = load512(x.ql + 64 * h);
            // The half's 32 qh bytes in both halves, the upper one shifted down by 2 bits.
            const __m512i qhb = _mm512_broadcast_i64x4(load256(x.qh + 32 * h));
            const __m512i qhz = _mm512_mask_srli_epi16(qhb, 0xFFFF0000u, qhb, 2);
            const __m512i q01 = _mm512_or_si512(_mm512_and_si512(ql, m4),
                                                _mm512_and_si512(_mm512_slli_epi16(qhz, 4), m30));
            const __m512i q23 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), m4),
                                                _mm512_and_si512(qhz, m30));
            const __m512i sv01 = _mm512_permutexvar_epi16(idx[2 * h], sc512);
            const __m512i sv23 = _mm512_permutexvar_epi16(idx[2 * h + 1], sc512);
            for (int t = 0; t < NY; ++t) {
                const int8_t* aq = ay[t][i].qs + 128 * h;
                sums.add(t, 2 * h, _mm512_maddubs_epi16(q01, load512(aq)), sv01);
                sums.add(t, 2 * h + 1, _mm512_maddubs_epi16(q23, load512(aq + 64)), sv23);
            }
        }
        for (int t = 0; t < NY; ++t) sumi[t] = sums.total(t);
    }

    // 5..8 tokens: the per-token tail of run (correction, convert, scale) becomes one
    // transposing reduction per super-block (lane = token), as in GemmQ45K::run_wide.
    template <int NY>
    static void run_wide(int64_t n, const void* w, size_t bw, int64_t nr, const void* a, size_t ba,
                         float* y, size_t by) {
        const int64_t nb = n / kQK_K;
        const BlockQ8_K* ay[NY];
        for (int t = 0; t < NY; ++t) ay[t] = x86::row<BlockQ8_K>(a, ba, t);
        const x86::TokenScales<NY> ds(ay, nb);
        wide_rows<NY, BlockQ6_K>(nb, w, bw, nr, y, by, [&](const BlockQ6_K& x, int64_t i, __m256 acc) {
            const __m256i sc16 =
                _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x.scales)));
            __m512i sumi[NY];
            block_sums<NY>(x, _mm512_zextsi256_si512(sc16), ay, i, sumi);
            // Each token's sums less 32 * sum(scale_s * bsum_s).
            for (int t = 0; t < NY; ++t) {
                const __m256i corr =
                    _mm256_slli_epi32(_mm256_madd_epi16(load256(ay[t][i].bsums), sc16), 5);
                sumi[t] = _mm512_sub_epi32(sumi[t], _mm512_zextsi256_si512(corr));
            }
            return _mm256_fmadd_ps(token_sums<NY>(sumi),
                                   _mm256_mul_ps(ds.get(i), _mm256_set1_ps(f16(x.d))), acc);
        });
    }

    template <int NY>
    static void run(int64_t n, const void* w, size_t bw, int64_t nr, const void* a, size_t ba,
                    float* y, size_t by) {
        if constexpr (NY >= 5) {
            run_wide<NY>(n, w, bw, nr, a, ba, y, by);
            return;
        }
        const int64_t nb = n / kQK_K;
        const BlockQ8_K* ay[NY];
        for (int t = 0; t < NY; ++t) ay[t] = x86::row<BlockQ8_K>(a, ba, t);
        narrow_rows<NY, BlockQ6_K>(nb, w, bw, nr, y, by,
                                   [&](const BlockQ6_K& x, int64_t i, __m512* acc, __m256*) {
            const __m256i sc16 =
                _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x.scales)));
            __m512i sumi[NY];
            block_sums<NY>(x, _mm512_zextsi256_si512(sc16), ay, i, sumi);
            const float d = f16(x.d);
            for (int t = 0; t < NY; ++t) {
                const __m256i corr =
                    _mm256_slli_epi32(_mm256_madd_epi16(load256(ay[t][i].bsums), sc16), 5);
                const __m512i v = _mm512_sub_epi32(sumi[t], _mm512_zextsi256_si512(corr));
                acc[t] =
                    _mm512_fmadd_ps(_mm512_cvtepi32_ps(v), _mm512_set1_ps(d * ay[t][i].d), acc[t]);
            }
        });
    }
};

// Q2_K (kThird = false) and Q3_K (kThird = true): per 128-element half h, the 32 qs bytes
// 32h..32h+31 hold four 32-element runs (run k in bits 2k..2k+1); step 2h + m covers runs 2m
// (lower 256 bits) and 2m + 1 (upper), sub-blocks 8h + 4m .. 8h + 4m + 3 of 16 elements. Q3_K
// adds a third bit from hmask (bit 4h + k of byte l; clear means 4 lower) and uses the levels
// unsigned (0..7), subtracting 4 * sum(scale_s * bsum_s) afterwards; Q2_K subtracts
// dmin * sum(min_s * bsum_s).
template <bool kThird>
struct GemmQ23K {
    using Block = std::conditional_t<kThird, BlockQ3_K, BlockQ2_K>;

    // The 16 sub-block scales as int16: Q2_K's low nibbles; Q3_K's 6-bit values less 32 (low
    // 4 bits from the nibbles of bytes 0..7, the top 2 from the bit pairs of bytes 8..11).
    static __m256i scales(const Block& b) {
        if constexpr (kThird) {
            const __m128i v = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(b.scales));
            const __m128i m4 = _mm_set1_epi8(0xF);
            const __m128i low =
                _mm_unpacklo_epi64(_mm_and_si128(v, m4), _mm_and_si128(_mm_srli_epi16(v, 4), m4));
            int32_t top_bytes;
            std::memcpy(&top_bytes, b.scales + 8, 4);
            // Dword i holds bit pair i of bytes 8..11: scales 4i..4i + 3.
            const __m128i top = _mm_and_si128(
                _mm_srlv_epi32(_mm_set1_epi32(top_bytes), _mm_setr_epi32(0, 2, 4, 6)),
                _mm_set1_epi8(3));
            return _mm256_cvtepi8_epi16(_mm_sub_epi8(
                _mm_or_si128(low, _mm_slli_epi16(top, 4)), _mm_set1_epi8(32)));
        } else {
            const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.scales));
            return _mm256_cvtepu8_epi16(_mm_and_si128(v, _mm_set1_epi8(0xF)));
        }
    }
    // What the activation bsums are multiplied by for the offset: Q2_K's mins, Q3_K's scales.
    static __m256i offsets(const Block& b, __m256i sc16) {
        if constexpr (kThird) {
            return sc16;
        } else {
            const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.scales));
            return _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(v, 4), _mm_set1_epi8(0xF)));
        }
    }

    // sumi[t] = the sub-block-scaled int32 dot products of super-block i's levels (unsigned
    // for Q3_K) with token t's activations (sc512: the 16 scales as int16 in the lower 256
    // bits); offsets not applied.
    template <int NY>
    static void block_sums(const Block& x, __m512i sc512, const BlockQ8_K* const* ay, int64_t i,
                           __m512i* sumi) {
        const __m512i m3 = _mm512_set1_epi8(3);
        // Lane l of step b uses sub-block 4b + l / 8 (int16 lane l = elements 2l, 2l + 1).
        __m512i idx[4];
        for (int b = 0; b < 4; ++b) {
            alignas(64) int16_t v[32];
            for (int l = 0; l < 32; ++l) v[l] = static_cast<int16_t>(4 * b + l / 8);
            idx[b] = _mm512_load_si512(v);
        }
        __m512i hm, four;
        if constexpr (kThird) {
            hm = _mm512_broadcast_i64x4(load256(x.hmask));
            four = _mm512_set1_epi8(4);
        }
        ScaledSums<NY> sums;
        for (int step = 0; step < 4; ++step) {
            const int h = step / 2, m = step % 2;
            // The half's 32 bytes in both halves, the upper one shifted down by one run.
            const __m512i qb = _mm512_broadcast_i64x4(load256(x.qs + 32 * h));
            const __m512i bits = _mm512_mask_srli_epi16(qb, 0xFFFF0000u, qb, 2);
            __m512i q = _mm512_and_si512(_mm512_srli_epi16(bits, 4 * m), m3);
            if constexpr (kThird) {
                const __m512i sel = _mm512_inserti64x4(
                    _mm512_set1_epi8(static_cast<char>(1 << (4 * h + 2 * m))),
                    _mm256_set1_epi8(static_cast<char>(1 << (4 * h + 2 * m + 1))), 1);
                q = _mm512_mask_add_epi8(q, _mm512_test_epi8_mask(hm, sel), q, four);
            }
            const __m512i sv = _mm512_permutexvar_epi16(idx[step], sc512);
            for (int t = 0; t < NY; ++t)
                sums.add(t, step, _mm512_maddubs_epi16(q, load512(ay[t][i].qs + 64 * step)), sv);
        }
        for (int t = 0; t < NY; ++t) sumi[t] = sums.total(t);
    }

    // 5..8 tokens: the tokens' sums (and Q2_K's min corrections) reduced together per
    // super-block (lane = token).
    template <int NY>
    static void run_wide(int64_t n, const void* w, size_t bw, int64_t nr, const void* a,
                         size_t ba, float* y, size_t by) {
        const int64_t nb = n / kQK_K;
        const BlockQ8_K* ay[NY];
        for (int t = 0; t < NY; ++t) ay[t] = x86::row<BlockQ8_K>(a, ba, t);
        const x86::TokenScales<NY> ds(ay, nb);
        wide_rows<NY, Block>(nb, w, bw, nr, y, by, [&](const Block& x, int64_t i, __m256 acc) {
            const __m256i sc16 = scales(x);
            const __m256i offs = offsets(x, sc16);
            __m512i sumi[NY];
            block_sums<NY>(x, _mm512_zextsi256_si512(sc16), ay, i, sumi);
            __m256i c8[8];
            for (int t = 0; t < 8; ++t) {
                c8[t] = t < NY ? _mm256_madd_epi16(load256(ay[t][i].bsums), offs)
                               : _mm256_setzero_si256();
                if constexpr (kThird)
                    if (t < NY)
                        sumi[t] = _mm512_sub_epi32(
                            sumi[t], _mm512_zextsi256_si512(_mm256_slli_epi32(c8[t], 2)));
            }
            const __m256 si = token_sums<NY>(sumi);
            if constexpr (kThird) {
                return _mm256_fmadd_ps(si, _mm256_mul_ps(ds.get(i), _mm256_set1_ps(f16(x.d))), acc);
            } else {
                const __m256 mc = _mm256_cvtepi32_ps(x86::hsum8_epi32(c8));
                return x86::add_scaled_k4(acc, si, mc, ds.get(i), x);
            }
        });
    }

    template <int NY>
    static void run(int64_t n, const void* w, size_t bw, int64_t nr, const void* a, size_t ba,
                    float* y, size_t by) {
        if constexpr (NY >= 5) {
            run_wide<NY>(n, w, bw, nr, a, ba, y, by);
            return;
        }
        const int64_t nb = n / kQK_K;
        const BlockQ8_K* ay[NY];
        for (int t = 0; t < NY; ++t) ay[t] = x86::row<BlockQ8_K>(a, ba, t);
        narrow_rows<NY, Block>(nb, w, bw, nr, y, by,
                               [&](const Block& x, int64_t i, __m512* acc, __m256* accm) {
            const __m256i sc16 = scales(x);
            const __m256i offs = offsets(x, sc16);
            __m512i sumi[NY];
            block_sums<NY>(x, _mm512_zextsi256_si512(sc16), ay, i, sumi);
            const float d = f16(x.d);
            for (int t = 0; t < NY; ++t) {
                const __m256i corr = _mm256_madd_epi16(load256(ay[t][i].bsums), offs);
                const float d8 = ay[t][i].d;
                if constexpr (kThird) {
                    const __m512i v = _mm512_sub_epi32(
                        sumi[t], _mm512_zextsi256_si512(_mm256_slli_epi32(corr, 2)));
                    acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(v), _mm512_set1_ps(d * d8), acc[t]);
                } else {
                    acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sumi[t]), _mm512_set1_ps(d * d8),
                                             acc[t]);
                    accm[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(corr),
                                              _mm256_set1_ps(f16(x.dmin) * d8), accm[t]);
                }
            }
        });
    }
};

using GemmQ2K = GemmQ23K<false>;
using GemmQ3K = GemmQ23K<true>;

// IQ4_XS: 8 sub-blocks of 32 IQ4_NL levels (signed table values; qs bytes 16s..16s+15 hold
// elements 0..15 of sub-block s in their low nibbles, 16..31 in their high nibbles) with 6-bit
// scales biased by 32. Step j covers sub-blocks 2j and 2j + 1. maddubs needs an unsigned side:
// it takes the levels' magnitudes, and the activations negated where the level is negative.
struct GemmIQ4XS {
    // The 8 sub-block scales as int16 in every 128-bit lane: low 4 bits from the nibbles of
    // scales_l, top 2 from the bit pairs of scales_h, each brought into place by a multiply.
    static __m512i scales(const BlockIQ4_XS& x) {
        uint32_t l;
        std::memcpy(&l, x.scales_l, 4);
        const __m128i lb = _mm_shuffle_epi8(
            _mm_cvtsi32_si128(static_cast<int>(l)),
            _mm_setr_epi8(0, -1, 0, -1, 1, -1, 1, -1, 2, -1, 2, -1, 3, -1, 3, -1));
        const __m128i lo = _mm_and_si128(
            _mm_srli_epi16(_mm_mullo_epi16(lb, _mm_setr_epi16(16, 1, 16, 1, 16, 1, 16, 1)), 4),
            _mm_set1_epi16(0xF));
        const __m128i hi = _mm_srli_epi16(
            _mm_mullo_epi16(_mm_set1_epi16(static_cast<int16_t>(x.scales_h)),
                            _mm_setr_epi16(1 << 14, 1 << 12, 1 << 10, 1 << 8, 1 << 6, 1 << 4,
                                           1 << 2, 1)),
            14);
        return _mm512_broadcast_i32x4(
            _mm_sub_epi16(_mm_or_si128(lo, _mm_slli_epi16(hi, 4)), _mm_set1_epi16(32)));
    }

    template <int NY>
    static void block_sums(const BlockIQ4_XS& x, const BlockQ8_K* const* ay, int64_t i,
                           __m512i* sumi) {
        const __m512i table = _mm512_broadcast_i32x4(_mm_setr_epi8(
            -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113));
        const __m512i m4 = _mm512_set1_epi8(0xF), zero = _mm512_setzero_si512();
        const __m512i sc = scales(x);
        ScaledSums<NY> sums;
        for (int j = 0; j < 4; ++j) {
            // 128-bit lanes: sub-block 2j's 16 bytes twice, then 2j + 1's twice; the second
            // copy of each shifted down a nibble.
            const __m512i b = _mm512_castsi256_si512(load256(x.qs + 32 * j));
            const __m512i bb = _mm512_shuffle_i32x4(b, b, _MM_SHUFFLE(1, 1, 0, 0));
            const __m512i v = _mm512_shuffle_epi8(
                table, _mm512_and_si512(_mm512_mask_srli_epi16(bb, 0xFF00FF00u, bb, 4), m4));
            const __m512i mag = _mm512_abs_epi8(v);
            const __mmask64 neg = _mm512_movepi8_mask(v);
            // Scale 2j in the lower 256 bits, 2j + 1 in the upper.
            const __m512i pick = _mm512_inserti64x4(
                _mm512_castsi256_si512(
                    _mm256_set1_epi16(static_cast<int16_t>((4 * j) | ((4 * j + 1) << 8)))),
                _mm256_set1_epi16(static_cast<int16_t>((4 * j + 2) | ((4 * j + 3) << 8))), 1);
            const __m512i sv = _mm512_shuffle_epi8(sc, pick);
            for (int t = 0; t < NY; ++t) {
                const __m512i av = load512(ay[t][i].qs + 64 * j);
                sums.add(t, j, _mm512_maddubs_epi16(mag, _mm512_mask_sub_epi8(av, neg, zero, av)),
                         sv);
            }
        }
        for (int t = 0; t < NY; ++t) sumi[t] = sums.total(t);
    }

    // 5..8 tokens: the tokens' sums reduced together per super-block (lane = token).
    template <int NY>
    static void run_wide(int64_t n, const void* w, size_t bw, int64_t nr, const void* a,
                         size_t ba, float* y, size_t by) {
        const int64_t nb = n / kQK_K;
        const BlockQ8_K* ay[NY];
        for (int t = 0; t < NY; ++t) ay[t] = x86::row<BlockQ8_K>(a, ba, t);
        const x86::TokenScales<NY> ds(ay, nb);
        wide_rows<NY, BlockIQ4_XS>(nb, w, bw, nr, y, by,
                                   [&](const BlockIQ4_XS& x, int64_t i, __m256 acc) {
            __m512i sumi[NY];
            block_sums<NY>(x, ay, i, sumi);
            return _mm256_fmadd_ps(token_sums<NY>(sumi),
                                   _mm256_mul_ps(ds.get(i), _mm256_set1_ps(f16(x.d))), acc);
        });
    }

    template <int NY>
    static void run(int64_t n, const void* w, size_t bw, int64_t nr, const void* a, size_t ba,
                    float* y, size_t by) {
        if constexpr (NY >= 5) {
            run_wide<NY>(n, w, bw, nr, a, ba, y, by);
            return;
        }
        const int64_t nb = n / kQK_K;
        const BlockQ8_K* ay[NY];
        for (int t = 0; t < NY; ++t) ay[t] = x86::row<BlockQ8_K>(a, ba, t);
        narrow_rows<NY, BlockIQ4_XS>(nb, w, bw, nr, y, by,
                                     [&](const BlockIQ4_XS& x, int64_t i, __m512* acc, __m256*) {
            __m512i sumi[NY];
            block_sums<NY>(x, ay, i, sumi);
            const float d = f16(x.d);
            for (int t = 0; t < NY; ++t)
                acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sumi[t]), _mm512_set1_ps(d * ay[t][i].d),
                                         acc[t]);
        });
    }
};

using GemmQ4K = GemmQ45K<BlockQ4_K, false>;
using GemmQ5K = GemmQ45K<BlockQ5_K, true>;

// The packed K-quant kernels' core for super-block i of NG groups (group g's at sb + g *
// stride): sums[g][t] (lane r = row r of group g) = sum over the kSubs sub-blocks s of
// scale[s][r] * (row r's levels of s . token t's bytes of s), levels stored as in PackedQ45K
// (q[s][c][r][4], QK_K / kSubs / 4 dwords c per sub-block) and scales as int32 per row right
// after them. Each sub-block's integer dot product is scaled in float, one cvt and one fma (an
// int32 vpmulld is two uops on the port vpdpbusd needs on Intel cores): exact while the sums
// stay below 2^24, as they do but for extreme rows, and 4-7% faster for Q4_K.
template <int NG, int NY, int kSubs>
inline void scaled_sums(const uint8_t* sb, size_t stride, const BlockQ8_K* const* ay, int64_t i,
                        __m512 (*sums)[NY]) {
    constexpr int kSteps = kQK_K / kSubs / 4, kRows = kPackRows;
    constexpr size_t kScaleAt = size_t(kQK_K) * kRows;  // the levels' bytes
    for (int g = 0; g < NG; ++g)
        for (int t = 0; t < NY; ++t) sums[g][t] = _mm512_setzero_ps();
    for (int sub = 0; sub < kSubs; ++sub) {
        __m512i part[NG][NY];
        for (int g = 0; g < NG; ++g)
            for (int t = 0; t < NY; ++t) part[g][t] = _mm512_setzero_si512();
#pragma GCC unroll 8
        for (int c = 0; c < kSteps; ++c) {
            __m512i q[NG];
            for (int g = 0; g < NG; ++g)
                q[g] = load512(sb + g * stride + (sub * kSteps + c) * kRows * 4);
            for (int t = 0; t < NY; ++t) {
                const __m512i a = broadcast_dword(ay[t][i].qs + 4 * kSteps * sub + 4 * c);
                for (int g = 0; g < NG; ++g) part[g][t] = _mm512_dpbusd_epi32(part[g][t], q[g], a);
            }
        }
        for (int g = 0; g < NG; ++g) {
            const __m512 sc =
                _mm512_cvtepi32_ps(load512(sb + g * stride + kScaleAt + sub * kRows * 4));
            for (int t = 0; t < NY; ++t)
                sums[g][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(part[g][t]), sc, sums[g][t]);
        }
    }
}

// The rows' mins . token a's sub-block sums (lane r = row r), mins[k] holding each row's mins
// 2k and 2k + 1 as an int16 pair, a's bsums as quantize_row_q8_K_paired leaves them (the
// sub-block sums already in int16 pairs).
inline __m512i mins_dot_k4(const __m512i* mins, const BlockQ8_K& a) {
    __m512i mi = _mm512_setzero_si512();
    for (int k = 0; k < 4; ++k)
        mi = _mm512_dpwssd_epi32(mi, mins[k], broadcast_dword(a.bsums + 2 * k));
    return mi;
}

// The end of a rows-in-lanes Q4_K/Q5_K super-block for one token of scale a_d (lane r = row
// r): acc + a_d * (d * sums - dmin * mi), mi from mins_dot_k4.
inline __m512 add_scaled_rows_k4(__m512 acc, __m512 sums, __m512i mi, __m512 d, __m512 dmin,
                                 float a_d) {
    const __m512 dt = _mm512_set1_ps(a_d);
    acc = _mm512_fmadd_ps(sums, _mm512_mul_ps(d, dt), acc);
    return _mm512_fnmadd_ps(_mm512_cvtepi32_ps(mi), _mm512_mul_ps(dmin, dt), acc);
}

// Q4_K batches with the rows in lanes: kPackRows rows are packed once per matmul (pack), so
// that one 512-bit vector holds 4 consecutive levels of each of 16 rows and one vpdpbusd with a
// broadcast activation dword advances all 16 rows' sums; the sub-block scales then cost one
// multiply per 8 vpdpbusd instead of one vpdpwssd per step, and the sums need no reduction.
// Per super-block of the 16 rows (kBlockBytes):
//   q[s][c][r][4]  levels 4c..4c+3 of sub-block s of row r (unsigned bytes 0..15), 4096 bytes;
//   scale[s][r]    int32 sub-block scales, 512 bytes;
//   mins[k][r]     mins 2k and 2k + 1 of row r as an int16 pair (for vpdpwssd against the
//                  pair of a token's sub-block sums, which quantize_row_q8_K_paired puts in
//                  the activations once per matmul), 256 bytes;
//   d[r], dmin[r]  floats, 128 bytes.
// Q5_K (kHigh) packs the same way, its levels 0..31 taking the fifth bit from qh.
template <typename Block, bool kHigh>
struct PackedQ45K {
    static constexpr int64_t kRows = kPackRows;
    static constexpr int kGroups = 2;  // groups per pass (packed_gemm)
    static constexpr size_t kLevelBytes = 8 * 8 * kRows * 4, kScaleBytes = 8 * kRows * 4;
    static constexpr size_t kMinBytes = 4 * kRows * 4;
    static constexpr size_t kBlockBytes = kLevelBytes + kScaleBytes + kMinBytes + 2 * kRows * 4;
    static_assert(kLevelBytes == size_t(kQK_K) * kRows, "scaled_sums: the scales follow");

    static size_t bytes(int64_t n) { return static_cast<size_t>(n / kQK_K) * kBlockBytes; }

    static void pack(int64_t n, const void* w, size_t bw, void* dst) {
        const int64_t nb = n / kQK_K;
        const __m512i m4 = _mm512_set1_epi8(0xF), one = _mm512_set1_epi8(1);
        auto* out = static_cast<uint8_t*>(dst);
        for (int64_t i = 0; i < nb; ++i) {
            const uint8_t* blocks = static_cast<const uint8_t*>(w) + i * sizeof(Block);  // row 0's
            uint8_t* sb = out + i * kBlockBytes;
            // Q5_K: qh byte l holds the fifth bit of element l of sub-block s in bit s.
            __m512i high[8];
            if constexpr (kHigh) {
                __m256i rows[kRows];
                load_rows16(blocks + offsetof(Block, qh), bw, rows);
                transpose16x8_epi32(rows, high);
            }
            // Step j's 32 bytes per row: sub-block 2j in the low nibbles, 2j + 1 in the high.
            for (int j = 0; j < 4; ++j) {
                __m256i rows[kRows];
                load_rows16(blocks + offsetof(Block, qs) + 32 * j, bw, rows);
                __m512i cols[8];
                transpose16x8_epi32(rows, cols);
                for (int c = 0; c < 8; ++c) {
                    __m512i lo = _mm512_and_si512(cols[c], m4);
                    __m512i hi = _mm512_and_si512(_mm512_srli_epi16(cols[c], 4), m4);
                    if constexpr (kHigh) {
                        const __m512i h = _mm512_srli_epi16(high[c], 2 * j);
                        lo = _mm512_or_si512(lo, _mm512_slli_epi16(_mm512_and_si512(h, one), 4));
                        hi = _mm512_or_si512(
                            hi, _mm512_slli_epi16(_mm512_and_si512(_mm512_srli_epi16(h, 1), one), 4));
                    }
                    _mm512_storeu_si512(sb + (2 * j * 8 + c) * kRows * 4, lo);
                    _mm512_storeu_si512(sb + ((2 * j + 1) * 8 + c) * kRows * 4, hi);
                }
            }
            __m256i sc[kRows], mn[kRows];
            alignas(64) float d[2 * kRows];
            for_rows16(blocks, bw, [&](int r, const uint8_t* b) {
                const Block& x = *reinterpret_cast<const Block*>(b);
                const __m128i sm = x86::scales_mins_k4(x.scales);
                sc[r] = _mm256_cvtepu8_epi32(sm);
                mn[r] = _mm256_cvtepu8_epi32(_mm_srli_si128(sm, 8));
                const __m128 dd = x86::d_dmin(x);
                d[r] = _mm_cvtss_f32(dd);
                d[kRows + r] = _mm_cvtss_f32(_mm_movehdup_ps(dd));
            });
            __m512i v[8];
            transpose16x8_epi32(sc, v);
            for (int k = 0; k < 8; ++k) _mm512_storeu_si512(sb + kLevelBytes + k * kRows * 4, v[k]);
            transpose16x8_epi32(mn, v);
            for (int k = 0; k < 4; ++k)
                _mm512_storeu_si512(sb + kLevelBytes + kScaleBytes + k * kRows * 4,
                                    _mm512_or_si512(v[2 * k], _mm512_slli_epi32(v[2 * k + 1], 16)));
            std::memcpy(sb + kLevelBytes + kScaleBytes + kMinBytes, d, sizeof(d));
        }
    }

    // NG groups (packed one after another) and NY tokens: y[t * by + 16g + r] for row r of
    // group g (lane r of each vector).
    template <int NG, int NY>
    static void run(int64_t nb, const uint8_t* packed, const BlockQ8_K* const* ay, float* y,
                    size_t by) {
        const size_t stride = static_cast<size_t>(nb) * kBlockBytes;
        __m512 acc[NG][NY];
        for (int g = 0; g < NG; ++g)
            for (int t = 0; t < NY; ++t) acc[g][t] = _mm512_setzero_ps();
        for (int64_t i = 0; i < nb; ++i) {
            const uint8_t* sb = packed + i * kBlockBytes;
            __m512 sums[NG][NY];
            scaled_sums<NG, NY, 8>(sb, stride, ay, i, sums);
            for (int g = 0; g < NG; ++g) {
                const uint8_t* mins = sb + g * stride + kLevelBytes + kScaleBytes;
                const auto* dd = reinterpret_cast<const float*>(mins + kMinBytes);
                const __m512 d = _mm512_loadu_ps(dd), dmin = _mm512_loadu_ps(dd + kRows);
                __m512i min_pairs[4];
                for (int k = 0; k < 4; ++k) min_pairs[k] = load512(mins + k * kRows * 4);
                for (int t = 0; t < NY; ++t)
                    acc[g][t] = add_scaled_rows_k4(acc[g][t], sums[g][t],
                                                   mins_dot_k4(min_pairs, ay[t][i]), d, dmin,
                                                   ay[t][i].d);
            }
        }
        for (int g = 0; g < NG; ++g)
            for (int t = 0; t < NY; ++t) _mm512_storeu_ps(y + t * by + g * kRows, acc[g][t]);
    }
};

using PackedQ4K = PackedQ45K<BlockQ4_K, false>;
using PackedQ5K = PackedQ45K<BlockQ5_K, true>;

// IQ4_XS batches in PackedQ4K's layout, so that they take its gemm: each level stored as its
// table value plus 128 (1..241, vpdpbusd's unsigned side), the sub-block scales ls - 32 both
// as the scales and as the "mins", and dmin = 128 d, which takes back off the 128 * scale *
// sub-block sum of the activations that the bias adds.
struct PackedIQ4XS {
    using P = PackedQ4K;
    static constexpr int64_t kRows = P::kRows;

    static void pack(int64_t n, const void* w, size_t bw, void* dst) {
        const int64_t nb = n / kQK_K;
        const __m256i table = _mm256_broadcastsi128_si256(_mm_setr_epi8(
            -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113));
        const __m256i m4 = _mm256_set1_epi8(0xF), bias = _mm256_set1_epi8(static_cast<char>(0x80));
        auto* out = static_cast<uint8_t*>(dst);
        for (int64_t i = 0; i < nb; ++i) {
            const uint8_t* blocks = static_cast<const uint8_t*>(w) + i * sizeof(BlockIQ4_XS);
            uint8_t* sb = out + i * P::kBlockBytes;
            for (int s = 0; s < 8; ++s) {
                __m256i rows[kRows];
                for_rows16(blocks + offsetof(BlockIQ4_XS, qs) + 16 * s, bw,
                           [&](int r, const uint8_t* q) {
                    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q));
                    const __m256i nib =
                        _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(b, 4), b), m4);
                    rows[r] = _mm256_xor_si256(_mm256_shuffle_epi8(table, nib), bias);
                });
                __m512i cols[8];
                transpose16x8_epi32(rows, cols);
                for (int c = 0; c < 8; ++c)
                    _mm512_storeu_si512(sb + (s * 8 + c) * kRows * 4, cols[c]);
            }
            __m256i sc[kRows];
            alignas(64) float d[2 * kRows];
            for_rows16(blocks, bw, [&](int r, const uint8_t* b) {
                const BlockIQ4_XS& x = *reinterpret_cast<const BlockIQ4_XS*>(b);
                sc[r] = _mm256_cvtepi16_epi32(_mm512_castsi512_si128(GemmIQ4XS::scales(x)));
                d[r] = f16(x.d);
                d[kRows + r] = 128.0f * d[r];
            });
            __m512i v[8];
            transpose16x8_epi32(sc, v);
            uint8_t* scales = sb + P::kLevelBytes;
            for (int k = 0; k < 8; ++k) _mm512_storeu_si512(scales + k * kRows * 4, v[k]);
            // Signed pairs: the low half masked, or its sign bits would cover the high one.
            const __m512i low = _mm512_set1_epi32(0xFFFF);
            for (int k = 0; k < 4; ++k)
                _mm512_storeu_si512(scales + P::kScaleBytes + k * kRows * 4,
                                    _mm512_or_si512(_mm512_and_si512(v[2 * k], low),
                                                    _mm512_slli_epi32(v[2 * k + 1], 16)));
            std::memcpy(scales + P::kScaleBytes + P::kMinBytes, d, sizeof(d));
        }
    }
};

// Q6_K batches with the rows in lanes, as PackedQ4K. Per super-block of the 16 rows:
//   q[s][c][r][4]  levels 4c..4c+3 of 16-element sub-block s of row r (unsigned 0..63), 4096
//                  bytes;
//   scale[s][r]    int32 sub-block scales, 1024 bytes;
//   pairs[k][r]    scales 2k and 2k + 1 as an int16 pair (for the -32 offset, by vpdpwssd
//                  against a pair of the token's bsums), 512 bytes;
//   d[r]           floats, 64 bytes.
struct PackedQ6K {
    static constexpr int64_t kRows = kPackRows;
    // One group per pass (packed_gemm): its 16 sub-blocks of 4 steps leave too few vpdpbusd
    // per sub-block to carry a pair's 16 sums (10% slower so).
    static constexpr int kGroups = 1;
    static constexpr size_t kLevelBytes = 16 * 4 * kRows * 4, kScaleBytes = 16 * kRows * 4;
    static constexpr size_t kPairBytes = 8 * kRows * 4;
    static constexpr size_t kBlockBytes = kLevelBytes + kScaleBytes + kPairBytes + kRows * 4;
    static_assert(kLevelBytes == size_t(kQK_K) * kRows, "scaled_sums: the scales follow");

    static size_t bytes(int64_t n) { return static_cast<size_t>(n / kQK_K) * kBlockBytes; }

    // Super-block sb's levels from the 16 rows' blocks at blocks, bw bytes apart: level(h, k,
    // b) gives the block at b's 32 levels of half h, run k (elements 128h + 32k .. + 31) as
    // bytes 0..63.
    template <typename Level>
    static void store_levels(const uint8_t* blocks, size_t bw, uint8_t* sb, Level level) {
        for (int h = 0; h < 2; ++h) {
            for (int k = 0; k < 4; ++k) {
                __m256i rows[kRows];
                for_rows16(blocks, bw, [&](int r, const uint8_t* b) { rows[r] = level(h, k, b); });
                __m512i cols[8];
                transpose16x8_epi32(rows, cols);
                // Dword c of the run: sub-block 8h + 2k + c / 4, dword c % 4 of it.
                for (int c = 0; c < 8; ++c)
                    _mm512_storeu_si512(sb + ((8 * h + 2 * k + c / 4) * 4 + c % 4) * kRows * 4,
                                        cols[c]);
            }
        }
    }

    // The rest of super-block sb: scales(b, lo, hi) gives the block at b's sub-block scales
    // 0..7 and 8..15 as int32 and returns its d.
    template <typename Scales>
    static void store_scales_of(const uint8_t* blocks, size_t bw, uint8_t* sb, Scales scales) {
        __m256i lo[kRows], hi[kRows];
        alignas(64) float d[kRows];
        for_rows16(blocks, bw, [&](int r, const uint8_t* b) { d[r] = scales(b, lo[r], hi[r]); });
        __m512i v[16];
        transpose16x8_epi32(lo, v);
        transpose16x8_epi32(hi, v + 8);
        store_scales(sb, v, _mm512_load_ps(d));
    }

    static void pack(int64_t n, const void* w, size_t bw, void* dst) {
        const int64_t nb = n / kQK_K;
        const __m256i m4 = _mm256_set1_epi8(0xF), m3 = _mm256_set1_epi8(3);
        auto* out = static_cast<uint8_t*>(dst);
        for (int64_t i = 0; i < nb; ++i) {
            const uint8_t* blocks = static_cast<const uint8_t*>(w) + i * sizeof(BlockQ6_K);  // row 0's
            uint8_t* sb = out + i * kBlockBytes;
            // Low 4 bits from ql (bytes 0..31 for runs 0 and 2, 32..63 for 1 and 3; high
            // nibbles for runs 2 and 3), top 2 bits from qh bits 2k, 2k + 1.
            store_levels(blocks, bw, sb, [&](int h, int k, const uint8_t* b) {
                const BlockQ6_K& x = *reinterpret_cast<const BlockQ6_K*>(b);
                const __m256i ql = load256(x.ql + 64 * h + 32 * (k & 1));
                const __m256i qh = load256(x.qh + 32 * h);
                const __m256i lo = _mm256_and_si256(k < 2 ? ql : _mm256_srli_epi16(ql, 4), m4);
                const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(qh, 2 * k), m3);
                return _mm256_or_si256(lo, _mm256_slli_epi16(hi, 4));
            });
            store_scales_of(blocks, bw, sb, [](const uint8_t* b, __m256i& lo, __m256i& hi) {
                const BlockQ6_K& x = *reinterpret_cast<const BlockQ6_K*>(b);
                const __m128i sc = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x.scales));
                lo = _mm256_cvtepi8_epi32(sc);
                hi = _mm256_cvtepi8_epi32(_mm_srli_si128(sc, 8));
                return f16(x.d);
            });
        }
    }

    // The part of packed super-block sb after its levels: scale[s] = v[s] (sub-block s's
    // scales of the 16 rows as int32), the int16 pairs made from them, and the rows' d.
    static void store_scales(uint8_t* sb, const __m512i v[16], __m512 d) {
        for (int s = 0; s < 16; ++s) _mm512_storeu_si512(sb + kLevelBytes + s * kRows * 4, v[s]);
        for (int k = 0; k < 8; ++k)
            _mm512_storeu_si512(
                sb + kLevelBytes + kScaleBytes + k * kRows * 4,
                _mm512_or_si512(_mm512_and_si512(v[2 * k], _mm512_set1_epi32(0xFFFF)),
                                _mm512_slli_epi32(v[2 * k + 1], 16)));
        _mm512_storeu_ps(sb + kLevelBytes + kScaleBytes + kPairBytes, d);
    }

    // As PackedQ45K::run, one group at a time (kGroups).
    template <int NG, int NY>
    static void run(int64_t nb, const uint8_t* packed, const BlockQ8_K* const* ay, float* y,
                    size_t by) {
        static_assert(NG == 1);
        __m512 acc[NY];
        for (int t = 0; t < NY; ++t) acc[t] = _mm512_setzero_ps();
        for (int64_t i = 0; i < nb; ++i) {
            const uint8_t* sb = packed + i * kBlockBytes;
            const uint8_t* pairs = sb + kLevelBytes + kScaleBytes;
            __m512 sums[1][NY];
            scaled_sums<1, NY, 16>(sb, 0, ay, i, sums);
            const __m512 d = _mm512_loadu_ps(pairs + kPairBytes);
            for (int t = 0; t < NY; ++t) {
                // The -32 offset: 32 * sum_s scale_s * bsum_s, bsums taken in pairs.
                __m512i off = _mm512_setzero_si512();
                for (int k = 0; k < 8; ++k)
                    off = _mm512_dpwssd_epi32(off, load512(pairs + k * kRows * 4),
                                              broadcast_dword(ay[t][i].bsums + 2 * k));
                const __m512 v =
                    _mm512_fnmadd_ps(_mm512_cvtepi32_ps(off), _mm512_set1_ps(32.0f), sums[0][t]);
                acc[t] = _mm512_fmadd_ps(v, _mm512_mul_ps(d, _mm512_set1_ps(ay[t][i].d)), acc[t]);
            }
        }
        for (int t = 0; t < NY; ++t) _mm512_storeu_ps(y + t * by, acc[t]);
    }
};

// Q3_K batches in PackedQ6K's layout, so that they take its gemm: each level (-4..3) stored
// plus 32, as Q6_K's are (28..35 of its 0..63), and the 6-bit scales less 32 as its signed
// scales. Half h, run k: elements 128h + 32k .. + 31, bits 2k, 2k + 1 of qs bytes 32h .. 32h
// + 31 and bit 4h + k of the hmask bytes (set for the upper four levels).
struct PackedQ3K {
    using P = PackedQ6K;

    static void pack(int64_t n, const void* w, size_t bw, void* dst) {
        const int64_t nb = n / kQK_K;
        const __m256i m3 = _mm256_set1_epi8(3), four = _mm256_set1_epi8(4);
        const __m256i bias = _mm256_set1_epi8(28);  // -4 + 32
        auto* out = static_cast<uint8_t*>(dst);
        for (int64_t i = 0; i < nb; ++i) {
            const uint8_t* blocks = static_cast<const uint8_t*>(w) + i * sizeof(BlockQ3_K);  // row 0's
            uint8_t* sb = out + i * P::kBlockBytes;
            P::store_levels(blocks, bw, sb, [&](int h, int k, const uint8_t* b) {
                const BlockQ3_K& x = *reinterpret_cast<const BlockQ3_K*>(b);
                const __m256i bit = _mm256_set1_epi8(static_cast<char>(1 << (4 * h + k)));
                const __m256i q =
                    _mm256_and_si256(_mm256_srli_epi16(load256(x.qs + 32 * h), 2 * k), m3);
                const __m256i hm = _mm256_and_si256(load256(x.hmask), bit);
                const __m256i high = _mm256_and_si256(_mm256_cmpeq_epi8(hm, bit), four);
                return _mm256_add_epi8(_mm256_add_epi8(q, high), bias);
            });
            P::store_scales_of(blocks, bw, sb, [](const uint8_t* b, __m256i& lo, __m256i& hi) {
                const BlockQ3_K& x = *reinterpret_cast<const BlockQ3_K*>(b);
                const __m256i sc = GemmQ3K::scales(x);
                lo = _mm256_cvtepi16_epi32(_mm256_castsi256_si128(sc));
                hi = _mm256_cvtepi16_epi32(_mm256_extracti128_si256(sc, 1));
                return f16(x.d);
            });
        }
    }
};

// The 6-bit Q4_K/Q5_K scales and mins of a group's 16 rows (interleaved, 12 bytes [k][r]),
// unpacked as bytes [s % 4][r] for sub-blocks s in 0..3 (lo) and 4..7 (hi), as scales_mins_k4
// does for one row.
struct GroupScalesK4 {
    __m512i sc_lo, sc_hi, mn_lo, mn_hi;
    explicit GroupScalesK4(const uint8_t* p) {
        const __m512i m4 = _mm512_set1_epi8(0xF), m6 = _mm512_set1_epi8(63),
                      top = _mm512_set1_epi8(0x30);
        const __m512i a = load512(p), b = load512(p + 64), c = load512(p + 128);
        sc_lo = _mm512_and_si512(a, m6);
        mn_lo = _mm512_and_si512(b, m6);
        sc_hi = _mm512_or_si512(_mm512_and_si512(c, m4),
                                _mm512_and_si512(_mm512_srli_epi16(a, 2), top));
        mn_hi = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(c, 4), m4),
                                _mm512_and_si512(_mm512_srli_epi16(b, 2), top));
    }
    // Sub-block s's scales as int32 (lane r = row r).
    template <int S>
    __m512i scale() const {
        const __m512i v = S < 4 ? sc_lo : sc_hi;
        return _mm512_cvtepu8_epi32(_mm512_extracti32x4_epi32(v, S % 4));
    }
    // Mins 2k and 2k + 1 of each row as an int16 pair (lane r = row r).
    __m512i min_pair(int k, const __m512i* pair_index) const {
        return _mm512_maskz_permutexvar_epi8(kLowBytes, pair_index[k % 2],
                                             k < 2 ? mn_lo : mn_hi);
    }
    // The byte permutes of min_pair: int16 lanes 2r, 2r + 1 take bytes 32h + r and 32h + 16 + r.
    static void pair_index(__m512i* index) {
        for (int h = 0; h < 2; ++h) {
            alignas(64) uint8_t v[64] = {};
            for (int r = 0; r < 16; ++r) {
                v[4 * r] = static_cast<uint8_t>(32 * h + r);
                v[4 * r + 2] = static_cast<uint8_t>(32 * h + 16 + r);
            }
            index[h] = _mm512_load_si512(v);
        }
    }
};

// Q4_K and Q5_K (kHigh) in the interleaved layout (kernels/interleave.h): rows in lanes as in
// PackedQ4K, but with the levels still two to a byte (Q5_K's fifth bits in qh dwords) and the
// scales as stored, so a decode step streams no more bytes than the plain rows while one
// vpdpbusd advances 16 rows.
template <typename Block, bool kHigh>
struct InterleavedQ45K {
    using Packed = PackedQ45K<Block, kHigh>;
    static constexpr int64_t kRows = kInterleaveRows;
    static_assert(kRows == Packed::kRows, "pack turns one group into one packed tile");
    static constexpr size_t kQsBytes = 128 * kRows, kQhBytes = kHigh ? 32 * kRows : 0;
    static constexpr size_t kScaleBytes = 12 * kRows;
    static constexpr size_t kGroupBytes = sizeof(Block) * kRows;
    static_assert(kGroupBytes == kQsBytes + kQhBytes + kScaleBytes + 4 * kRows);
    using Scales = GroupScalesK4;

    // Dword c of step j: the 16 rows' levels of sub-block 2j (lo) and 2j + 1 (hi), their
    // fifth bits (bits 2j and 2j + 1 of qh dword c) added for Q5_K.
    static void levels(const uint8_t* sb, int j, int c, __m512i& lo, __m512i& hi) {
        const __m512i m4 = _mm512_set1_epi8(0xF);
        const __m512i v = load512(sb + (8 * j + c) * kRows * 4);
        lo = _mm512_and_si512(v, m4);
        hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), m4);
        if constexpr (kHigh) {
            const __m512i qh = load512(sb + kQsBytes + c * kRows * 4);
            const __m512i bit = _mm512_set1_epi8(0x10);
            // Bit 2j to bit 4; bit 2j + 1 to bit 4. Within each byte for every j.
            const __m512i h0 = 2 * j <= 4 ? _mm512_slli_epi16(qh, 4 - 2 * j)
                                          : _mm512_srli_epi16(qh, 2 * j - 4);
            const __m512i h1 = 2 * j + 1 <= 4 ? _mm512_slli_epi16(qh, 3 - 2 * j)
                                              : _mm512_srli_epi16(qh, 2 * j - 3);
            lo = _mm512_or_si512(lo, _mm512_and_si512(h0, bit));
            hi = _mm512_or_si512(hi, _mm512_and_si512(h1, bit));
        }
    }

    // levels() for the products of decode: Q4_K's high nibbles stay where they are, as 16 times
    // their level (one and instead of a shift and an and); the 16 is taken off the product.
    static void decode_levels(const uint8_t* sb, int j, int c, __m512i& lo, __m512i& hi) {
        if constexpr (kHigh) {
            levels(sb, j, c, lo, hi);
        } else {
            const __m512i v = load512(sb + (8 * j + c) * kRows * 4);
            lo = _mm512_and_si512(v, _mm512_set1_epi8(0xF));
            hi = _mm512_and_si512(v, _mm512_set1_epi8(static_cast<char>(0xF0)));
        }
    }

    // y[t * by + r] for nr rows (a multiple of kRows) from the group at w, NY tokens.
    template <int NY>
    static void run(int64_t n, const void* w, size_t bw, int64_t nr, const void* a, size_t ba,
                    float* y, size_t by) {
        const int64_t nb = n / kQK_K;
        const BlockQ8_K* ay[NY];
        for (int t = 0; t < NY; ++t) ay[t] = x86::row<BlockQ8_K>(a, ba, t);
        __m512i pairs_at[2];
        Scales::pair_index(pairs_at);
        interleaved_rows<NY, kGroupBytes>(nb, w, bw, nr, y, by,
                             [&](const uint8_t* sb, int64_t i, __m512* acc) {
                const Scales sc(sb + kQsBytes + kQhBytes);
                __m512i sumi[NY];
                for (int t = 0; t < NY; ++t) sumi[t] = _mm512_setzero_si512();
                // Step j: sub-blocks 2j (low nibbles) and 2j + 1 (high), 8 dwords each.
                auto step = [&](int j, __m512i scale_a, __m512i scale_b) {
                    if constexpr (NY == 1) x86::prefetch_group_part<kGroupBytes, 4>(sb, j);
                    __m512i pa[NY], pb[NY];
                    for (int t = 0; t < NY; ++t) pa[t] = pb[t] = _mm512_setzero_si512();
#pragma GCC unroll 8
                    for (int c = 0; c < 8; ++c) {
                        __m512i lo, hi;
                        decode_levels(sb, j, c, lo, hi);
                        for (int t = 0; t < NY; ++t) {
                            const int8_t* aq = ay[t][i].qs + 64 * j + 4 * c;
                            pa[t] = _mm512_dpbusd_epi32(pa[t], lo, broadcast_dword(aq));
                            pb[t] = _mm512_dpbusd_epi32(pb[t], hi, broadcast_dword(aq + 32));
                        }
                    }
                    for (int t = 0; t < NY; ++t) {
                        // Q4_K's pb is 16 times the sum (decode_levels), exactly: at most
                        // 16 * 32 * 15 * 127 * 63 in magnitude, far from overflow.
                        __m512i b = _mm512_mullo_epi32(pb[t], scale_b);
                        if constexpr (!kHigh) b = _mm512_srai_epi32(b, 4);
                        sumi[t] = _mm512_add_epi32(
                            sumi[t], _mm512_add_epi32(_mm512_mullo_epi32(pa[t], scale_a), b));
                    }
                };
                step(0, sc.scale<0>(), sc.scale<1>());
                step(1, sc.scale<2>(), sc.scale<3>());
                step(2, sc.scale<4>(), sc.scale<5>());
                step(3, sc.scale<6>(), sc.scale<7>());
                __m512i mins[4];
                for (int k = 0; k < 4; ++k) mins[k] = sc.min_pair(k, pairs_at);
                const uint8_t* dp = sb + kQsBytes + kQhBytes + kScaleBytes;
                const __m512 d = _mm512_cvtph_ps(load256(dp));
                const __m512 dmin = _mm512_cvtph_ps(load256(dp + 2 * kRows));
                for (int t = 0; t < NY; ++t)
                    acc[t] = add_scaled_rows_k4(acc[t], _mm512_cvtepi32_ps(sumi[t]),
                                                mins_dot_k4(mins, ay[t][i]), d, dmin,
                                                ay[t][i].d);
        });
    }

    // One group's rows in the packed layout (PackedQ45K), for the batch path.
    static void pack(int64_t n, const void* w, size_t, void* dst) {
        const int64_t nb = n / kQK_K;
        __m512i pairs_at[2];
        Scales::pair_index(pairs_at);
        for (int64_t i = 0; i < nb; ++i) {
            const uint8_t* sb = static_cast<const uint8_t*>(w) + i * kGroupBytes;
            uint8_t* out = static_cast<uint8_t*>(dst) + i * Packed::kBlockBytes;
            for (int j = 0; j < 4; ++j)
                for (int c = 0; c < 8; ++c) {
                    __m512i lo, hi;
                    levels(sb, j, c, lo, hi);
                    _mm512_storeu_si512(out + (2 * j * 8 + c) * kRows * 4, lo);
                    _mm512_storeu_si512(out + ((2 * j + 1) * 8 + c) * kRows * 4, hi);
                }
            const Scales sc(sb + kQsBytes + kQhBytes);
            uint8_t* scale = out + Packed::kLevelBytes;
            const __m512i s[8] = {sc.scale<0>(), sc.scale<1>(), sc.scale<2>(), sc.scale<3>(),
                                  sc.scale<4>(), sc.scale<5>(), sc.scale<6>(), sc.scale<7>()};
            for (int k = 0; k < 8; ++k) _mm512_storeu_si512(scale + k * kRows * 4, s[k]);
            uint8_t* mins = scale + Packed::kScaleBytes;
            for (int k = 0; k < 4; ++k)
                _mm512_storeu_si512(mins + k * kRows * 4, sc.min_pair(k, pairs_at));
            const uint8_t* dp = sb + kQsBytes + kQhBytes + kScaleBytes;
            auto* d = reinterpret_cast<float*>(mins + Packed::kMinBytes);
            _mm512_storeu_ps(d, _mm512_cvtph_ps(load256(dp)));
            _mm512_storeu_ps(d + kRows, _mm512_cvtph_ps(load256(dp + 2 * kRows)));
        }
    }
};

using InterleavedQ4K = InterleavedQ45K<BlockQ4_K, false>;
using InterleavedQ5K = InterleavedQ45K<BlockQ5_K, true>;

// Q6_K in the interleaved layout (kernels/interleave.h): rows in lanes as in PackedQ6K, with
// the levels re-encoded in ql and qh. Half h of a super-block, 32-element run k (elements
// 128h + 32k..), dword c (0..7) of the run: ql dword 16h + c (a) holds run 0's levels and bits
// 0-1 of run 3's in bits 6-7, ql dword 16h + 8 + c (b) run 1's and bits 2-3 of run 3's, qh
// dword 8h + c (q) run 2's and bits 4-5 of run 3's. Dwords 0..3 of a run belong to sub-block
// 8h + 2k, 4..7 to 8h + 2k + 1.
struct InterleavedQ6K {
    static constexpr int64_t kRows = kInterleaveRows;
    static_assert(kRows == PackedQ6K::kRows, "pack turns one group into one packed tile");
    static constexpr size_t kQlBytes = 128 * kRows, kQhBytes = 64 * kRows;
    static constexpr size_t kScaleBytes = 16 * kRows;
    static constexpr size_t kGroupBytes = sizeof(BlockQ6_K) * kRows;

    // The 16 rows' levels (unsigned 0..63) of dword c of run K of half h of the group block sb:
    // runs 0..2 take one and each; run 3 gathers its bits 4-5 (q's bits 6-7), 2-3 (b's) and 0-1
    // (a's) in bits 6-7, 4-5 and 2-3 by two bit selects, then moves them down.
    template <int K>
    static __m512i levels(const uint8_t* sb, int h, int c) {
        const __m512i m6 = _mm512_set1_epi8(63);
        const __m512i a = load512(sb + (16 * h + c) * kRows * 4);
        const __m512i b = load512(sb + (16 * h + 8 + c) * kRows * 4);
        const __m512i q = load512(sb + kQlBytes + (8 * h + c) * kRows * 4);
        if constexpr (K < 3) return _mm512_and_si512(K == 0 ? a : K == 1 ? b : q, m6);
        // Bit select (mask ? x : y) is ternary-logic function 0xCA.
        const __m512i top = _mm512_ternarylogic_epi32(_mm512_set1_epi8(static_cast<char>(0xC0)),
                                                      q, _mm512_srli_epi16(b, 2), 0xCA);
        const __m512i all = _mm512_ternarylogic_epi32(_mm512_set1_epi8(static_cast<char>(0xF0)),
                                                      top, _mm512_srli_epi16(a, 4), 0xCA);
        return _mm512_and_si512(_mm512_srli_epi16(all, 2), m6);
    }
    // Sub-block s's scales as int32 (lane r = row r).
    static __m512i scale(const uint8_t* sb, int s) {
        return _mm512_cvtepi8_epi32(
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(sb + kQlBytes + kQhBytes + 16 * s)));
    }
    static __m512 d(const uint8_t* sb) {
        return _mm512_cvtph_ps(load256(sb + kQlBytes + kQhBytes + kScaleBytes));
    }

    // y[t * by + r] for nr rows (a multiple of kRows) from the group at w, NY tokens.
    template <int NY>
    static void run(int64_t n, const void* w, size_t bw, int64_t nr, const void* a, size_t ba,
                    float* y, size_t by) {
        const int64_t nb = n / kQK_K;
        const BlockQ8_K* ay[NY];
        for (int t = 0; t < NY; ++t) ay[t] = x86::row<BlockQ8_K>(a, ba, t);
        interleaved_rows<NY, kGroupBytes>(nb, w, bw, nr, y, by,
                             [&](const uint8_t* sb, int64_t i, __m512* acc) {
                // Each sub-block's sum starts at -32 times the token's sum over it (the levels'
                // offset), scaled with it.
                alignas(64) int32_t start[NY][16];
                for (int t = 0; t < NY; ++t) {
                    const __m512i bsums = _mm512_cvtepi16_epi32(load256(ay[t][i].bsums));
                    _mm512_store_si512(start[t],
                                       _mm512_mullo_epi32(bsums, _mm512_set1_epi32(-32)));
                }
                __m512i sumi[NY];
                for (int t = 0; t < NY; ++t) sumi[t] = _mm512_setzero_si512();
                // Sub-blocks 8h + 2k + half of runs k = K0..K0 + KN - 1 at once: KN * NY
                // independent vpdpbusd chains.
                auto sub_blocks = [&]<int K0, int KN>(int h, int half) {
                    __m512i p[KN][NY];
                    for (int k = 0; k < KN; ++k)
                        for (int t = 0; t < NY; ++t)
                            p[k][t] = _mm512_set1_epi32(start[t][8 * h + 2 * (K0 + k) + half]);
#pragma GCC unroll 4
                    for (int c4 = 0; c4 < 4; ++c4) {
                        const int c = 4 * half + c4;
                        const __m512i q[4] = {levels<0>(sb, h, c), levels<1>(sb, h, c),
                                              levels<2>(sb, h, c), levels<3>(sb, h, c)};
                        for (int k = 0; k < KN; ++k)
                            for (int t = 0; t < NY; ++t)
                                p[k][t] = _mm512_dpbusd_epi32(
                                    p[k][t], q[K0 + k],
                                    broadcast_dword(ay[t][i].qs + 128 * h + 32 * (K0 + k) +
                                                    4 * c));
                    }
                    for (int k = 0; k < KN; ++k) {
                        const __m512i sc = scale(sb, 8 * h + 2 * (K0 + k) + half);
                        for (int t = 0; t < NY; ++t)
                            sumi[t] = _mm512_add_epi32(sumi[t], _mm512_mullo_epi32(p[k][t], sc));
                    }
                };
                constexpr int kRunsAtOnce = NY <= 2 ? 4 : NY <= 4 ? 2 : 1;
                for (int h = 0; h < 2; ++h)
                    for (int half = 0; half < 2; ++half) {
                        if constexpr (NY == 1)
                            x86::prefetch_group_part<kGroupBytes, 4>(sb, 2 * h + half);
                        if constexpr (kRunsAtOnce == 4) {
                            sub_blocks.template operator()<0, 4>(h, half);
                        } else if constexpr (kRunsAtOnce == 2) {
                            sub_blocks.template operator()<0, 2>(h, half);
                            sub_blocks.template operator()<2, 2>(h, half);
                        } else {
                            sub_blocks.template operator()<0, 1>(h, half);
                            sub_blocks.template operator()<1, 1>(h, half);
                            sub_blocks.template operator()<2, 1>(h, half);
                            sub_blocks.template operator()<3, 1>(h, half);
                        }
                    }
                const __m512 dr = d(sb);
                for (int t = 0; t < NY; ++t) {
                    const __m512 dt = _mm512_mul_ps(dr, _mm512_set1_ps(ay[t][i].d));
                    acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sumi[t]), dt, acc[t]);
                }
        });
    }

    // One group's rows in PackedQ6K's layout, for the batch path.
    static void pack(int64_t n, const void* w, size_t, void* dst) {
        const int64_t nb = n / kQK_K;
        for (int64_t i = 0; i < nb; ++i) {
            const uint8_t* sb = static_cast<const uint8_t*>(w) + i * kGroupBytes;
            uint8_t* out = static_cast<uint8_t*>(dst) + i * PackedQ6K::kBlockBytes;
            // Dword c of run k of half h: dword c % 4 of sub-block 8h + 2k + c / 4.
            auto run_k = [&]<int K>(int h) {
                for (int c = 0; c < 8; ++c)
                    _mm512_storeu_si512(out + ((8 * h + 2 * K + c / 4) * 4 + c % 4) * kRows * 4,
                                        levels<K>(sb, h, c));
            };
            for (int h = 0; h < 2; ++h) {
                run_k.template operator()<0>(h);
                run_k.template operator()<1>(h);
                run_k.template operator()<2>(h);
                run_k.template operator()<3>(h);
            }
            __m512i v[16];
            for (int s = 0; s < 16; ++s) v[s] = scale(sb, s);
            PackedQ6K::store_scales(out, v, d(sb));
        }
    }
};

}  // namespace

float vec_dot_q2_K_q8_K(int64_t n, const void* w, const void* a) {
    return x86::vec_dot_via<GemmQ2K>(n, w, a);
}
void gemm_q2_K_q8_K(int64_t n, const void* w, size_t bw, int64_t nr, const void* a, size_t ba,
                    int ny, float* y, size_t by) {
    x86::gemm_dispatch<GemmQ2K, 8>(n, w, bw, nr, a, ba, ny, y, by);
}
float vec_dot_q3_K_q8_K(int64_t n, const void* w, const void* a) {
    return x86::vec_dot_via<GemmQ3K>(n, w, a);
}
void gemm_q3_K_q8_K(int64_t n, const void* w, size_t bw, int64_t nr, const void* a, size_t ba,
                    int ny, float* y, size_t by) {
    x86::gemm_dispatch<GemmQ3K, 8>(n, w, bw, nr, a, ba, ny, y, by);
}
float vec_dot_q4_K_q8_K(int64_t n, const void* w, const void* a) {
    return x86::vec_dot_via<GemmQ4K>(n, w, a);
}
void gemm_q4_K_q8_K(int64_t n, const void* w, size_t bw, int64_t nr, const void* a, size_t ba,
                    int ny, float* y, size_t by) {
    x86::gemm_dispatch<GemmQ4K, 8>(n, w, bw, nr, a, ba, ny, y, by);
}
size_t packed_bytes_q4_K(int64_t n) { return PackedQ4K::bytes(n); }
void gemm_q4_K_interleaved_q8_K(int64_t n, const void* w, size_t bw, int64_t nr, const void* a,
                                size_t ba, int ny, float* y, size_t by) {
    x86::gemm_dispatch<InterleavedQ4K, 8>(n, w, bw, nr, a, ba, ny, y, by);
}
void pack_q4_K_interleaved(int64_t n, const void* w, size_t bw, void* dst) {
    InterleavedQ4K::pack(n, w, bw, dst);
}
void gemm_q5_K_interleaved_q8_K(int64_t n, const void* w, size_t bw, int64_t nr, const void* a,
                                size_t ba, int ny, float* y, size_t by) {
    x86::gemm_dispatch<InterleavedQ5K, 8>(n, w, bw, nr, a, ba, ny, y, by);
}
void pack_q5_K_interleaved(int64_t n, const void* w, size_t bw, void* dst) {
    InterleavedQ5K::pack(n, w, bw, dst);
}
void pack_q4_K(int64_t n, const void* w, size_t bw, void* dst) { PackedQ4K::pack(n, w, bw, dst); }
void pack_q5_K(int64_t n, const void* w, size_t bw, void* dst) { PackedQ5K::pack(n, w, bw, dst); }
namespace {

// Q8_K as ref quantizes it, in one pass: the largest magnitude in four 16-lane chains, levels
// narrowed with vpmovdb, the block sums by transposing reductions: of each 16 levels, or with
// kPaired of each 32 (quantize_row_q8_K_paired's layout).
template <bool kPaired>
void quantize_q8_K(const float* x, void* dst, int64_t n) {
    auto* y = static_cast<BlockQ8_K*>(dst);
    const __m512i lo = _mm512_set1_epi32(-127), hi = _mm512_set1_epi32(127);
    for (int64_t i = 0; i < n / kQK_K; ++i, x += kQK_K) {
        __m512 m[4];
        for (int j = 0; j < 16; ++j) {
            const __m512 v = _mm512_abs_ps(_mm512_loadu_ps(x + 16 * j));
            m[j % 4] = j < 4 ? v : _mm512_max_ps(m[j % 4], v);
        }
        const __m512 m16 = _mm512_max_ps(_mm512_max_ps(m[0], m[1]), _mm512_max_ps(m[2], m[3]));
        const __m256 m16_hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(m16), 1));
        const __m256 m8 = _mm256_max_ps(_mm512_castps512_ps256(m16), m16_hi);
        __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m8), _mm256_extractf128_ps(m8, 1));
        m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
        const float amax = _mm_cvtss_f32(_mm_max_ss(m4, _mm_movehdup_ps(m4)));
        // As ref: levels round(x * 127 / amax) (to nearest even), d = 1 / that factor.
        const float iscale = amax != 0.0f ? 127.0f / amax : 0.0f;
        y[i].d = amax != 0.0f ? 1.0f / iscale : 0.0f;
        const __m512 s = _mm512_set1_ps(iscale);
        __m512i v[16];  // levels 16j .. 16j + 15
        for (int j = 0; j < 16; ++j) {
            v[j] = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x + 16 * j), s));
            v[j] = _mm512_min_epi32(_mm512_max_epi32(v[j], lo), hi);
            _mm_storeu_si128(reinterpret_cast<__m128i*>(y[i].qs + 16 * j),
                             _mm512_cvtepi32_epi8(v[j]));
        }
        // The sums (at most 32 * 127) as int16, in order: packs leaves sums 0..3 of each
        // half in its qword 0 and 4..7 in qword 2.
        auto store8 = [](int16_t* out, __m256i sums) {
            const __m256i p = _mm256_permute4x64_epi64(_mm256_packs_epi32(sums, sums), 0x08);
            _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm256_castsi256_si128(p));
        };
        if constexpr (kPaired) {
            __m512i sub[8];
            for (int k = 0; k < 8; ++k) sub[k] = _mm512_add_epi32(v[2 * k], v[2 * k + 1]);
            store8(y[i].bsums, hsum8x16_epi32(sub));
            std::fill(y[i].bsums + 8, y[i].bsums + 16, int16_t{0});
        } else {
            store8(y[i].bsums, hsum8x16_epi32(v));
            store8(y[i].bsums + 8, hsum8x16_epi32(v + 8));
        }
    }
}

}  // namespace

void quantize_row_q8_K(const float* x, void* dst, int64_t n) { quantize_q8_K<false>(x, dst, n); }
void quantize_row_q8_K_paired(const float* x, void* dst, int64_t n) {
    quantize_q8_K<true>(x, dst, n);
}
// Q4_K and Q5_K share the packed layout, so one gemm serves both.
void gemm_packed_q4_K_q8_K(int64_t n, const void* packed, int64_t ng, const void* a, size_t ba,
                           int64_t ny, float* y, size_t by) {
    packed_gemm<PackedQ4K, BlockQ8_K>(n / kQK_K, packed, ng, a, ba, ny, y, by);
}
float vec_dot_q5_K_q8_K(int64_t n, const void* w, const void* a) {
    return x86::vec_dot_via<GemmQ5K>(n, w, a);
}
void gemm_q5_K_q8_K(int64_t n, const void* w, size_t bw, int64_t nr, const void* a, size_t ba,
                    int ny, float* y, size_t by) {
    x86::gemm_dispatch<GemmQ5K, 8>(n, w, bw, nr, a, ba, ny, y, by);
}
size_t packed_bytes_q6_K(int64_t n) { return PackedQ6K::bytes(n); }
void pack_q6_K(int64_t n, const void* w, size_t bw, void* dst) { PackedQ6K::pack(n, w, bw, dst); }
void gemm_packed_q6_K_q8_K(int64_t n, const void* packed, int64_t ng, const void* a, size_t ba,
                           int64_t ny, float* y, size_t by) {
    packed_gemm<PackedQ6K, BlockQ8_K>(n / kQK_K, packed, ng, a, ba, ny, y, by);
}
void gemm_q6_K_interleaved_q8_K(int64_t n, const void* w, size_t bw, int64_t nr, const void* a,
                                size_t ba, int ny, float* y, size_t by) {
    x86::gemm_dispatch<InterleavedQ6K, 8>(n, w, bw, nr, a, ba, ny, y, by);
}
void pack_q6_K_interleaved(int64_t n, const void* w, size_t bw, void* dst) {
    InterleavedQ6K::pack(n, w, bw, dst);
}
float vec_dot_q6_K_q8_K(int64_t n, const void* w, const void* a) {
    return x86::vec_dot_via<GemmQ6K>(n, w, a);
}
void gemm_q6_K_q8_K(int64_t n, const void* w, size_t bw, int64_t nr, const void* a, size_t ba,
                    int ny, float* y, size_t by) {
    x86::gemm_dispatch<GemmQ6K, 8>(n, w, bw, nr, a, ba, ny, y, by);
}

void pack_q3_K(int64_t n, const void* w, size_t bw, void* dst) { PackedQ3K::pack(n, w, bw, dst); }
void pack_iq4_xs(int64_t n, const void* w, size_t bw, void* dst) {
    PackedIQ4XS::pack(n, w, bw, dst);
}
float vec_dot_iq4_xs_q8_K(int64_t n, const void* w, const void* a) {
    return x86::vec_dot_via<GemmIQ4XS>(n, w, a);
}
void gemm_iq4_xs_q8_K(int64_t n, const void* w, size_t bw, int64_t nr, const void* a, size_t ba,
                      int ny, float* y, size_t by) {
    x86::gemm_dispatch<GemmIQ4XS, 8>(n, w, bw, nr, a, ba, ny, y, by);
}

}  // namespace hearth::kernels::avx512
