// Helpers shared by the AVX2 and AVX-512 kernel files (both are built with AVX2 enabled):
// horizontal sums, a vector exp and the ny-token dispatch that turns a gemm<NY> template into a GemmFn.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kernels/ref/blocks.h"

namespace hearth::kernels::x86 {

// Unnamed: each ISA's files get their own copies. Shared inline definitions compiled with
// different -m flags would be merged by the linker, and one ISA's code could run on another.
namespace {

inline float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// The largest of v's lanes.
inline float hmax(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    return _mm_cvtss_f32(_mm_max_ss(m, _mm_movehdup_ps(m)));
}

inline float f16(uint16_t h) { return _cvtsh_ss(h); }

// The constants of exp256 (and of the AVX-512 files' exp512): the clamp, log2(e), ln(2) in
// two parts and the polynomial's coefficients, highest first.
struct ExpConstants {
    static constexpr float kMin = -87.3f, kMax = 88.3f, kLog2e = 1.44269504088896341f;
    static constexpr float kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
    static constexpr float kPoly[6] = {1.9875691500e-4f, 1.3981999507e-3f, 8.3334519073e-3f,
                                       4.1665795894e-2f, 1.6666665459e-1f, 5.0000001201e-1f};
};

// exp(x) (Cephes' single-precision polynomial, ~1 ulp) for x in [-87.3, 88.3]; inputs below
// are clamped (the result, ~1e-38, is negligible next to the maximum's exp(0) = 1).
inline __m256 exp256(__m256 x) {
    using C = ExpConstants;
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(C::kMin)), _mm256_set1_ps(C::kMax));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(C::kLog2e)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(C::kLn2Hi), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(C::kLn2Lo), r);
    __m256 p = _mm256_set1_ps(C::kPoly[0]);
    for (int k = 1; k < 6; ++k) p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(C::kPoly[k]));
    const __m256 y =
        _mm256_add_ps(_mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r), _mm256_set1_ps(1.0f));
    const __m256i e =
        _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(y, _mm256_castsi256_ps(e));
}

// Lane t of the result = the sum of the 8 int32 lanes of v[t]: one transposing reduction for 8
// tokens instead of 8 horizontal sums.
inline __m256i hsum8_epi32(const __m256i v[8]) {
    // Unpack + add (single-uop shuffles) rather than phadd (several uops each).
    auto pair = [](__m256i a, __m256i b) {  // per lane: a0+a2, b0+b2, a1+a3, b1+b3
        return _mm256_add_epi32(_mm256_unpacklo_epi32(a, b), _mm256_unpackhi_epi32(a, b));
    };
    auto quad = [](__m256i ab, __m256i cd) {  // per lane: a, b, c, d (sums of that lane)
        return _mm256_add_epi32(_mm256_unpacklo_epi64(ab, cd), _mm256_unpackhi_epi64(ab, cd));
    };
    const __m256i b0 = quad(pair(v[0], v[1]), pair(v[2], v[3]));
    const __m256i b1 = quad(pair(v[4], v[5]), pair(v[6], v[7]));
    return _mm256_add_epi32(_mm256_permute2x128_si256(b0, b1, 0x20),
                            _mm256_permute2x128_si256(b0, b1, 0x31));
}

// Transposes the 8 x 8 int32 matrix whose row t is v[t]: afterwards v[c] lane t holds what
// was lane c of v[t].
inline void transpose8_epi32(__m256i v[8]) {
    __m256i a[8], b[8];
    for (int k = 0; k < 4; ++k) {  // pairs of rows: 2 x 2 blocks of int32
        a[2 * k] = _mm256_unpacklo_epi32(v[2 * k], v[2 * k + 1]);
        a[2 * k + 1] = _mm256_unpackhi_epi32(v[2 * k], v[2 * k + 1]);
    }
    for (int k = 0; k < 2; ++k) {  // 4 x 4 blocks within each 128-bit lane
        b[4 * k] = _mm256_unpacklo_epi64(a[4 * k], a[4 * k + 2]);
        b[4 * k + 1] = _mm256_unpackhi_epi64(a[4 * k], a[4 * k + 2]);
        b[4 * k + 2] = _mm256_unpacklo_epi64(a[4 * k + 1], a[4 * k + 3]);
        b[4 * k + 3] = _mm256_unpackhi_epi64(a[4 * k + 1], a[4 * k + 3]);
    }
    for (int k = 0; k < 4; ++k) {  // the 128-bit lanes of rows 0..3 and 4..7
        v[k] = _mm256_permute2x128_si256(b[k], b[k + 4], 0x20);
        v[k + 4] = _mm256_permute2x128_si256(b[k], b[k + 4], 0x31);
    }
}

