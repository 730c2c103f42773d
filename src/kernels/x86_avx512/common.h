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

}  // namespace

}  // namespace hearth::kernels::avx512
