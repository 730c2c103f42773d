// The packed K-quant batch paths of the 256-bit kernels (dispatch.h): the layout, the gemm loop
// and each format's super-block end, shared by the AVX2 files (vpmaddubsw) and the AVX-VNNI
// one (vpdpbusd on 256-bit vectors). Which instruction multiplies is a Steps policy that each
// file defines. The K-quants pack in k_quants.cpp, since both paths read the same packed
// bytes; IQ4_XS, which only AVX-VNNI packs, does so in vnni.cpp with store_run.
//
// The rows are kept in lanes: kPackRows rows packed once per matmul, as two halves of 8 rows,
// so that one multiply of a broadcast activation dword advances 8 rows by 4 levels and the
// sums need no reduction. A packed super-block of the 16 rows starts with its levels,
// q[j][c][h][r][4]: levels 4c..4c+3 of 32-element run j of row 8h + r, unsigned bytes, 4096 in
// all; its scales and the rest follow (PackedQ45KLayout, PackedK16Layout).
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "kernels/dispatch.h"
#include "kernels/ref/blocks.h"
#include "kernels/x86_avx2/common.h"

namespace hearth::kernels::avx2 {

// Unnamed, as in common.h: the AVX2 and AVX-VNNI files are built with different -m flags.
namespace {

constexpr int64_t kHalfRows = kPackRows / 2;
constexpr size_t kPackedLevelBytes = size_t(kQK_K) * kPackRows;

inline __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// Where in a packed super-block step c of run j of half h lies.
constexpr size_t level_at(int j, int c, int h) { return ((j * 8 + c) * 2 + h) * 32; }

// Splits the 32-byte runs of 8 rows (runs[r]) into 4-byte steps with the rows in lanes and
// stores them as run j of half h.
inline void store_run(__m256i runs[8], uint8_t* sb, int j, int h) {
    x86::transpose8_epi32(runs);  // runs[c] lane r: bytes 4c..4c+3 of row r
    for (int c = 0; c < 8; ++c)
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(sb + level_at(j, c, h)), runs[c]);
}

// Half h of super-block i (at sb) against NY tokens, added to sums (lane r = row 8h + r): S::add
// sums the products of kSteps steps into S::kSplit parts per token (alternate steps, so that
// as many sums are in flight as an instruction's latency asks for), then S::scale multiplies
// their total by the sub-block's scale pair and adds it to the int32 sums; kSubs sub-blocks
// per run, their int16 scale pairs (s, s) [sub-block][16 rows] at scales.
template <typename S, int NY, int kSteps, int kSubs>
inline void packed_sums(const uint8_t* sb, const uint8_t* scales, int h, const BlockQ8_K* const* ay,
                        int64_t i, __m256i* sums) {
    constexpr int kSplit = S::kSplit;
    static_assert(8 % kSteps == 0 && (8 / kSubs) % kSteps == 0 && kSteps % kSplit == 0);
    // Unrolled whole, GCC computes a run's products ahead of their adds and spills them.
#pragma GCC unroll 1
    for (int j = 0; j < 8; ++j) {
        for (int c0 = 0; c0 < 8; c0 += kSteps) {
            __m256i part[kSplit][NY];
            for (int p = 0; p < kSplit; ++p)
                for (int t = 0; t < NY; ++t) part[p][t] = _mm256_setzero_si256();
            auto steps = [&](int c1) {
                for (int p = 0; p < kSplit; ++p) {
                    const int c = c1 + p;
                    const __m256i wv = load256(sb + level_at(j, c, h));
                    for (int t = 0; t < NY; ++t) {
                        int32_t a4;
                        std::memcpy(&a4, ay[t][i].qs + 32 * j + 4 * c, 4);
                        part[p][t] = S::add(part[p][t], wv, _mm256_set1_epi32(a4));
                    }
                }
            };
            // Unrolled, the vpdpbusd sums stay in registers; the vpmaddubsw ones spill.
            if constexpr (S::kUnrollSteps) {
#pragma GCC unroll 8
                for (int c1 = c0; c1 < c0 + kSteps; c1 += kSplit) steps(c1);
            } else {
#pragma GCC unroll 1
                for (int c1 = c0; c1 < c0 + kSteps; c1 += kSplit) steps(c1);
            }
            const int sub = j * kSubs + c0 * kSubs / 8;
            const __m256i sc = load256(scales + (sub * kPackRows + kHalfRows * h) * 4);
            for (int t = 0; t < NY; ++t) {
                __m256i total = part[0][t];
                for (int p = 1; p < kSplit; ++p) total = S::combine(total, part[p][t]);
                sums[t] = S::scale(sums[t], total, sc);
            }
        }
    }
}

// Sum over k < nk of the int16 pairs at pairs + k * 64 (lane r: row 8h + r's pair k) times the
// pair k of bsums.
inline __m256i pairs_dot(const uint8_t* pairs, int nk, const int16_t* bsums) {
    __m256i v = _mm256_setzero_si256();
    for (int k = 0; k < nk; ++k) {
        int32_t b2;
        std::memcpy(&b2, bsums + 2 * k, 4);
        v = _mm256_add_epi32(v, _mm256_madd_epi16(load256(pairs + k * kPackRows * 4),
                                                  _mm256_set1_epi32(b2)));
    }
    return v;
}

// Half h of a group (packed) and NY tokens: y[t * by + r] for row 8h + r of the group. P gives
// kSubs, kBlockBytes, and finish for each super-block and token; S the steps per part.
template <typename P, typename S, int NY>
void packed_run(int64_t nb, const uint8_t* packed, int h, const BlockQ8_K* const* ay, float* y,
                size_t by) {
    __m256 acc[NY];
    for (int t = 0; t < NY; ++t) acc[t] = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; ++i) {
        const uint8_t* sb = packed + i * P::kBlockBytes;
        const uint8_t* tail = sb + kPackedLevelBytes;
        __m256i sums[NY];
        for (int t = 0; t < NY; ++t) sums[t] = _mm256_setzero_si256();
        packed_sums<S, NY, S::template steps<P>(), P::kSubs>(sb, tail, h, ay, i, sums);
        for (int t = 0; t < NY; ++t) acc[t] = P::finish(tail, h, ay[t][i], sums[t], acc[t]);
    }
    for (int t = 0; t < NY; ++t) _mm256_storeu_ps(y + t * by, acc[t]);
}