// Stores lanes 0..ny-1 of v to y[t * by + r].
inline void store_tokens(__m256 v, int ny, float* y, size_t by, int64_t r) {
    alignas(32) float tmp[8];
    _mm256_store_ps(tmp, v);
    for (int t = 0; t < ny; ++t) y[t * by + r] = tmp[t];
}

// The 8 scales (bytes 0..7) and 8 mins (bytes 8..15) of a Q4_K/Q5_K 12-byte scale array, in
// a dozen vector operations. Scales/mins 0..3 are the low 6 bits of bytes 0..3 / 4..7;
// scales/mins 4..7 take their low 4 bits from the low / high nibbles of bytes 8..11 and their
// top 2 bits from the spare top bits of bytes 0..3 / 4..7. Reads 16 bytes at q: in both block
// types the scales are followed by more of the block.
inline __m128i scales_mins_k4(const uint8_t* q) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q));
    // Low parts: bytes 0..3, 8..11 (low nibbles), 4..7, 8..11 (high nibbles, shifted below).
    const __m128i a = _mm_shuffle_epi8(v, _mm_setr_epi8(0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 8,
                                                        9, 10, 11));
    // Top bits of scales/mins 4..7: the top 2 bits of bytes 0..3 / 4..7 (-1: zero).
    const __m128i b = _mm_shuffle_epi8(v, _mm_setr_epi8(-1, -1, -1, -1, 0, 1, 2, 3, -1, -1, -1,
                                                        -1, 4, 5, 6, 7));
    const __m128i low = _mm_and_si128(
        a, _mm_setr_epi8(63, 63, 63, 63, 15, 15, 15, 15, 63, 63, 63, 63, 0, 0, 0, 0));
    const __m128i high_nibbles = _mm_and_si128(
        _mm_srli_epi16(a, 4), _mm_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 15, 15, 15, 15));
    const __m128i top = _mm_and_si128(_mm_srli_epi16(b, 2), _mm_set1_epi8(0x30));
    return _mm_or_si128(_mm_or_si128(low, high_nibbles), top);
}

// A Q4_K/Q5_K block's d and dmin (adjacent f16 fields) as floats in lanes 0 and 1.
template <typename Block>
__m128 d_dmin(const Block& b) {
    static_assert(offsetof(Block, dmin) == offsetof(Block, d) + 2);
    int32_t bits;
    std::memcpy(&bits, &b.d, 4);
    return _mm_cvtph_ps(_mm_cvtsi32_si128(bits));
}

// acc + dv * (d * si - dmin * mc) for a Q4_K/Q5_K block b, lane by lane: si and mc are the
// tokens' super-block sums and min corrections, dv their activation scales (lane = token).
template <typename Block>
__m256 add_scaled_k4(__m256 acc, __m256 si, __m256 mc, __m256 dv, const Block& b) {
    const __m128 dd = d_dmin(b);
    acc = _mm256_fmadd_ps(si, _mm256_mul_ps(dv, _mm256_broadcastss_ps(dd)), acc);
    return _mm256_fnmadd_ps(mc, _mm256_mul_ps(dv, _mm256_broadcastss_ps(_mm_movehdup_ps(dd))), acc);
}

// The 8 mins of scales_mins_k4's result as int16, in both 128-bit lanes.
inline __m256i mins_both_lanes(__m128i sm) {
    return _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(_mm_srli_si128(sm, 8)));
}

// The 8 mins of scales_mins_k4's result as int16, each twice (m0 m0 m1 m1 .. m7 m7): one per
// 16-element activation bsum.
inline __m256i doubled_mins(__m128i sm) {
    const __m128i mn8 = _mm_srli_si128(sm, 8);
    return _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(mn8, mn8));
}

// The activation scales of NY <= 8 tokens as one float vector per super-block (lane = token,
// zero past NY), cached once per call for rows of up to kCachedSuperBlocks super-blocks.
constexpr int64_t kCachedSuperBlocks = 128;

template <int NY>
struct TokenScales {
    alignas(32) float d[8 * kCachedSuperBlocks];
    const BlockQ8_K* const* ay;
    bool cached;

