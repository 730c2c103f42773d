// Checks of a kernel set against the ref kernels, shared by the tests of the AVX2 kernels and of
// the AVX-512 kernels under emulation (avx512_emulation.h).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <initializer_list>
#include <random>
#include <vector>

#include "base/thread_pool.h"
#include "gguf/types.h"
#include "kernels/dispatch.h"
#include "kernels/interleave.h"
#include "kernels/kernels.h"
#include "kernels/matmul.h"
#include "random_weights.h"

namespace hearth::kernels::testing {

inline bool host_has_avx2() {
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
           __builtin_cpu_supports("f16c");
}

// gemm (for 1..8 tokens) and vec_dot of weight type t against the ref kernels on the same
// quantized activations: rows of n elements (several block lengths), weights from
// random_weights.h. The default lengths are 1, 4, 6, 7 and 129 super-blocks: the one-token
// K-quant kernels take super-blocks in groups of 4 and then 1 to 3, and rows past 128 on
// the general path.
inline void expect_matches_ref(gguf::TensorType t, GemmFn gemm, VecDotFn vec_dot,
                               std::initializer_list<int64_t> sizes = {256, 1024, 1536, 1792,
                                                                       33024}) {
    const MatmulKernels* ref = matmul_kernels(t, Isa::Ref);
    ASSERT_NE(ref, nullptr);
    for (int64_t n : sizes) {
        constexpr int64_t kRows = 5;
        std::mt19937 rng(static_cast<uint32_t>(n) + static_cast<uint32_t>(t));
        const std::vector<uint8_t> wq = make_weights(t, kRows, n, rng);
        const std::vector<float> x = gaussian(static_cast<size_t>(8 * n), rng);
        const size_t bw = row_bytes(t, n), ba = row_bytes(ref->vec_dot_type, n);
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
        const std::vector<uint8_t> w = make_weights(t, kRows, n, rng);
        const std::vector<float> x = gaussian(static_cast<size_t>(kTokens * n), rng);
        const size_t bw = row_bytes(t, n), ba = row_bytes(ref->vec_dot_type, n);
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
        const std::vector<uint8_t> wq = make_weights(t, n_out, kIn, rng);
        const WeightView w{.type = t, .data = wq.data(), .n_in = kIn, .n_out = n_out,
                           .row_bytes = row_bytes(t, kIn)};
        for (int64_t n_tokens : {int64_t{9}, k.pack_min_tokens, k.pack_min_tokens + 5}) {
            const std::vector<float> x = gaussian(static_cast<size_t>(n_tokens * kIn), rng);
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
    const std::vector<uint8_t> wq = make_weights(t, kOut, kIn, rng);
    std::vector<uint8_t> il(wq.size());
    interleave(t, kIn, kOut, wq.data(), il.data());
    const WeightView plain{.type = t,
                           .data = wq.data(),
                           .n_in = kIn,
                           .n_out = kOut,
                           .row_bytes = row_bytes(t, kIn)};
    WeightView inter = plain;
    inter.data = il.data();
    inter.interleaved = true;
    for (int64_t n_tokens : {1, 3, 8, 20}) {
        const std::vector<float> x = gaussian(static_cast<size_t>(n_tokens * kIn), rng);
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

}  // namespace hearth::kernels::testing
