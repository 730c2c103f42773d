// AVX2 dot products of the K-quants (Q2_K..Q6_K) and IQ4_XS with Q8_K activations. Weights are
// unpacked to unsigned bytes once per row and super-block; per token maddubs multiplies them with
// the activations and madd applies the sub-block scales. Offsets (Q4_K/Q5_K mins, Q6_K's -32) are
// applied once per super-block through the activation block sums (bsums).
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "kernels/dispatch.h"
#include "kernels/ref/blocks.h"
#include "kernels/x86_avx2/common.h"
#include "kernels/x86_avx2/kernels_avx2.h"
#include "kernels/x86_avx2/legacy_blocks.h"
#include "kernels/x86_avx2/packed_k.h"

namespace hearth::kernels::avx2 {

namespace {

using x86::f16;

// Q4_K (kHigh = false) and Q5_K (kHigh = true): 64 elements per step j, the first 32 in the low
// nibbles of 32 bytes and the next 32 in the high nibbles, scale/min per 32.
template <typename Block, bool kHigh>
struct GemmQ45K {
    // 5..8 tokens: per super-block the 8 tokens' int32 sums are reduced together into one
    // vector (lane = token) and scaled by the tokens' d in one FMA; the min corrections come in
    // the same lanes from TokenSubSums.
    template <int NY>
    static void run_wide(int64_t n, const void* w, size_t bw, int64_t nr, const void* a, size_t ba,
                         float* y, size_t by) {
        const int64_t nb = n / kQK_K;
        const __m256i m4 = _mm256_set1_epi8(0xF), one = _mm256_set1_epi8(1);
        const BlockQ8_K* ay[NY];
        for (int t = 0; t < NY; ++t) ay[t] = x86::row<BlockQ8_K>(a, ba, t);
        const x86::TokenScales<NY> ds(ay, nb);
        const x86::TokenSubSums<NY> subs(ay, nb);
        for (int64_t r = 0; r < nr; ++r) {
            const auto* x = x86::row<Block>(w, bw, r);
            __m256 acc = _mm256_setzero_ps();
            for (int64_t i = 0; i < nb; ++i) {
                const __m128i sm = x86::scales_mins_k4(x[i].scales);
                const __m256i sc16 = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(sm));
                __m256i sumi[8];
                for (int t = 0; t < 8; ++t) sumi[t] = _mm256_setzero_si256();
                __m256i qhv;
                if constexpr (kHigh) qhv = load256(x[i].qh);
                for (int j = 0; j < 4; ++j) {
                    const __m256i bits = load256(x[i].qs + 32 * j);
                    __m256i ql = _mm256_and_si256(bits, m4);
                    __m256i qh = _mm256_and_si256(_mm256_srli_epi16(bits, 4), m4);
                    if constexpr (kHigh) {
                        const __m256i h = _mm256_srli_epi16(qhv, 2 * j);
                        ql = _mm256_or_si256(ql, _mm256_slli_epi16(_mm256_and_si256(h, one), 4));
                        qh = _mm256_or_si256(
                            qh,
                            _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 1), one), 4));
                    }
                    const __m256i slo = _mm256_shuffle_epi8(
                        sc16,
                        _mm256_set1_epi16(static_cast<int16_t>((4 * j) | ((4 * j + 1) << 8))));
                    const __m256i shi = _mm256_shuffle_epi8(
                        sc16,
                        _mm256_set1_epi16(static_cast<int16_t>((4 * j + 2) | ((4 * j + 3) << 8))));
                    for (int t = 0; t < NY; ++t) {
                        const int8_t* aq = ay[t][i].qs + 64 * j;
                        const __m256i pl =
                            _mm256_madd_epi16(_mm256_maddubs_epi16(ql, load256(aq)), slo);
                        const __m256i ph =
                            _mm256_madd_epi16(_mm256_maddubs_epi16(qh, load256(aq + 32)), shi);
                        sumi[t] = _mm256_add_epi32(sumi[t], _mm256_add_epi32(pl, ph));
                    }
                }
                const __m256 dv = ds.get(i);
                const __m256 si = _mm256_cvtepi32_ps(x86::hsum8_epi32(sumi));
                const __m256 sc =
                    _mm256_cvtepi32_ps(subs.min_correction(i, x86::mins_both_lanes(sm)));
                acc = x86::add_scaled_k4(acc, si, sc, dv, x[i]);
            }
            x86::store_tokens(acc, NY, y, by, r);
        }
    }

    template <int NY>
    static void run(int64_t n, const void* w, size_t bw, int64_t nr, const void* a, size_t ba,
                    float* y, size_t by) {
        if constexpr (NY >= 5) {
            run_wide<NY>(n, w, bw, nr, a, ba, y, by);
            return;
        }
        const int64_t nb = n / kQK_K;
        const __m256i m4 = _mm256_set1_epi8(0xF), one = _mm256_set1_epi8(1);
        const BlockQ8_K* ay[NY];
        for (int t = 0; t < NY; ++t) ay[t] = x86::row<BlockQ8_K>(a, ba, t);
        for (int64_t r = 0; r < nr; ++r) {
            if constexpr (NY == 1) x86::prefetch_ahead(w, bw, r);
            const auto* x = x86::row<Block>(w, bw, r);
            __m256 acc[NY];
            for (int t = 0; t < NY; ++t) acc[t] = _mm256_setzero_ps();
            for (int64_t i = 0; i < nb; ++i) {
                // Scales as int16 in both 128-bit lanes; shuffles broadcast one per step below.
                const __m128i sm = x86::scales_mins_k4(x[i].scales);
                const __m256i sc16 = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(sm));
                __m256i sumi[NY];
                for (int t = 0; t < NY; ++t) sumi[t] = _mm256_setzero_si256();
                __m256i qhv;
                if constexpr (kHigh) qhv = load256(x[i].qh);
                for (int j = 0; j < 4; ++j) {
                    const __m256i bits = load256(x[i].qs + 32 * j);
                    __m256i ql = _mm256_and_si256(bits, m4);
                    __m256i qh = _mm256_and_si256(_mm256_srli_epi16(bits, 4), m4);
                    if constexpr (kHigh) {
                        // Bit 2j (2j + 1) of qh byte l is bit 4 of element l of the low (high) run.
                        const __m256i h = _mm256_srli_epi16(qhv, 2 * j);
                        ql = _mm256_or_si256(ql, _mm256_slli_epi16(_mm256_and_si256(h, one), 4));
                        qh = _mm256_or_si256(
                            qh,
                            _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 1), one), 4));
                    }
                    const __m256i slo = _mm256_shuffle_epi8(
                        sc16,
                        _mm256_set1_epi16(static_cast<int16_t>((4 * j) | ((4 * j + 1) << 8))));
                    const __m256i shi = _mm256_shuffle_epi8(
                        sc16,
                        _mm256_set1_epi16(static_cast<int16_t>((4 * j + 2) | ((4 * j + 3) << 8))));
                    for (int t = 0; t < NY; ++t) {
                        const int8_t* aq = ay[t][i].qs + 64 * j;
                        const __m256i pl =
                            _mm256_madd_epi16(_mm256_maddubs_epi16(ql, load256(aq)), slo);
                        const __m256i ph =
                            _mm256_madd_epi16(_mm256_maddubs_epi16(qh, load256(aq + 32)), shi);
                        sumi[t] = _mm256_add_epi32(sumi[t], _mm256_add_epi32(pl, ph));
                    }
                }
                const __m256i mx = x86::doubled_mins(sm);
                const __m128 dd = x86::d_dmin(x[i]);
                for (int t = 0; t < NY; ++t) {
                    const __m256i corr = _mm256_madd_epi16(load256(ay[t][i].bsums), mx);
                    const __m128 dt = _mm_mul_ps(dd, _mm_broadcast_ss(&ay[t][i].d));
                    acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sumi[t]), _mm256_broadcastss_ps(dt),
                                             acc[t]);
                    acc[t] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(corr),
                                              _mm256_broadcastss_ps(_mm_movehdup_ps(dt)), acc[t]);
                }
            }
            for (int t = 0; t < NY; ++t) y[t * by + r] = x86::hsum(acc[t]);
        }
    }
};