// R::run<NY> for the nt (<= NY) tokens of a run: one call site per NY, so each is inlined.
template <typename R, int NY = R::kRun>
inline void run_tokens(int nt, int64_t nb, const uint8_t* p, int h, const typename R::ABlock* const* ay,
                       float* y, size_t by) {
    if constexpr (NY > 1) {
        if (nt < NY) return run_tokens<R, NY - 1>(nt, nb, p, h, ay, y, by);
    }
    R::template run<NY>(nb, p, h, ay, y, by);
}

// A packed gemm's loop: each half of each group against the tokens in runs of up to R::kRun.
// R gives ABlock (the activations' block), kBlockBytes, kRun (sized so that a run's sums and
// the broadcasts fill the 16 registers) and run<NY> for a run of NY tokens.
template <typename R>
void packed_halves(int64_t nb, const void* packed, int64_t ng, const void* a, size_t ba, int64_t ny,
                   float* y, size_t by) {
    constexpr int kRun = R::kRun;
    for (int64_t g = 0; g < ng; ++g) {
        const uint8_t* p = static_cast<const uint8_t*>(packed) + g * nb * R::kBlockBytes;
        for (int h = 0; h < 2; ++h) {
            for (int64_t t0 = 0; t0 < ny; t0 += kRun) {
                const typename R::ABlock* ay[kRun];
                const int nt = static_cast<int>(ny - t0 < kRun ? ny - t0 : kRun);
                for (int t = 0; t < nt; ++t) ay[t] = x86::row<typename R::ABlock>(a, ba, t0 + t);
                run_tokens<R>(nt, nb, p, h, ay, y + t0 * by + g * kPackRows + kHalfRows * h, by);
            }
        }
    }
}

// The K-quant layout P's gemm, with S's steps.
template <typename P, typename S>
struct PackedKRuns {
    using ABlock = BlockQ8_K;
    static constexpr size_t kBlockBytes = P::kBlockBytes;
    static constexpr int kRun = S::kRun;
    template <int NY>
    static void run(int64_t nb, const uint8_t* packed, int h, const BlockQ8_K* const* ay, float* y,
                    size_t by) {
        packed_run<P, S, NY>(nb, packed, h, ay, y, by);
    }
};
template <typename P, typename S>
void packed_gemm(int64_t nb, const void* packed, int64_t ng, const void* a, size_t ba, int64_t ny,
                 float* y, size_t by) {
    packed_halves<PackedKRuns<P, S>>(nb, packed, ng, a, ba, ny, y, by);
}

