// The AVX-512 F32, F16 and BF16 kernels, emulated through SIMDe (see avx512_emulation.h), against
// ref; SwiGLU and SiLU against the AVX2 kernels, whose bits they must give.
#include "avx512_emulation.h"

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