// Q6_K: per 128-element half, ql bytes 0..31 / 32..63 carry elements 0..31 / 32..63 in their
// low nibbles and 64..95 / 96..127 in their high nibbles; qh byte l carries the top two bits of
// elements l, l + 32, l + 64, l + 96. Levels are used unsigned (0..63); the -32 offset is
// subtracted as 32 * sum(scale_s * bsum_s).
struct GemmQ6K {
    // Scales 8h..8h+7 (of the 16 in sc16, int16) in both 128-bit lanes.
    static __m256i half_scales(__m256i sc16, int h) {
        return h == 0 ? _mm256_permute2x128_si256(sc16, sc16, 0x00)
                      : _mm256_permute2x128_si256(sc16, sc16, 0x11);
    }
    // Run k of a half: scale 2k (of the half's 8) in the low lane, 2k + 1 in the high lane.
    static __m256i run_scales(__m256i sch, int k) {
        return _mm256_shuffle_epi8(
            sch, _mm256_set_m128i(
                     _mm_set1_epi16(static_cast<int16_t>((4 * k + 2) | ((4 * k + 3) << 8))),
                     _mm_set1_epi16(static_cast<int16_t>((4 * k) | ((4 * k + 1) << 8)))));
    }

    // 5..8 tokens: per 32-element run k one decoded weight vector and one scale vector serve all
    // tokens; per super-block the tokens' int32 sums are reduced together (lane = token).
    template <int NY>
    static void run_wide(int64_t n, const void* w, size_t bw, int64_t nr, const void* a, size_t ba,
                         float* y, size_t by) {
        const int64_t nb = n / kQK_K;
        const __m256i m4 = _mm256_set1_epi8(0xF), m30 = _mm256_set1_epi8(0x30);
        const BlockQ8_K* ay[NY];
        for (int t = 0; t < NY; ++t) ay[t] = x86::row<BlockQ8_K>(a, ba, t);
        const x86::TokenScales<NY> ds(ay, nb);
        for (int64_t r = 0; r < nr; ++r) {
            const auto* x = x86::row<BlockQ6_K>(w, bw, r);
            __m256 acc = _mm256_setzero_ps();
            for (int64_t i = 0; i < nb; ++i) {
                const __m256i sc16 = _mm256_cvtepi8_epi16(
                    _mm_loadu_si128(reinterpret_cast<const __m128i*>(x[i].scales)));
                __m256i sumi[8];
                for (int t = 0; t < 8; ++t) sumi[t] = _mm256_setzero_si256();
                for (int h = 0; h < 2; ++h) {
                    const __m256i sch = half_scales(sc16, h);
                    for (int k = 0; k < 4; ++k) {
                        const __m256i ql = load256(x[i].ql + 64 * h + 32 * (k & 1));
                        const __m256i qhv = load256(x[i].qh + 32 * h);
                        const __m256i lo = k < 2 ? ql : _mm256_srli_epi16(ql, 4);
                        const __m256i hi = k == 0   ? _mm256_slli_epi16(qhv, 4)
                                           : k == 1 ? _mm256_slli_epi16(qhv, 2)
                                           : k == 2 ? qhv
                                                    : _mm256_srli_epi16(qhv, 2);
                        const __m256i q =
                            _mm256_or_si256(_mm256_and_si256(lo, m4), _mm256_and_si256(hi, m30));
                        const __m256i sv = run_scales(sch, k);
                        for (int t = 0; t < NY; ++t) {
                            const __m256i p =
                                _mm256_maddubs_epi16(q, load256(ay[t][i].qs + 128 * h + 32 * k));
                            sumi[t] = _mm256_add_epi32(sumi[t], _mm256_madd_epi16(p, sv));
                        }
                    }
                }
                for (int t = 0; t < NY; ++t) {
                    const __m256i corr = _mm256_madd_epi16(load256(ay[t][i].bsums), sc16);
                    sumi[t] = _mm256_sub_epi32(sumi[t], _mm256_slli_epi32(corr, 5));
                }
                const __m256 si = _mm256_cvtepi32_ps(x86::hsum8_epi32(sumi));
                acc =
                    _mm256_fmadd_ps(si, _mm256_mul_ps(ds.get(i), _mm256_set1_ps(f16(x[i].d))), acc);
            }
            x86::store_tokens(acc, NY, y, by, r);
        }
    }