// Q4_K and Q5_K packed; after the levels (run j = sub-block j):
//   scale[j][16]     sub-block scales, each as an int16 pair (s, s) for vpmaddwd, 512 bytes;
//   mins[k][16]      mins 2k and 2k + 1 as an int16 pair, against the pair of a token's
//                    sub-block sums (quantize_row_q8_K_paired), 256 bytes;
//   d[16], dmin[16]  floats, 128 bytes.
// Levels up to 15 (Q4_K) sum in int16 over 8 steps, up to 31 (Q5_K) over 4.
template <bool kHigh>
struct PackedQ45KLayout {
    static constexpr size_t kScaleBytes = 8 * kPackRows * 4, kMinBytes = 4 * kPackRows * 4;
    static constexpr size_t kBlockBytes =
        kPackedLevelBytes + kScaleBytes + kMinBytes + 2 * kPackRows * 4;
    static constexpr int kInt16Steps = kHigh ? 4 : 8, kSubs = 1;

    static size_t bytes(int64_t n) { return static_cast<size_t>(n / kQK_K) * kBlockBytes; }

    // A super-block's end for one token a, half h: acc + a.d * (d * sums - dmin * mins . a's
    // sub-block sums), tail the super-block's scales.
    static __m256 finish(const uint8_t* tail, int h, const BlockQ8_K& a, __m256i sums, __m256 acc) {
        const auto* dd = reinterpret_cast<const float*>(tail + kScaleBytes + kMinBytes);
        const __m256 dt = _mm256_set1_ps(a.d);
        const __m256i mi = pairs_dot(tail + kScaleBytes + kHalfRows * h * 4, 4, a.bsums);
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums),
                              _mm256_mul_ps(_mm256_loadu_ps(dd + kHalfRows * h), dt), acc);
        return _mm256_fnmadd_ps(_mm256_cvtepi32_ps(mi),
                                _mm256_mul_ps(_mm256_loadu_ps(dd + kPackRows + kHalfRows * h), dt),
                                acc);
    }
};

// Q6_K, Q3_K and Q2_K packed (16-element sub-blocks; run j holds sub-blocks 2j and 2j + 1).
// After the levels:
//   scale[s][16]   the sub-block scales as int16 pairs (s, s), 1024 bytes;
//   offs[k][16]    int16 pairs against a pair of the token's 16-element bsums: Q6_K's and
//                  Q3_K's scales 2k and 2k + 1 (their levels are stored unsigned, 32 and 4 too
//                  high), Q2_K's mins 2k and 2k + 1, 512 bytes;
//   d[16], dmin[16] floats (dmin: Q2_K's only), 128 bytes.
// Levels up to 63 (Q6_K) sum in int16 over 2 steps, up to 7 (Q3_K, Q2_K) over the sub-block's 4.
template <typename Block>
struct PackedK16Layout {
    static constexpr bool kQ6 = std::is_same_v<Block, BlockQ6_K>;
    static constexpr bool kMins = std::is_same_v<Block, BlockQ2_K>;
    static constexpr int kInt16Steps = kQ6 ? 2 : 4, kSubs = 2;
    static constexpr int kOffsetShift = kQ6 ? 5 : 2;  // levels 32 or 4 too high
    static constexpr size_t kScaleBytes = 16 * kPackRows * 4, kOffBytes = 8 * kPackRows * 4;
    static constexpr size_t kBlockBytes =
        kPackedLevelBytes + kScaleBytes + kOffBytes + 2 * kPackRows * 4;

    static size_t bytes(int64_t n) { return static_cast<size_t>(n / kQK_K) * kBlockBytes; }

    // As PackedQ45KLayout::finish: acc + a.d * d * (sums - (32 or 4) * scales . a's bsums), or
    // for Q2_K acc + a.d * (d * sums - dmin * mins . a's bsums).
    static __m256 finish(const uint8_t* tail, int h, const BlockQ8_K& a, __m256i sums, __m256 acc) {
        const __m256i off = pairs_dot(tail + kScaleBytes + kHalfRows * h * 4, 8, a.bsums);
        const auto* dd = reinterpret_cast<const float*>(tail + kScaleBytes + kOffBytes);
        const __m256 dt = _mm256_set1_ps(a.d);
        const __m256 d = _mm256_mul_ps(_mm256_loadu_ps(dd + kHalfRows * h), dt);
        if constexpr (kMins) {
            acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums), d, acc);
            return _mm256_fnmadd_ps(
                _mm256_cvtepi32_ps(off),
                _mm256_mul_ps(_mm256_loadu_ps(dd + kPackRows + kHalfRows * h), dt), acc);
        } else {
            return _mm256_fmadd_ps(
                _mm256_cvtepi32_ps(_mm256_sub_epi32(sums, _mm256_slli_epi32(off, kOffsetShift))),
                d, acc);
        }
    }
};

}  // namespace

}  // namespace hearth::kernels::avx2
