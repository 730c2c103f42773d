// The AVX-512 Q8_0, Q4_0 and IQ4_NL kernels, emulated through SIMDe (see avx512_emulation.h),
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

}  // namespace
}  // namespace hearth::kernels::emulated