    template <int NY>
    static void run(int64_t n, const void* w, size_t bw, int64_t nr, const void* a, size_t ba,
                    float* y, size_t by) {
        if constexpr (NY >= 5) {
            run_wide<NY>(n, w, bw, nr, a, ba, y, by);
            return;
        }
        const int64_t nb = n / kQK_K;
        const __m256i m4 = _mm256_set1_epi8(0xF), m30 = _mm256_set1_epi8(0x30);
        const BlockQ8_K* ay[NY];
        for (int t = 0; t < NY; ++t) ay[t] = x86::row<BlockQ8_K>(a, ba, t);
        for (int64_t r = 0; r < nr; ++r) {
            if constexpr (NY == 1) x86::prefetch_ahead(w, bw, r);
            const auto* x = x86::row<BlockQ6_K>(w, bw, r);
            __m256 acc[NY];
            for (int t = 0; t < NY; ++t) acc[t] = _mm256_setzero_ps();
            for (int64_t i = 0; i < nb; ++i) {
                const __m256i sc16 = _mm256_cvtepi8_epi16(
                    _mm_loadu_si128(reinterpret_cast<const __m128i*>(x[i].scales)));
                __m256i sumi[NY];
                for (int t = 0; t < NY; ++t) sumi[t] = _mm256_setzero_si256();
                for (int h = 0; h < 2; ++h) {
                    const __m256i ql0 = load256(x[i].ql + 64 * h);
                    const __m256i ql1 = load256(x[i].ql + 64 * h + 32);
                    const __m256i qhv = load256(x[i].qh + 32 * h);
                    __m256i q[4];
                    q[0] = _mm256_or_si256(_mm256_and_si256(ql0, m4),
                                           _mm256_and_si256(_mm256_slli_epi16(qhv, 4), m30));
                    q[1] = _mm256_or_si256(_mm256_and_si256(ql1, m4),
                                           _mm256_and_si256(_mm256_slli_epi16(qhv, 2), m30));
                    q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4),
                                           _mm256_and_si256(qhv, m30));
                    q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4),
                                           _mm256_and_si256(_mm256_srli_epi16(qhv, 2), m30));
                    const __m256i sch = half_scales(sc16, h);
                    __m256i sv[4];
                    for (int k = 0; k < 4; ++k) sv[k] = run_scales(sch, k);
                    for (int t = 0; t < NY; ++t) {
                        const int8_t* aq = ay[t][i].qs + 128 * h;
                        __m256i p =
                            _mm256_madd_epi16(_mm256_maddubs_epi16(q[0], load256(aq)), sv[0]);
                        for (int k = 1; k < 4; ++k) {
                            p = _mm256_add_epi32(
                                p, _mm256_madd_epi16(
                                       _mm256_maddubs_epi16(q[k], load256(aq + 32 * k)), sv[k]));
                        }
                        sumi[t] = _mm256_add_epi32(sumi[t], p);
                    }
                }
                const float d = f16(x[i].d);
                for (int t = 0; t < NY; ++t) {
                    const __m256i corr = _mm256_madd_epi16(load256(ay[t][i].bsums), sc16);
                    const __m256i v = _mm256_sub_epi32(sumi[t], _mm256_slli_epi32(corr, 5));
                    acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(v), _mm256_set1_ps(d * ay[t][i].d),
                                             acc[t]);
                }
            }
            for (int t = 0; t < NY; ++t) y[t * by + r] = x86::hsum(acc[t]);
        }
    }
};