    TokenScales(const BlockQ8_K* const* rows, int64_t nb)
        : ay(rows), cached(nb <= kCachedSuperBlocks) {
        if (cached) {
            for (int64_t i = 0; i < nb; ++i) fill(i, d + 8 * i);
        }
    }
    void fill(int64_t i, float* dst) const {
        for (int t = 0; t < 8; ++t) dst[t] = t < NY ? ay[t][i].d : 0.0f;
    }
    __m256 get(int64_t i) const {
        if (cached) return _mm256_load_ps(d + 8 * i);
        alignas(32) float tmp[8];
        fill(i, tmp);
        return _mm256_load_ps(tmp);
    }
};

// The 32-element sub-block sums of NY <= 8 tokens' activations (pairs of Q8_K bsums) for the
// Q4_K/Q5_K min correction of a wide gemm, per super-block as 4 vectors (lane = token): lane t
// of vector k holds token t's sums of sub-blocks 2k (low int16) and 2k + 1 (high int16), zero
// past NY. madd of vector k with the dword (min 2k, min 2k + 1) broadcast adds that pair's
// share of sum_s min_s * sum_s(t) to every token's lane at once: 4 madds for all tokens, with
// no reduction. Cached once per call for rows of up to kCachedSuperBlocks super-blocks.
template <int NY>
struct TokenSubSums {
    alignas(32) int32_t v[4 * 8 * kCachedSuperBlocks];
    const BlockQ8_K* const* ay;
    bool cached;

    TokenSubSums(const BlockQ8_K* const* rows, int64_t nb)
        : ay(rows), cached(nb <= kCachedSuperBlocks) {
        if (cached) {
            for (int64_t i = 0; i < nb; ++i) fill(i, v + 32 * i);
        }
    }
    void fill(int64_t i, int32_t* dst) const {
        __m256i s[8];
        for (int t = 0; t < 8; ++t) {
            s[t] = _mm256_setzero_si256();
            if (t >= NY) continue;
            const __m256i bs = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ay[t][i].bsums));
            s[t] = _mm256_zextsi128_si256(
                _mm_hadd_epi16(_mm256_castsi256_si128(bs), _mm256_extracti128_si256(bs, 1)));
        }
        transpose8_epi32(s);
        for (int k = 0; k < 4; ++k) _mm256_store_si256(reinterpret_cast<__m256i*>(dst) + k, s[k]);
    }
    // sum_s mins_s * sum_s(t) in lane t, for super-block i; mins: the 8 mins as int16 in both
    // 128-bit lanes.
    __m256i min_correction(int64_t i, __m256i mins) const {
        alignas(32) int32_t tmp[32];
        const int32_t* p = v + 32 * i;
        if (!cached) {
            fill(i, tmp);
            p = tmp;
        }
        auto part = [&](int k, __m256i m) {
            return _mm256_madd_epi16(_mm256_load_si256(reinterpret_cast<const __m256i*>(p) + k), m);
        };
        return _mm256_add_epi32(
            _mm256_add_epi32(part(0, _mm256_shuffle_epi32(mins, 0x00)),
                             part(1, _mm256_shuffle_epi32(mins, 0x55))),
            _mm256_add_epi32(part(2, _mm256_shuffle_epi32(mins, 0xAA)),
                             part(3, _mm256_shuffle_epi32(mins, 0xFF))));
    }
};

// Decode (one token) streams each weight row from memory once. Each row asks for the bytes
// kPrefetchAhead past its own start, one row's worth: the hardware prefetcher alone left a
// fifth of this machine's bandwidth unused. The requests run on past the last row a call was
// given: a decode step hands a thread its rows in pieces, and what follows a piece is mostly
// the thread's next piece, or the next matrix, which then start with their bytes on the way
// (tg +4-7% on qwen3-0.6b Q4_K_M). A prefetch never faults, wherever it points.
constexpr size_t kPrefetchAhead = 2048;

// Asks for the cache lines of the bytes [p, p + bytes) ahead of their use.
inline void prefetch_bytes(const void* p, size_t bytes) {
    for (size_t off = 0; off < bytes; off += 64)
        _mm_prefetch(static_cast<const char*>(p) + off, _MM_HINT_T0);
}

