// Every packed batch path of every ISA this machine runs, against the ref kernels: the packed
// gemm on its own, and through matmul() below, at and past its token threshold.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "base/fp16.h"

#include "gguf/types.h"
#include "kernel_checks.h"
#include "kernels/dispatch.h"
#include "kernels/ref/blocks.h"

namespace hearth::kernels {
namespace {

using gguf::TensorType;

// Calls f(isa, t, kernels) for each packed path of the ISAs here; returns how many.
template <typename F>
int for_each_packed_path(F f) {
    int n = 0;
    for (Isa isa : available_isas()) {
        if (isa == Isa::Exact || isa == Isa::Ref) continue;
        for (TensorType t :
             {TensorType::F16, TensorType::BF16, TensorType::Q4_0, TensorType::Q4_1,
              TensorType::Q5_0, TensorType::Q5_1, TensorType::Q8_0, TensorType::IQ4_NL,
              TensorType::Q2_K, TensorType::Q3_K, TensorType::Q4_K, TensorType::Q5_K,
              TensorType::Q6_K, TensorType::IQ4_XS}) {
            const MatmulKernels* k = matmul_kernels(t, isa);
            if (k == nullptr || k->gemm_packed == nullptr) continue;
            SCOPED_TRACE(std::string(isa_name(isa)) + " " + std::string(gguf::type_name(t)));
            f(t, *k);
            ++n;
        }
    }
    return n;
}

TEST(PackedPaths, MatchRefOnEveryIsa) {
    const int checked = for_each_packed_path([](TensorType t, const MatmulKernels& k) {
        testing::expect_packed_matches_ref(t, k, {256, 1024, 3072});
        testing::expect_matmul_with_packed_matches_ref(t, k);
    });
    if (checked == 0) GTEST_SKIP() << "no ISA here has a packed path";
}

// The quantized types' weight bytes all 0xFF but the F16 scales (the largest unsigned level of most types, with the
// largest sub-block scales and mins), against activation rows of one repeated value (level 127
// or -127 everywhere): the largest sums a packed gemm can meet, which must not overflow its
// integer lanes (the AVX2 kernels sum vpmaddubsw's int16 products before widening them).
TEST(PackedPaths, LargestLevelsMatchRef) {
    constexpr int64_t kN = 1024, kGroups = 3, kRows = kGroups * kPackRows, kTokens = 9;
    const int checked = for_each_packed_path([&](TensorType t, const MatmulKernels& k) {
        if (half_scale_offsets(t).empty()) return;  // F16, BF16: 0xFFFF is a NaN
        const MatmulKernels* ref = matmul_kernels(t, Isa::Ref);
        const size_t bw = testing::row_bytes(t, kN), ba = testing::row_bytes(ref->vec_dot_type, kN);
        std::vector<uint8_t> w(bw * kRows, 0xFF);
        const uint16_t scale = f32_to_f16(1.0f / 1024);
        for (size_t off = 0; off < w.size(); off += gguf::traits(t).block_bytes)
            for (size_t at : half_scale_offsets(t)) std::memcpy(&w[off + at], &scale, 2);
        const size_t pba = k.packed_act_bytes != nullptr ? k.packed_act_bytes(kN) : ba;
        std::vector<uint8_t> a(ba * kTokens), pa(pba * kTokens);
        for (int64_t i = 0; i < kTokens; ++i) {
            const std::vector<float> x(kN, i % 2 == 0 ? 0.5f : -2.0f);
            ref->quantize(x.data(), a.data() + i * ba, kN);
            (k.packed_quantize ? k.packed_quantize : ref->quantize)(x.data(), pa.data() + i * pba,
                                                                  kN);
        }
        std::vector<uint8_t> packed(k.packed_bytes(kN) * kGroups);
        pack_groups(k, kN, w.data(), bw, kGroups, packed.data());
        std::vector<float> want(kTokens * kRows), got(kTokens * kRows, NAN);
        for (int64_t t0 = 0; t0 < kTokens; t0 += 8)
            ref->gemm(kN, w.data(), bw, kRows, a.data() + t0 * ba, ba,
                      static_cast<int>(std::min<int64_t>(8, kTokens - t0)), want.data() + t0 * kRows,
                      kRows);
        k.gemm_packed(kN, packed.data(), kGroups, pa.data(), pba, kTokens, got.data(), kRows);
        for (size_t i = 0; i < want.size(); ++i)
            ASSERT_NEAR(got[i], want[i], 1e-5f * (1.0f + std::fabs(want[i])))
                << "row " << i % kRows << " token " << i / kRows;
    });
    if (checked == 0) GTEST_SKIP() << "no ISA here has a packed path";
}

// The AVX2 table has the K-quants' packed paths (so that the tests above cover them).
TEST(PackedPaths, Avx2HasTheKQuants) {
    if (!testing::host_has_avx2()) GTEST_SKIP() << "no AVX2 here";
    for (TensorType t :
         {TensorType::Q2_K, TensorType::Q3_K, TensorType::Q4_K, TensorType::Q5_K, TensorType::Q6_K}) {
        const MatmulKernels* k = matmul_kernels(t, Isa::Avx2);
        ASSERT_NE(k, nullptr);
        EXPECT_NE(k->gemm_packed, nullptr) << gguf::type_name(t);
    }
}

}  // namespace
}  // namespace hearth::kernels