// Q2_K (kThird = false) and Q3_K (kThird = true): per 128-element half, 32 bytes of qs hold
// four 32-element runs (run k in bits 2k..2k+1), each two 16-element sub-blocks. Q3_K adds a
// third bit from hmask (bit 4h + k of byte l; clear means 4 lower) and uses it unsigned (0..7),
// subtracting 4 * sum(scale_s * bsum_s) afterwards; Q2_K subtracts dmin * sum(min_s * bsum_s).
template <bool kThird>
struct GemmQ23K {
    using Block = std::conditional_t<kThird, BlockQ3_K, BlockQ2_K>;

    // The 16 sub-block scales (signed for Q3_K) and, for Q2_K, the 16 mins.
    static void unpack(const Block& b, int16_t sc[16], int16_t mn[16]) {
        for (int s = 0; s < 16; ++s) {
            if constexpr (kThird) {
                const int low = s < 8 ? (b.scales[s] & 0xF) : (b.scales[s - 8] >> 4);
                const int top = (b.scales[8 + s % 4] >> (2 * (s / 4))) & 3;
                sc[s] = static_cast<int16_t>((low | (top << 4)) - 32);
                mn[s] = 0;
            } else {
                sc[s] = b.scales[s] & 0xF;
                mn[s] = b.scales[s] >> 4;
            }
        }
    }

