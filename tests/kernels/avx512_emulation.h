// The AVX-512 kernel files compiled against SIMDe (Debian's libsimde-dev), which implements the
// _mm512_* intrinsics with AVX2, so that the kernels' logic is checked against ref on any AVX2
// machine, not only on the AVX-512 machines that run them for real. An including file defines
// `avx512` as another namespace name, includes one kernel file, and tests its functions with
// expect_matches_ref. Compiled with -mavx2 -mfma -mf16c; run only where the CPU has those.
#pragma once

#include <gtest/gtest.h>
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <initializer_list>
#include <random>
#include <string>
#include <vector>

#include "base/fp16.h"
#include "gguf/types.h"
#include "kernels/dispatch.h"
#include "kernels/interleave.h"
#include "base/thread_pool.h"
#include "kernels/kernels.h"
#include "kernels/matmul.h"
#include "kernel_checks.h"
#include "random_weights.h"

#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>

// Intrinsics the kernels use that this SIMDe version lacks; without these the compiler's own
// AVX-512 versions would be called and fail to inline.
inline simde__m512 emulated_shuffle_f32x4(simde__m512 a, simde__m512 b, int imm) {
    float fa[16], fb[16], r[16];
    simde_mm512_storeu_ps(fa, a);
    simde_mm512_storeu_ps(fb, b);
    for (int i = 0; i < 4; ++i)
        std::memcpy(r + 4 * i, (i < 2 ? fa : fb) + 4 * ((imm >> (2 * i)) & 3), 4 * sizeof(float));
    return simde_mm512_loadu_ps(r);
}
#define _mm512_shuffle_f32x4 emulated_shuffle_f32x4
inline simde__m512i emulated_zextsi256_si512(simde__m256i a) {
    return simde_mm512_inserti64x4(simde_mm512_setzero_si512(), a, 0);
}
#define _mm512_zextsi256_si512 emulated_zextsi256_si512
// The 16 int32 lanes of a, each converted to T (int8, int16: truncated, as vpmovdb and vpmovdw),
// as a vector R of exactly their size.
template <typename T, typename R>
R emulated_convert_epi32(simde__m512i a) {
    static_assert(sizeof(R) == 16 * sizeof(T));
    int32_t x[16];
    T r[16];
    simde_mm512_storeu_si512(x, a);
    for (int i = 0; i < 16; ++i) r[i] = static_cast<T>(x[i]);
    R v;
    std::memcpy(&v, r, sizeof(v));
    return v;
}
#define _mm512_cvtepi32_ps emulated_convert_epi32<float, simde__m512>
#define _mm512_cvtepi32_epi8 emulated_convert_epi32<int8_t, simde__m128i>
#define _mm512_cvtepi32_epi16 emulated_convert_epi32<int16_t, simde__m256i>
inline simde__m512i emulated_srai_epi32(simde__m512i a, unsigned imm) {
    int32_t x[16];
    simde_mm512_storeu_si512(x, a);
    for (int32_t& v : x) v >>= imm;  // arithmetic for negative values since C++20
    return simde_mm512_loadu_si512(x);
}
#define _mm512_srai_epi32 emulated_srai_epi32
// The 16 elements of type T in a (a vector of exactly their size), each widened to int32.
template <typename T, typename V>
simde__m512i emulated_widen_epi32(V a) {
    static_assert(sizeof(V) == 16 * sizeof(T));
    T e[16];
    int32_t r[16];
    std::memcpy(e, &a, sizeof(e));
    for (int i = 0; i < 16; ++i) r[i] = e[i];
    return simde_mm512_loadu_si512(r);
}
#define _mm512_cvtepu8_epi32 emulated_widen_epi32<uint8_t>
#define _mm512_cvtepi16_epi32 emulated_widen_epi32<int16_t>
#define _mm512_cvtepu16_epi32 emulated_widen_epi32<uint16_t>
// vcvtps2ph with round to nearest even (the only rounding the kernels ask for), via F16C.
inline simde__m256i emulated_cvtps_ph(simde__m512 a, int) {
    alignas(32) float f[16];
    simde_mm512_store_ps(f, a);
    const __m128i lo = _mm256_cvtps_ph(_mm256_load_ps(f), _MM_FROUND_TO_NEAREST_INT);
    const __m128i hi = _mm256_cvtps_ph(_mm256_load_ps(f + 8), _MM_FROUND_TO_NEAREST_INT);
    simde__m256i r;
    std::memcpy(&r, &lo, 16);
    std::memcpy(reinterpret_cast<char*>(&r) + 16, &hi, 16);
    return r;
}
#define _mm512_cvtps_ph emulated_cvtps_ph
inline simde__m512 emulated_maskz_loadu_ps(uint16_t k, const void* p) {
    float r[16];
    for (int i = 0; i < 16; ++i) r[i] = (k >> i) & 1 ? static_cast<const float*>(p)[i] : 0.0f;
    return simde_mm512_loadu_ps(r);
}
#define _mm512_maskz_loadu_ps emulated_maskz_loadu_ps
inline void emulated_mask_storeu_ps(void* p, uint16_t k, simde__m512 a) {
    float x[16];
    simde_mm512_storeu_ps(x, a);
    for (int i = 0; i < 16; ++i)
        if ((k >> i) & 1) static_cast<float*>(p)[i] = x[i];
}
#define _mm512_mask_storeu_ps emulated_mask_storeu_ps
// Rounds to nearest, even on ties (the default MXCSR mode).
inline simde__m512i emulated_cvtps_epi32(simde__m512 a) {
    float x[16];
    int32_t r[16];
    simde_mm512_storeu_ps(x, a);
    for (int i = 0; i < 16; ++i) r[i] = static_cast<int32_t>(std::nearbyint(x[i]));
    return simde_mm512_loadu_si512(r);
}
#define _mm512_cvtps_epi32 emulated_cvtps_epi32
inline simde__m512 emulated_cvtph_ps(simde__m256i a) {
    alignas(32) uint16_t h[16];
    float r[16];
    simde_mm256_store_si256(reinterpret_cast<simde__m256i*>(h), a);
    for (int i = 0; i < 16; ++i) r[i] = _cvtsh_ss(h[i]);
    return simde_mm512_loadu_ps(r);
}
#define _mm512_cvtph_ps emulated_cvtph_ps
inline simde__m512i emulated_cvtepi8_epi32(simde__m128i a) {
    int8_t b[16];
    int32_t r[16];
    simde_mm_storeu_si128(reinterpret_cast<simde__m128i*>(b), a);
    for (int i = 0; i < 16; ++i) r[i] = b[i];
    return simde_mm512_loadu_si512(r);
}
#define _mm512_cvtepi8_epi32 emulated_cvtepi8_epi32
#define _mm512_mask_srli_epi16(src, k, a, imm) \
    simde_mm512_mask_mov_epi16((src), (k), simde_mm512_srli_epi16((a), (imm)))
// This SIMDe's alias for _mm512_madd_epi16 takes the masked form's four arguments.
#undef _mm512_madd_epi16
#define _mm512_madd_epi16 simde_mm512_madd_epi16

namespace hearth::kernels::emulated {
using namespace testing;  // kernel_checks.h
}  // namespace hearth::kernels::emulated
