// Helpers shared by the AVX-512 kernel files (on top of x86_avx2/common.h).
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels/interleave.h"
#include "kernels/x86_avx2/common.h"

namespace hearth::kernels::avx512 {

// Unnamed: see x86_avx2/common.h.
namespace {

// _mm512_reduce_add_ps trips a GCC 12 -Wmaybe-uninitialized false positive in its header;
// shuffle_f32x4 brings the upper 256 bits down instead.
inline float hsum512(__m512 v) {
    const __m256 hi = _mm512_castps512_ps256(_mm512_shuffle_f32x4(v, v, 0xEE));
    return x86::hsum(_mm256_add_ps(_mm512_castps512_ps256(v), hi));
}

// Lane t of the result = the sum of the 16 lanes of v[t]: the transposing reduction of
// x86::hsum8_epi32 on 512-bit vectors, whose 128-bit lanes are then summed together.
inline __m256i hsum8x16_epi32(const __m512i v[8]) {
    auto pair = [](__m512i a, __m512i b) {  // per 128-bit lane: a0+a2, b0+b2, a1+a3, b1+b3
        return _mm512_add_epi32(_mm512_unpacklo_epi32(a, b), _mm512_unpackhi_epi32(a, b));
    };
    auto quad = [](__m512i ab, __m512i cd) {  // per 128-bit lane: that lane's sum of a, b, c, d
        return _mm512_add_epi32(_mm512_unpacklo_epi64(ab, cd), _mm512_unpackhi_epi64(ab, cd));
    };
    const __m512i b0 = quad(pair(v[0], v[1]), pair(v[2], v[3]));  // tokens 0..3
    const __m512i b1 = quad(pair(v[4], v[5]), pair(v[6], v[7]));  // tokens 4..7
    // 128-bit lanes 0 + 1 and 2 + 3 of b0, then of b1.
    const __m512i e = _mm512_add_epi32(_mm512_shuffle_i32x4(b0, b1, _MM_SHUFFLE(2, 0, 2, 0)),
                                       _mm512_shuffle_i32x4(b0, b1, _MM_SHUFFLE(3, 1, 3, 1)));
    // b0's two partial sums in the lower 128 bits, b1's in the next.
    return _mm512_castsi512_si256(
        _mm512_add_epi32(_mm512_shuffle_i32x4(e, e, _MM_SHUFFLE(3, 1, 2, 0)),
                         _mm512_shuffle_i32x4(e, e, _MM_SHUFFLE(2, 0, 3, 1))));
}

// exp(x) as x86::exp256 (the same steps and constants), 16 lanes at a time.
inline __m512 exp512(__m512 x) {
    using C = x86::ExpConstants;
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(C::kMin)), _mm512_set1_ps(C::kMax));
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(C::kLog2e)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(C::kLn2Hi), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(C::kLn2Lo), r);
    __m512 p = _mm512_set1_ps(C::kPoly[0]);
    for (int k = 1; k < 6; ++k) p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(C::kPoly[k]));
    const __m512 y =
        _mm512_add_ps(_mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r), _mm512_set1_ps(1.0f));
    // y * 2^n in one instruction, where exp256 builds 2^n's bits (n is whole, and within the
    // normal exponents after the clamp: the same product).
    return _mm512_scalef_ps(y, n);
}

// out[c] lane r = lane c of in[r], for 16 rows of 8 int32 (in is overwritten).
inline void transpose16x8_epi32(__m256i in[16], __m512i out[8]) {
    x86::transpose8_epi32(in);
    x86::transpose8_epi32(in + 8);
    for (int c = 0; c < 8; ++c)
        out[c] = _mm512_inserti64x4(_mm512_castsi256_si512(in[c]), in[8 + c], 1);
}

// Calls f(r, p + r * stride) for the 16 rows r of a packing group. The addresses come from
// four bases (rows 4k..4k+3: base k plus 0..3 strides), each hidden from the optimizer, which
// would otherwise keep 16 row pointers live through the loop and spill them (Q6_K packing ran
// ~8% slower so, the others 0-5%).
template <typename F>
inline void for_rows16(const void* p, size_t stride, F f) {
    for (int k = 0; k < 4; ++k) {
        const uint8_t* q = static_cast<const uint8_t*>(p) + 4 * k * stride;
        asm("" : "+r"(q));
        for (int m = 0; m < 4; ++m) f(4 * k + m, q + m * stride);
    }
}