    template <int NY>
    static void run(int64_t n, const void* w, size_t bw, int64_t nr, const void* a, size_t ba,
                    float* y, size_t by) {
        const int64_t nb = n / kQK_K;
        const __m256i m3 = _mm256_set1_epi8(3), one = _mm256_set1_epi8(1);
        const BlockQ8_K* ay[NY];
        for (int t = 0; t < NY; ++t) ay[t] = x86::row<BlockQ8_K>(a, ba, t);
        for (int64_t r = 0; r < nr; ++r) {
            if constexpr (NY == 1) x86::prefetch_ahead(w, bw, r);
            const auto* x = x86::row<Block>(w, bw, r);
            __m256 acc[NY];
            for (int t = 0; t < NY; ++t) acc[t] = _mm256_setzero_ps();
            for (int64_t i = 0; i < nb; ++i) {
                alignas(32) int16_t sc[16], mn[16];
                unpack(x[i], sc, mn);
                __m256i sumi[NY];
                for (int t = 0; t < NY; ++t) sumi[t] = _mm256_setzero_si256();
                for (int h = 0; h < 2; ++h) {
                    const __m256i bits = load256(x[i].qs + 32 * h);
                    __m256i hm;
                    if constexpr (kThird) hm = load256(x[i].hmask);
                    for (int k = 0; k < 4; ++k) {
                        __m256i q = _mm256_and_si256(_mm256_srli_epi16(bits, 2 * k), m3);
                        if constexpr (kThird) {
                            const __m256i hb =
                                _mm256_and_si256(_mm256_srli_epi16(hm, 4 * h + k), one);
                            q = _mm256_or_si256(q, _mm256_slli_epi16(hb, 2));
                        }
                        const int s = 8 * h + 2 * k;
                        const __m256i sv =
                            _mm256_set_m128i(_mm_set1_epi16(sc[s + 1]), _mm_set1_epi16(sc[s]));
                        for (int t = 0; t < NY; ++t) {
                            const __m256i p =
                                _mm256_maddubs_epi16(q, load256(ay[t][i].qs + 128 * h + 32 * k));
                            sumi[t] = _mm256_add_epi32(sumi[t], _mm256_madd_epi16(p, sv));
                        }
                    }
                }
                const float d = f16(x[i].d);
                const __m256i offs = load256(kThird ? sc : mn);
                for (int t = 0; t < NY; ++t) {
                    const __m256i corr = _mm256_madd_epi16(load256(ay[t][i].bsums), offs);
                    const float d8 = ay[t][i].d;
                    if constexpr (kThird) {
                        const __m256i v = _mm256_sub_epi32(sumi[t], _mm256_slli_epi32(corr, 2));
                        acc[t] =
                            _mm256_fmadd_ps(_mm256_cvtepi32_ps(v), _mm256_set1_ps(d * d8), acc[t]);
                    } else {
                        acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sumi[t]),
                                                 _mm256_set1_ps(d * d8), acc[t]);
                        acc[t] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(corr),
                                                  _mm256_set1_ps(f16(x[i].dmin) * d8), acc[t]);
                    }
                }
            }
            for (int t = 0; t < NY; ++t) y[t * by + r] = x86::hsum(acc[t]);
        }
    }
};

using GemmQ2K = GemmQ23K<false>;
using GemmQ3K = GemmQ23K<true>;

// IQ4_XS: 8 sub-blocks of 32, each an IQ4_NL run (signed table values) with a 6-bit scale
// biased by 32. Sign trick as for the legacy formats, madd applies the sub-block scale.
struct GemmIQ4XS {
    template <int NY>
    static void run(int64_t n, const void* w, size_t bw, int64_t nr, const void* a, size_t ba,
                    float* y, size_t by) {
        const int64_t nb = n / kQK_K;
        const BlockQ8_K* ay[NY];
        for (int t = 0; t < NY; ++t) ay[t] = x86::row<BlockQ8_K>(a, ba, t);
        for (int64_t r = 0; r < nr; ++r) {
            if constexpr (NY == 1) x86::prefetch_ahead(w, bw, r);
            const auto* x = x86::row<BlockIQ4_XS>(w, bw, r);
            __m256 acc[NY];
            for (int t = 0; t < NY; ++t) acc[t] = _mm256_setzero_ps();
            for (int64_t i = 0; i < nb; ++i) {
                __m256i sumi[NY];
                for (int t = 0; t < NY; ++t) sumi[t] = _mm256_setzero_si256();
                for (int ib = 0; ib < 8; ++ib) {
                    const __m256i q = x86::iq4nl_values(x[i].qs + 16 * ib);
                    const __m256i aq = _mm256_sign_epi8(q, q);
                    const int low = (x[i].scales_l[ib / 2] >> (4 * (ib % 2))) & 0xF;
                    const int high = (x[i].scales_h >> (2 * ib)) & 3;
                    const __m256i sv =
                        _mm256_set1_epi16(static_cast<int16_t>((low | (high << 4)) - 32));
                    for (int t = 0; t < NY; ++t) {
                        const __m256i av = load256(ay[t][i].qs + 32 * ib);
                        const __m256i p = _mm256_maddubs_epi16(aq, _mm256_sign_epi8(av, q));
                        sumi[t] = _mm256_add_epi32(sumi[t], _mm256_madd_epi16(p, sv));
                    }
                }
                const float d = f16(x[i].d);
                for (int t = 0; t < NY; ++t)
                    acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sumi[t]),
                                             _mm256_set1_ps(d * ay[t][i].d), acc[t]);
            }
            for (int t = 0; t < NY; ++t) y[t * by + r] = x86::hsum(acc[t]);
        }
    }
};

