// Helpers shared by the AVX-512 kernel files (on top of x86_avx2/common.h).
#pragma once

#include <immintrin.h>

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

}  // namespace

}  // namespace hearth::kernels::avx512
