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

inline bool host_has_avx2() {
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
           __builtin_cpu_supports("f16c");
}

// gemm (for 1..8 tokens) and vec_dot of weight type t against the ref kernels on the same
// quantized activations: rows of n elements (several block lengths), weights from
// random_weights.h.
inline void expect_matches_ref(gguf::TensorType t, GemmFn gemm, VecDotFn vec_dot,
                               std::initializer_list<int64_t> sizes = {256, 1024, 33024}) {
    const MatmulKernels* ref = matmul_kernels(t, Isa::Ref);
    ASSERT_NE(ref, nullptr);
    for (int64_t n : sizes) {
        constexpr int64_t kRows = 5;
        std::mt19937 rng(static_cast<uint32_t>(n) + static_cast<uint32_t>(t));
        const std::vector<uint8_t> wq = testing::make_weights(t, kRows, n, rng);
        const std::vector<float> x = testing::gaussian(static_cast<size_t>(8 * n), rng);
        const size_t bw = testing::row_bytes(t, n), ba = testing::row_bytes(ref->vec_dot_type, n);
        std::vector<uint8_t> aq(8 * ba);
        for (int64_t i = 0; i < 8; ++i) {
            if (ref->quantize) ref->quantize(x.data() + i * n, aq.data() + i * ba, n);
            else std::memcpy(aq.data() + i * ba, x.data() + i * n, ba);
        }
        auto close = [](float got, float want) {
            return std::fabs(got - want) <= 1e-4f * (1.0f + std::fabs(want)) * 8;
        };
        for (int ny = 1; ny <= 8; ++ny) {
            std::vector<float> want(ny * kRows), got(ny * kRows, NAN);
            ref->gemm(n, wq.data(), bw, kRows, aq.data(), ba, ny, want.data(), kRows);
            gemm(n, wq.data(), bw, kRows, aq.data(), ba, ny, got.data(), kRows);
            for (size_t i = 0; i < want.size(); ++i)
                ASSERT_TRUE(close(got[i], want[i]))
                    << gguf::type_name(t) << " n " << n << " ny " << ny << " row " << i % kRows
                    << " token " << i / kRows << ": " << got[i] << " vs ref " << want[i];
        }
        for (int64_t r = 0; r < kRows; ++r) {
            const float want = ref->vec_dot(n, wq.data() + r * bw, aq.data());
            const float got = vec_dot(n, wq.data() + r * bw, aq.data());
            ASSERT_TRUE(close(got, want)) << gguf::type_name(t) << " vec_dot n " << n << ": "
                                          << got << " vs ref " << want;
        }
    }
}

// ref's kernel set for type t (activation layout and quantizer) with the given kernels in it.
inline MatmulKernels kernels_with(gguf::TensorType t, VecDotFn vec_dot, GemmFn gemm,
                                  PackedBytesFn packed_bytes, PackFn pack,
                                  PackedGemmFn gemm_packed, ActQuantizeFn packed_quantize = nullptr) {
    MatmulKernels k = *matmul_kernels(t, Isa::Ref);
    k.vec_dot = vec_dot;
    k.gemm = gemm;
    k.gemm_tokens = kMaxGemmTokens;
    k.packed_bytes = packed_bytes;
    k.pack = pack;
    k.gemm_packed = gemm_packed;
    k.packed_quantize = packed_quantize;
    return k;
}

// A packed batch path (k's pack, gemm_packed and, if set, packed_quantize) against the ref
// gemm: three groups of kPackRows rows of n elements (a pair and a lone one) for each n in
// sizes, token counts across one and several runs of 8.
inline void expect_packed_matches_ref(gguf::TensorType t, const MatmulKernels& k,
                                      std::initializer_list<int64_t> sizes) {
    const MatmulKernels* ref = matmul_kernels(t, Isa::Ref);
    ASSERT_NE(ref, nullptr);
    constexpr int64_t kGroups = 3, kRows = kGroups * kPackRows, kTokens = 19;
    for (int64_t n : sizes) {
        std::mt19937 rng(static_cast<uint32_t>(n));
        const std::vector<uint8_t> w = testing::make_weights(t, kRows, n, rng);
        const std::vector<float> x = testing::gaussian(static_cast<size_t>(kTokens * n), rng);
        const size_t bw = testing::row_bytes(t, n), ba = testing::row_bytes(ref->vec_dot_type, n);
        const size_t pba = k.packed_act_bytes != nullptr ? k.packed_act_bytes(n) : ba;
        std::vector<uint8_t> a(kTokens * ba), pa(kTokens * pba);
        for (int64_t i = 0; i < kTokens; ++i) {
            ref->quantize(x.data() + i * n, a.data() + i * ba, n);
            (k.packed_quantize ? k.packed_quantize : ref->quantize)(x.data() + i * n,
                                                                   pa.data() + i * pba, n);
        }
        std::vector<uint8_t> packed(k.packed_bytes(n) * kGroups);
        pack_groups(k, n, w.data(), bw, kGroups, packed.data());
        for (int64_t ny : std::initializer_list<int64_t>{1, 3, 8, 13, kTokens}) {
            std::vector<float> want(ny * kRows), got(ny * kRows, NAN);
            for (int64_t t0 = 0; t0 < ny; t0 += 8)
                ref->gemm(n, w.data(), bw, kRows, a.data() + t0 * ba, ba,
                          static_cast<int>(std::min<int64_t>(8, ny - t0)), want.data() + t0 * kRows,
                          kRows);
            k.gemm_packed(n, packed.data(), kGroups, pa.data(), pba, ny, got.data(), kRows);
            for (size_t i = 0; i < want.size(); ++i)
                ASSERT_NEAR(got[i], want[i], 8e-4f * (1.0f + std::fabs(want[i])))
                    << gguf::type_name(t) << " n " << n << " ny " << ny << " row " << i % kRows
                    << " token " << i / kRows;
        }
    }
}