using GemmQ4K = GemmQ45K<BlockQ4_K, false>;
using GemmQ5K = GemmQ45K<BlockQ5_K, true>;

// vpmaddubsw's steps for packed_gemm: int16 sums of P::kInt16Steps steps (their bound: 2 *
// kSteps products of at most the largest level times 127), widened into int32 by vpmaddwd with
// the sub-block's scale pair.
struct MaddubsSteps {
    static constexpr int kRun = 6, kSplit = 1;  // the int16 adds' short latency needs no split
    static constexpr bool kUnrollSteps = false;
    template <typename P>
    static constexpr int steps() { return P::kInt16Steps; }
    static __m256i combine(__m256i x, __m256i y) { return _mm256_add_epi16(x, y); }
    static __m256i add(__m256i part, __m256i w, __m256i a) {
        return _mm256_add_epi16(part, _mm256_maddubs_epi16(w, a));
    }
    static __m256i scale(__m256i sums, __m256i part, __m256i pair) {
        return _mm256_add_epi32(sums, _mm256_madd_epi16(part, pair));
    }
};

// Q4_K and Q5_K packed in PackedQ45KLayout (packed_k.h).
template <typename Block, bool kHigh>
struct PackedQ45K : PackedQ45KLayout<kHigh> {
    using L = PackedQ45KLayout<kHigh>;
    using L::kBlockBytes, L::kMinBytes, L::kScaleBytes;

    static void pack(int64_t n, const void* w, size_t bw, void* dst) {
        const int64_t nb = n / kQK_K;
        const __m256i m4 = _mm256_set1_epi8(0xF), one = _mm256_set1_epi8(1);
        auto* out = static_cast<uint8_t*>(dst);
        for (int64_t i = 0; i < nb; ++i) {
            const auto* blocks = static_cast<const uint8_t*>(w) + i * sizeof(Block);  // row 0's
            uint8_t* sb = out + i * kBlockBytes;
            for (int h = 0; h < 2; ++h) {
                const uint8_t* half = blocks + h * kHalfRows * bw;
                // Step j's 32 bytes per row: sub-block 2j in the low nibbles, 2j + 1 in the high;
                // Q5_K's qh byte l holds the fifth bit of element l of sub-block s in bit s.
                for (int j = 0; j < 4; ++j) {
                    __m256i lo[8], hi[8];
                    for (int r = 0; r < 8; ++r) {
                        const __m256i v = load256(half + r * bw + offsetof(Block, qs) + 32 * j);
                        lo[r] = _mm256_and_si256(v, m4);
                        hi[r] = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
                        if constexpr (kHigh) {
                            const __m256i b = _mm256_srli_epi16(
                                load256(half + r * bw + offsetof(Block, qh)), 2 * j);
                            lo[r] = _mm256_or_si256(
                                lo[r], _mm256_slli_epi16(_mm256_and_si256(b, one), 4));
                            hi[r] = _mm256_or_si256(
                                hi[r], _mm256_slli_epi16(
                                           _mm256_and_si256(_mm256_srli_epi16(b, 1), one), 4));
                        }
                    }
                    store_run(lo, sb, 2 * j, h);
                    store_run(hi, sb, 2 * j + 1, h);
                }
            }
            alignas(32) uint32_t scales[8][kPackRows], mins[4][kPackRows];
            alignas(32) float d[2][kPackRows];
            for (int r = 0; r < kPackRows; ++r) {
                const Block& x = *reinterpret_cast<const Block*>(blocks + r * bw);
                alignas(16) uint8_t sm[16];  // 8 scales, then 8 mins
                _mm_store_si128(reinterpret_cast<__m128i*>(sm), x86::scales_mins_k4(x.scales));
                for (int k = 0; k < 8; ++k) scales[k][r] = sm[k] | uint32_t{sm[k]} << 16;
                for (int k = 0; k < 4; ++k) mins[k][r] = sm[8 + 2 * k] | uint32_t{sm[9 + 2 * k]} << 16;
                const __m128 dd = x86::d_dmin(x);
                d[0][r] = _mm_cvtss_f32(dd);
                d[1][r] = _mm_cvtss_f32(_mm_movehdup_ps(dd));
            }
            uint8_t* tail = sb + kPackedLevelBytes;
            std::memcpy(tail, scales, sizeof(scales));
            std::memcpy(tail + kScaleBytes, mins, sizeof(mins));
            std::memcpy(tail + kScaleBytes + kMinBytes, d, sizeof(d));
        }
    }
};