// Row r's prefetch, its bytes moved kPrefetchAhead on.
inline void prefetch_ahead(const void* w, size_t bw, int64_t r) {
    prefetch_bytes(static_cast<const char*>(w) + static_cast<size_t>(r) * bw + kPrefetchAhead, bw);
}

// The interleaved kernels' form of prefetch_ahead, for the group block of Bytes bytes at p:
// piece `part` of kParts of the next block, kPrefetchAhead on, one instruction per line,
// unrolled (as a loop, with its count and end test per line, the prefetch took a fifth of a
// Q8_0 decode in L2). Measured on a Zen 5, 1024x151936 from DRAM, GB/s (medians of ten runs
// alternated):
// - The distance counts from the next block: a block's fields are not read in order (Q4_K's
//   scales and Q6_K's qh lie past 2 KiB of levels but are read with the first of them), and
//   counted from the block's own start they had no request in flight.
// - A large block asks in pieces, one per step of its sums: the whole of a Q6_K block at
//   once, 53 lines, stalled the loads behind it. Q6_K 56 -> 64, Q4_K 63 -> 74.
template <size_t Bytes, int kParts>
inline void prefetch_group_part(const uint8_t* p, int part) {
    constexpr size_t kPart = Bytes / kParts;
    static_assert(kPart * kParts == Bytes, "the pieces tile the block");
    const uint8_t* q = p + Bytes + kPrefetchAhead + part * kPart;
#pragma GCC unroll 64
    for (size_t off = 0; off < kPart; off += 64) _mm_prefetch(q + off, _MM_HINT_T0);
}

template <typename T>
const T* row(const void* base, size_t stride, int64_t i) {
    return reinterpret_cast<const T*>(static_cast<const uint8_t*>(base) + i * stride);
}

// K::run<NY> handles exactly NY tokens; larger ny is done kMaxNy tokens at a time.
template <typename K, int kMaxNy>
void gemm_dispatch(int64_t n, const void* w, size_t bw, int64_t nr, const void* a, size_t ba,
                   int ny, float* y, size_t by) {
    while (ny > 0) {
        const int take = ny < kMaxNy ? ny : kMaxNy;
        switch (take) {
            case 1:
                K::template run<1>(n, w, bw, nr, a, ba, y, by);
                break;
            case 2:
                K::template run<2>(n, w, bw, nr, a, ba, y, by);
                break;
            case 3:
                K::template run<3>(n, w, bw, nr, a, ba, y, by);
                break;
            case 4:
                K::template run<4>(n, w, bw, nr, a, ba, y, by);
                break;
            case 5:
                if constexpr (kMaxNy >= 5) K::template run<5>(n, w, bw, nr, a, ba, y, by);
                break;
            case 6:
                if constexpr (kMaxNy >= 6) K::template run<6>(n, w, bw, nr, a, ba, y, by);
                break;
            case 7:
                if constexpr (kMaxNy >= 7) K::template run<7>(n, w, bw, nr, a, ba, y, by);
                break;
            default:
                if constexpr (kMaxNy >= 8) K::template run<8>(n, w, bw, nr, a, ba, y, by);
                break;
        }
        ny -= take;
        a = static_cast<const uint8_t*>(a) + take * ba;
        y += take * by;
    }
}

template <typename K>
float vec_dot_via(int64_t n, const void* w, const void* a) {
    float y = 0.0f;
    K::template run<1>(n, w, 0, 1, a, 0, &y, 0);
    return y;
}

// The throughput loops of kernels/peak.h: `rounds` rounds of kChains independent chains acc =
// step(acc), from acc = start(c), enough to cover the instruction's latency. Returns the
// multiply-adds done (madds per step), or 0 if kept(the chains folded by combine) is false,
// which it never is: it keeps the loop from being optimised away.
template <int kChains, typename Start, typename Step, typename Combine, typename Kept>
int64_t chains_loop(int64_t rounds, int64_t madds, Start start, Step step, Combine combine,
                    Kept kept) {
    decltype(start(0)) acc[kChains];
    for (int c = 0; c < kChains; ++c) acc[c] = start(c);
    for (int64_t r = 0; r < rounds; ++r)
        for (int c = 0; c < kChains; ++c) acc[c] = step(acc[c]);
    auto s = acc[0];
    for (int c = 1; c < kChains; ++c) s = combine(s, acc[c]);
    return kept(s) ? rounds * kChains * madds : 0;
}

}  // namespace

}  // namespace hearth::kernels::x86
