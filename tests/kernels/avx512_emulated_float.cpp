// The AVX-512 F32, F16 and BF16 kernels, emulated through SIMDe (see avx512_emulation.h), against ref.
#include "avx512_emulation.h"

#define avx512 avx512_emulated
#include "kernels/x86_avx512/float.cpp"
#include "kernels/x86_avx512/bf16.cpp"
#undef avx512

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

}  // namespace
}  // namespace hearth::kernels::emulated