// Q6_K, Q3_K and Q2_K packed in PackedK16Layout (packed_k.h).
template <typename Block>
struct PackedK16 : PackedK16Layout<Block> {
    using L = PackedK16Layout<Block>;
    using L::kBlockBytes, L::kMins, L::kOffBytes, L::kQ6, L::kScaleBytes;

    // Run 4e + k of block x (elements 128e + 32k ..), as unsigned bytes.
    static __m256i levels(const Block& x, int e, int k) {
        if constexpr (kQ6) {
            // Low nibbles of ql bytes 64e + 32(k & 1) (high nibbles from k = 2), bits 2k..2k+1
            // of qh bytes 32e on top.
            const __m256i m4 = _mm256_set1_epi8(0xF), m30 = _mm256_set1_epi8(0x30);
            const __m256i ql = load256(x.ql + 64 * e + 32 * (k & 1));
            const __m256i qh = load256(x.qh + 32 * e);
            const __m256i lo = k < 2 ? ql : _mm256_srli_epi16(ql, 4);
            const __m256i hi = k == 0   ? _mm256_slli_epi16(qh, 4)
                               : k == 1 ? _mm256_slli_epi16(qh, 2)
                               : k == 2 ? qh
                                        : _mm256_srli_epi16(qh, 2);
            return _mm256_or_si256(_mm256_and_si256(lo, m4), _mm256_and_si256(hi, m30));
        } else {
            // Bits 2k..2k+1 of qs bytes 32e; Q3_K's bit 4e + k of hmask byte l above them.
            const __m256i m3 = _mm256_set1_epi8(3);
            __m256i q = _mm256_and_si256(_mm256_srli_epi16(load256(x.qs + 32 * e), 2 * k), m3);
            if constexpr (!kMins) {
                const __m256i hb = _mm256_and_si256(_mm256_srli_epi16(load256(x.hmask), 4 * e + k),
                                                    _mm256_set1_epi8(1));
                q = _mm256_or_si256(q, _mm256_slli_epi16(hb, 2));
            }
            return q;
        }
    }

    static void pack(int64_t n, const void* w, size_t bw, void* dst) {
        const int64_t nb = n / kQK_K;
        auto* out = static_cast<uint8_t*>(dst);
        for (int64_t i = 0; i < nb; ++i) {
            const auto* blocks = static_cast<const uint8_t*>(w) + i * sizeof(Block);  // row 0's
            uint8_t* sb = out + i * kBlockBytes;
            for (int h = 0; h < 2; ++h) {
                const uint8_t* half = blocks + h * kHalfRows * bw;
                for (int j = 0; j < 8; ++j) {
                    __m256i q[8];
                    for (int r = 0; r < 8; ++r)
                        q[r] = levels(*reinterpret_cast<const Block*>(half + r * bw), j / 4, j % 4);
                    store_run(q, sb, j, h);
                }
            }
            alignas(32) uint32_t scales[16][kPackRows], offs[8][kPackRows];
            alignas(32) float d[2][kPackRows];
            for (int r = 0; r < kPackRows; ++r) {
                const auto& x = *reinterpret_cast<const Block*>(blocks + r * bw);
                int16_t sc[16], off[16];
                if constexpr (kQ6) {
                    for (int s = 0; s < 16; ++s) sc[s] = off[s] = x.scales[s];
                } else {
                    GemmQ23K<!kMins>::unpack(x, sc, off);
                    if constexpr (!kMins) std::copy(sc, sc + 16, off);
                }
                auto u16 = [](int16_t v) { return uint32_t{static_cast<uint16_t>(v)}; };
                for (int s = 0; s < 16; ++s) scales[s][r] = u16(sc[s]) | u16(sc[s]) << 16;
                for (int k = 0; k < 8; ++k) offs[k][r] = u16(off[2 * k]) | u16(off[2 * k + 1]) << 16;
                d[0][r] = f16(x.d);
                if constexpr (kMins) d[1][r] = f16(x.dmin);
                else d[1][r] = 0.0f;
            }
            uint8_t* tail = sb + kPackedLevelBytes;
            std::memcpy(tail, scales, sizeof(scales));
            std::memcpy(tail + kScaleBytes, offs, sizeof(offs));
            std::memcpy(tail + kScaleBytes + kOffBytes, d, sizeof(d));
        }
    }
};

}  // namespace

