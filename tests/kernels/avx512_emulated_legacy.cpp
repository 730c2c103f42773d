// The AVX-512 Q8_0, Q4_0 and IQ4_NL kernels (and the Q5_0 packing), emulated through SIMDe (see avx512_emulation.h),
// against ref.
#include "avx512_emulation.h"

#define avx512 avx512_emulated
#include "kernels/x86_avx512/legacy.cpp"
#undef avx512

namespace hearth::kernels::emulated {
namespace {

TEST(Avx512Emulated, LegacyQuantsMatchRef) {
    if (!host_has_avx2()) GTEST_SKIP() << "the emulation runs on AVX2";
    // Row lengths for every path: one token takes block pairs for an even count of up to 256
    // blocks (8 and 32 here) and the narrow path otherwise (9 and 1032 blocks); 5..8 tokens
    // interleave rows of up to 128 blocks.
    const std::initializer_list<int64_t> sizes = {256, 288, 1024, 33024};
    expect_matches_ref(gguf::TensorType::Q8_0, avx512_emulated::gemm_q8_0_q8_0,
                       avx512_emulated::vec_dot_q8_0_q8_0, sizes);
    expect_matches_ref(gguf::TensorType::Q4_0, avx512_emulated::gemm_q4_0_q8_0,
                       avx512_emulated::vec_dot_q4_0_q8_0, sizes);
    expect_matches_ref(gguf::TensorType::IQ4_NL, avx512_emulated::gemm_iq4_nl_q8_0,
                       avx512_emulated::vec_dot_iq4_nl_q8_0, sizes);
}

// The packed Q8_0 batch path, which takes activations with their levels plus 128: the biased
// quantizer against ref's bytes, then pack + gemm_packed and matmul() against ref.
TEST(Avx512Emulated, PackedQ80MatchesRef) {
    if (!host_has_avx2()) GTEST_SKIP() << "the emulation runs on AVX2";
    const MatmulKernels* ref = matmul_kernels(gguf::TensorType::Q8_0, Isa::Ref);
    ASSERT_NE(ref, nullptr);
    std::mt19937 rng(5);
    const std::vector<float> x = testing::gaussian(1024, rng);
    std::vector<BlockQ8_0> want(1024 / kQK), got(1024 / kQK);
    ref->quantize(x.data(), want.data(), 1024);
    avx512_emulated::quantize_row_q8_0_biased(x.data(), got.data(), 1024);
    for (size_t i = 0; i < want.size(); ++i) {
        ASSERT_EQ(got[i].d, want[i].d) << "block " << i;
        for (int j = 0; j < kQK; ++j)
            ASSERT_EQ(static_cast<uint8_t>(got[i].qs[j]), static_cast<uint8_t>(want[i].qs[j] ^ 0x80))
                << "block " << i << " level " << j;
    }
    const MatmulKernels k = kernels_with(
        gguf::TensorType::Q8_0, avx512_emulated::vec_dot_q8_0_q8_0, avx512_emulated::gemm_q8_0_q8_0,
        avx512_emulated::packed_bytes_q8_0, avx512_emulated::pack_q8_0,
        avx512_emulated::gemm_packed_q8_0_q8_0, avx512_emulated::quantize_row_q8_0_biased);
    expect_packed_matches_ref(gguf::TensorType::Q8_0, k, {32, 1024, 3072});
    expect_matmul_with_packed_matches_ref(gguf::TensorType::Q8_0, k);
}

// Q4_0, Q5_0 and IQ4_NL through the packed Q8_0 gemm, their levels widened as they pack (the
// per-row kernels are ref's: only the packed path is new here).
TEST(Avx512Emulated, PackedAsQ80MatchesRef) {
    if (!host_has_avx2()) GTEST_SKIP() << "the emulation runs on AVX2";
    const std::pair<gguf::TensorType, PackFn> cases[] = {
        {gguf::TensorType::Q4_0, avx512_emulated::pack_q4_0},
        {gguf::TensorType::Q5_0, avx512_emulated::pack_q5_0},
        {gguf::TensorType::IQ4_NL, avx512_emulated::pack_iq4_nl}};
    for (const auto& [t, pack] : cases) {
        SCOPED_TRACE(gguf::type_name(t));
        const MatmulKernels* ref = matmul_kernels(t, Isa::Ref);
        ASSERT_NE(ref, nullptr);
        MatmulKernels k = kernels_with(t, ref->vec_dot, ref->gemm, avx512_emulated::packed_bytes_q8_0,
                                       pack, avx512_emulated::gemm_packed_q8_0_q8_0,
                                       avx512_emulated::quantize_row_q8_0_biased);
        k.gemm_tokens = ref->gemm_tokens;
        k.pack_min_tokens = 8;
        expect_packed_matches_ref(t, k, {32, 1024, 3072});
        expect_matmul_with_packed_matches_ref(t, k);
    }
}

}  // namespace
}  // namespace hearth::kernels::emulated

