// The AVX-512 F32, F16 and BF16 kernels and the packed F16 and BF16 batches, emulated through
// SIMDe (see avx512_emulation.h), against ref; SwiGLU and SiLU against the AVX2 kernels, whose
// bits they must give.
#include "avx512_emulation.h"

#include <tuple>

#define avx512 avx512_emulated
#include "kernels/x86_avx512/float.cpp"
#include "kernels/x86_avx512/bf16.cpp"
#include "kernels/x86_avx512/activation.cpp"
#undef avx512

#include "kernels/x86_avx2/kernels_avx2.h"

namespace hearth::kernels::emulated {
namespace {

TEST(Avx512Emulated, FloatKernelsMatchRef) {
    if (!host_has_avx2()) GTEST_SKIP() << "the emulation runs on AVX2";
    // Row lengths past whole 32-element steps too: tails of 8, 13 and 7 elements.
    const std::initializer_list<int64_t> sizes = {256, 1000, 33024, 45, 7};
    expect_matches_ref(gguf::TensorType::F32, avx512_emulated::gemm_f32_f32,
                       avx512_emulated::vec_dot_f32_f32, sizes);
    expect_matches_ref(gguf::TensorType::F16, avx512_emulated::gemm_f16_f16,
                       avx512_emulated::vec_dot_f16_f16, sizes);
    expect_matches_ref(gguf::TensorType::BF16, avx512_emulated::gemm_bf16_bf16,
                       avx512_emulated::vec_dot_bf16_bf16, sizes);
}

// The packed F16 and BF16 batches (rows widened to floats in lanes), rows with a tail past
// whole 16-element steps too.
TEST(Avx512Emulated, PackedHalfMatchesRef) {
    if (!host_has_avx2()) GTEST_SKIP() << "the emulation runs on AVX2";
    const std::tuple<gguf::TensorType, PackFn, PackedGemmFn, ActQuantizeFn> cases[] = {
        {gguf::TensorType::F16, avx512_emulated::pack_f16, avx512_emulated::gemm_packed_f16_f16,
         avx512_emulated::quantize_row_f16_widened},
        {gguf::TensorType::BF16, avx512_emulated::pack_bf16,
         avx512_emulated::gemm_packed_bf16_bf16, avx512_emulated::quantize_row_bf16_widened}};
    for (const auto& [t, pack, gemm, act] : cases) {
        SCOPED_TRACE(gguf::type_name(t));
        const MatmulKernels* ref = matmul_kernels(t, Isa::Ref);
        ASSERT_NE(ref, nullptr);
        MatmulKernels k = kernels_with(t, ref->vec_dot, ref->gemm, avx512_emulated::packed_bytes_f16,
                                       pack, gemm, act);
        k.packed_act_bytes = avx512_emulated::row_bytes_f32;
        k.gemm_tokens = ref->gemm_tokens;
        k.pack_min_tokens = 8;
        expect_packed_matches_ref(t, k, {40, 1000, 3072});
        expect_matmul_with_packed_matches_ref(t, k);
    }
}

// The packed path's float activations: ref's F16 and BF16 roundings, widened back, bit for bit.
TEST(Avx512Emulated, WidenedActivationsAreRefRoundings) {
    if (!host_has_avx2()) GTEST_SKIP() << "the emulation runs on AVX2";
    const std::vector<float> x = testing::rounding_cases();
    std::vector<float> got(x.size());
    const int64_t n = static_cast<int64_t>(x.size());
    avx512_emulated::quantize_row_f16_widened(x.data(), got.data(), n);
    EXPECT_EQ(testing::first_unlike_widened_rounding(gguf::TensorType::F16, x, got.data()), -1);
    avx512_emulated::quantize_row_bf16_widened(x.data(), got.data(), n);
    EXPECT_EQ(testing::first_unlike_widened_rounding(gguf::TensorType::BF16, x, got.data()), -1);
}

TEST(Avx512Emulated, ActivationsMatchAvx2Bits) {
    if (!host_has_avx2()) GTEST_SKIP() << "the emulation runs on AVX2";
    std::mt19937 rng(3);
    std::normal_distribution<float> g(0.0f, 6.0f);
    for (int64_t n : {1, 15, 16, 17, 1003}) {  // masked tails of every length class
        std::vector<float> gate(n), up(n);
        for (int64_t i = 0; i < n; ++i) gate[i] = g(rng), up[i] = g(rng);
        gate[0] = -100.0f, gate[n - 1] = 90.0f;
        std::vector<float> want = gate, got = gate;
        avx2::swiglu(want.data(), up.data(), n);
        avx512_emulated::swiglu(got.data(), up.data(), n);
        EXPECT_EQ(0, std::memcmp(got.data(), want.data(), n * sizeof(float))) << "swiglu n " << n;
        want = gate, got = gate;
        avx2::silu(want.data(), n);
        avx512_emulated::silu(got.data(), n);
        EXPECT_EQ(0, std::memcmp(got.data(), want.data(), n * sizeof(float))) << "silu n " << n;
    }
}

}  // namespace
}  // namespace hearth::kernels::emulated