// kMaxNy 8: the kernel has a wide (5..8 token) path; 4: it runs at most 4 tokens at a time.
#define HEARTH_DEFINE_K(name, K, kMaxNy)                                                    \
    float vec_dot_##name##_q8_K(int64_t n, const void* w, const void* a) {                  \
        return x86::vec_dot_via<K>(n, w, a);                                                \
    }                                                                                       \
    void gemm_##name##_q8_K(int64_t n, const void* w, size_t bw, int64_t nr, const void* a, \
                            size_t ba, int ny, float* y, size_t by) {                       \
        x86::gemm_dispatch<K, kMaxNy>(n, w, bw, nr, a, ba, ny, y, by);                      \
    }

HEARTH_DEFINE_K(q4_K, GemmQ4K, 8)
HEARTH_DEFINE_K(q5_K, GemmQ5K, 8)
HEARTH_DEFINE_K(q2_K, GemmQ2K, 4)
HEARTH_DEFINE_K(q3_K, GemmQ3K, 4)
HEARTH_DEFINE_K(q6_K, GemmQ6K, 8)
HEARTH_DEFINE_K(iq4_xs, GemmIQ4XS, 4)

size_t packed_bytes_q4_K(int64_t n) { return PackedQ45K<BlockQ4_K, false>::bytes(n); }
void pack_q4_K(int64_t n, const void* w, size_t bw, void* dst) {
    PackedQ45K<BlockQ4_K, false>::pack(n, w, bw, dst);
}
void pack_q5_K(int64_t n, const void* w, size_t bw, void* dst) {
    PackedQ45K<BlockQ5_K, true>::pack(n, w, bw, dst);
}
void gemm_packed_q4_K_q8_K(int64_t n, const void* packed, int64_t ng, const void* a, size_t ba,
                           int64_t ny, float* y, size_t by) {
    using P = PackedQ45K<BlockQ4_K, false>;
    packed_gemm<P, MaddubsSteps>(n / kQK_K, packed, ng, a, ba, ny, y, by);
}
void gemm_packed_q5_K_q8_K(int64_t n, const void* packed, int64_t ng, const void* a, size_t ba,
                           int64_t ny, float* y, size_t by) {
    using P = PackedQ45K<BlockQ5_K, true>;
    packed_gemm<P, MaddubsSteps>(n / kQK_K, packed, ng, a, ba, ny, y, by);
}
#define HEARTH_DEFINE_PACKED_K16(name, Block)                                                  \
    size_t packed_bytes_##name(int64_t n) { return PackedK16<Block>::bytes(n); }                \
    void pack_##name(int64_t n, const void* w, size_t bw, void* dst) {                         \
        PackedK16<Block>::pack(n, w, bw, dst);                                                 \
    }                                                                                          \
    void gemm_packed_##name##_q8_K(int64_t n, const void* packed, int64_t ng, const void* a,   \
                                   size_t ba, int64_t ny, float* y, size_t by) {               \
        packed_gemm<PackedK16<Block>, MaddubsSteps>(n / kQK_K, packed, ng, a, ba, ny, y, by); \
    }
HEARTH_DEFINE_PACKED_K16(q6_K, BlockQ6_K)
HEARTH_DEFINE_PACKED_K16(q3_K, BlockQ3_K)
HEARTH_DEFINE_PACKED_K16(q2_K, BlockQ2_K)

}  // namespace hearth::kernels::avx2