namespace hearth::kernels::emulated {
namespace {

// The interleaved Q8_0 decode kernel's activations: ref's levels and scale (as a float), and
// -128 times the sum of the block's levels.
TEST(Avx512Emulated, SummedQ80HoldsRefLevelsAndSums) {
    if (!host_has_avx2()) GTEST_SKIP() << "the emulation runs on AVX2";
    const MatmulKernels* ref = matmul_kernels(gguf::TensorType::Q8_0, Isa::Ref);
    ASSERT_NE(ref, nullptr);
    std::mt19937 rng(6);
    std::vector<float> x = testing::gaussian(1024, rng);
    for (int j = 0; j < kQK; ++j) x[32 + j] = 0.0f;  // a block of zeros
    for (int j = 0; j < kQK; ++j) x[64 + j] = -1.0f;  // every level -127
    for (int j = 0; j < kQK; ++j) x[96 + j] = 2.0f;  // every level 127
    std::vector<BlockQ8_0> want(1024 / kQK);
    ref->quantize(x.data(), want.data(), 1024);
    using avx512_emulated::BlockQ8_0Sum;
    ASSERT_EQ(avx512_emulated::row_bytes_q8_0_sum(1024), 1024 / kQK * sizeof(BlockQ8_0Sum));
    std::vector<BlockQ8_0Sum> got(1024 / kQK);
    avx512_emulated::quantize_row_q8_0_sum(x.data(), got.data(), 1024);
    for (size_t i = 0; i < want.size(); ++i) {
        ASSERT_EQ(got[i].d, f16_to_f32(want[i].d)) << "block " << i;
        int32_t sum = 0;
        for (int j = 0; j < kQK; ++j) {
            ASSERT_EQ(got[i].qs[j], want[i].qs[j]) << "block " << i << " level " << j;
            sum += want[i].qs[j];
        }
        ASSERT_EQ(got[i].off, -128 * sum) << "block " << i;
    }
    EXPECT_EQ(got[2].off, -128 * 32 * -127);
    EXPECT_EQ(got[3].off, -128 * 32 * 127);
}

TEST(Avx512Emulated, InterleavedQ80MatchesRef) {
    if (!host_has_avx2()) GTEST_SKIP() << "the emulation runs on AVX2";
    MatmulKernels k = kernels_with(
        gguf::TensorType::Q8_0, avx512_emulated::vec_dot_q8_0_q8_0,
        avx512_emulated::gemm_q8_0_interleaved_q8_0, avx512_emulated::packed_bytes_q8_0,
        avx512_emulated::pack_q8_0_interleaved, avx512_emulated::gemm_packed_q8_0_q8_0,
        avx512_emulated::quantize_row_q8_0_biased);
    k.quantize = avx512_emulated::quantize_row_q8_0_sum;
    k.act_bytes = avx512_emulated::row_bytes_q8_0_sum;
    expect_interleaved_matches_ref(gguf::TensorType::Q8_0, k);
}

}  // namespace
}  // namespace hearth::kernels::emulated