// The 32 bytes at p + r * stride of the 16 rows r.
inline void load_rows16(const void* p, size_t stride, __m256i out[16]) {
    for_rows16(p, stride, [&](int r, const uint8_t* q) {
        out[r] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q));
    });
}

// P::run<NG, NY>(nb, packed, ay, y, by) for NY = nt (1..8) tokens.
template <typename P, int NG, typename ABlock>
void packed_run(int64_t nb, const uint8_t* packed, const ABlock* const* ay, int nt, float* y,
                size_t by) {
    switch (nt) {
        case 1: P::template run<NG, 1>(nb, packed, ay, y, by); break;
        case 2: P::template run<NG, 2>(nb, packed, ay, y, by); break;
        case 3: P::template run<NG, 3>(nb, packed, ay, y, by); break;
        case 4: P::template run<NG, 4>(nb, packed, ay, y, by); break;
        case 5: P::template run<NG, 5>(nb, packed, ay, y, by); break;
        case 6: P::template run<NG, 6>(nb, packed, ay, y, by); break;
        case 7: P::template run<NG, 7>(nb, packed, ay, y, by); break;
        default: P::template run<NG, 8>(nb, packed, ay, y, by); break;
    }
}

// The packed batch paths' gemm (dispatch.h): P::run<NG, NY>(nb, packed, ay, y, by) takes NG
// groups (nb blocks of P::kBlockBytes each, one group after another) and NY tokens, each
// token's activation row of ABlock blocks ba bytes apart. Groups go P::kGroups at a time (a
// pair lets each activation dword loaded serve 32 rows), tokens in runs of up to 8, so that
// each weight byte loaded serves 8 tokens (pairs of 4 tokens, loading as many activation
// dwords but twice the weight bytes per token, were 1-13% slower).
template <typename P, typename ABlock>
void packed_gemm(int64_t nb, const void* packed, int64_t ng, const void* a, size_t ba, int64_t ny,
                 float* y, size_t by) {
    static_assert(P::kGroups == 1 || P::kGroups == 2);
    const size_t group_bytes = static_cast<size_t>(nb) * P::kBlockBytes;
    for (int64_t g = 0; g < ng; g += P::kGroups) {
        const uint8_t* p = static_cast<const uint8_t*>(packed) + g * group_bytes;
        for (int64_t t0 = 0; t0 < ny; t0 += 8) {
            const ABlock* ay[8];
            const int nt = static_cast<int>(ny - t0 < 8 ? ny - t0 : 8);
            for (int t = 0; t < nt; ++t) ay[t] = x86::row<ABlock>(a, ba, t0 + t);
            float* yt = y + t0 * by + g * P::kRows;
            if constexpr (P::kGroups == 2) {
                if (g + 1 < ng) {
                    packed_run<P, 2>(nb, p, ay, nt, yt, by);
                    continue;
                }
            }
            packed_run<P, 1>(nb, p, ay, nt, yt, by);
        }
    }
}

// One activation dword (4 levels) in every lane.
inline __m512i broadcast_dword(const void* p) {
    int32_t v;
    std::memcpy(&v, p, 4);
    return _mm512_set1_epi32(v);
}

// The loop of the kernels on the interleaved layout (kernels/interleave.h): group by group of
// 16 rows, block by block (kGroupBlock bytes each), block(bytes, i, acc) adds NY tokens' sums
// of block i to acc (lane r = row r); each group's results are then stored token by token.
// With one token, block asks for the next block's bytes itself (x86::prefetch_group_part), in
// pieces between its steps.
template <int NY, size_t kGroupBlock, typename Block>
void interleaved_rows(int64_t nb, const void* w, size_t bw, int64_t nr, float* y, size_t by,
                      Block block) {
    const auto* base = static_cast<const uint8_t*>(w);
    for (int64_t g = 0; g < nr; g += kInterleaveRows) {
        __m512 acc[NY];
        for (int t = 0; t < NY; ++t) acc[t] = _mm512_setzero_ps();
        for (int64_t i = 0; i < nb; ++i) {
            const uint8_t* b = base + g * bw + i * kGroupBlock;
            block(b, i, acc);
        }
        for (int t = 0; t < NY; ++t) _mm512_storeu_ps(y + t * by + g, acc[t]);
    }
}

}  // namespace

}  // namespace hearth::kernels::avx512