// matmul() with kernels k (packed path included) against matmul() on ref: row counts that
// leave rows outside whole groups of 16 (and row tiles of 32), token counts below, at and
// above k's packing threshold, the product twice in one group.
inline void expect_matmul_with_packed_matches_ref(gguf::TensorType t, const MatmulKernels& k) {
    ThreadPool pool(2);
    constexpr int64_t kIn = 512;
    for (int64_t n_out : {23, 40, 80}) {
        std::mt19937 rng(static_cast<uint32_t>(n_out));
        const std::vector<uint8_t> wq = testing::make_weights(t, n_out, kIn, rng);
        const WeightView w{.type = t, .data = wq.data(), .n_in = kIn, .n_out = n_out,
                           .row_bytes = testing::row_bytes(t, kIn)};
        for (int64_t n_tokens : {int64_t{9}, k.pack_min_tokens, k.pack_min_tokens + 5}) {
            const std::vector<float> x = testing::gaussian(static_cast<size_t>(n_tokens * kIn), rng);
            std::vector<float> want(n_tokens * n_out), got(n_tokens * n_out, NAN),
                got2(n_tokens * n_out, NAN);
            matmul(w, x.data(), want.data(), n_tokens, pool, Isa::Ref);
            // Twice in one group: the second product reuses the first one's activations.
            const MatmulOut outs[2] = {{w, got.data()}, {w, got2.data()}};
            const MatmulKernels* kp[2] = {&k, &k};
            matmul_group_with(outs, kp, x.data(), n_tokens, pool);
            for (size_t i = 0; i < want.size(); ++i) {
                ASSERT_NEAR(got[i], want[i], 8e-4f * (1.0f + std::fabs(want[i])))
                    << gguf::type_name(t) << " rows " << n_out << " tokens " << n_tokens
                    << " row " << i % n_out << " token " << i / n_out;
                ASSERT_EQ(got2[i], got[i]) << "second product, " << i;
            }
        }
    }
}

// Kernels k for the interleaved layout (kernels/interleave.h) through matmul: decode rows
// split over two threads, token groups of 1..8, and the packed path fed from the groups,
// against ref on the plain rows.
inline void expect_interleaved_matches_ref(gguf::TensorType t, const MatmulKernels& k) {
    ThreadPool pool(2);
    constexpr int64_t kIn = 512, kOut = 48;
    std::mt19937 rng(3);
    const std::vector<uint8_t> wq = testing::make_weights(t, kOut, kIn, rng);
    std::vector<uint8_t> il(wq.size());
    interleave(t, kIn, kOut, wq.data(), il.data());
    const WeightView plain{.type = t,
                           .data = wq.data(),
                           .n_in = kIn,
                           .n_out = kOut,
                           .row_bytes = testing::row_bytes(t, kIn)};
    WeightView inter = plain;
    inter.data = il.data();
    inter.interleaved = true;
    for (int64_t n_tokens : {1, 3, 8, 20}) {
        const std::vector<float> x = testing::gaussian(static_cast<size_t>(n_tokens * kIn), rng);
        std::vector<float> want(n_tokens * kOut), got(n_tokens * kOut, NAN);
        matmul(plain, x.data(), want.data(), n_tokens, pool, Isa::Ref);
        const MatmulOut out{inter, got.data()};
        const MatmulKernels* kp = &k;
        matmul_group_with({&out, 1}, &kp, x.data(), n_tokens, pool);
        for (size_t i = 0; i < want.size(); ++i)
            ASSERT_NEAR(got[i], want[i], 8e-4f * (1.0f + std::fabs(want[i])))
                << gguf::type_name(t) << " tokens " << n_tokens << " row " << i % kOut
                << " token " << i / kOut;
    }
}

}  // namespace hearth::kernels::emulated
