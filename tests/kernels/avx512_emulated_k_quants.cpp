// The AVX-512 K-quant kernels, emulated through SIMDe (see avx512_emulation.h), against ref.
#include "avx512_emulation.h"

#define avx512 avx512_emulated
#include "kernels/x86_avx512/k_quants.cpp"
#undef avx512

namespace hearth::kernels::emulated {
namespace {

TEST(Avx512Emulated, KQuantsMatchRef) {
    if (!host_has_avx2()) GTEST_SKIP() << "the emulation runs on AVX2";
    expect_matches_ref(gguf::TensorType::Q2_K, avx512_emulated::gemm_q2_K_q8_K,
                       avx512_emulated::vec_dot_q2_K_q8_K);
    expect_matches_ref(gguf::TensorType::Q3_K, avx512_emulated::gemm_q3_K_q8_K,
                       avx512_emulated::vec_dot_q3_K_q8_K);
    expect_matches_ref(gguf::TensorType::Q4_K, avx512_emulated::gemm_q4_K_q8_K,
                       avx512_emulated::vec_dot_q4_K_q8_K);
    expect_matches_ref(gguf::TensorType::Q5_K, avx512_emulated::gemm_q5_K_q8_K,
                       avx512_emulated::vec_dot_q5_K_q8_K);
    expect_matches_ref(gguf::TensorType::Q6_K, avx512_emulated::gemm_q6_K_q8_K,
                       avx512_emulated::vec_dot_q6_K_q8_K);
    expect_matches_ref(gguf::TensorType::IQ4_XS, avx512_emulated::gemm_iq4_xs_q8_K,
                       avx512_emulated::vec_dot_iq4_xs_q8_K);
}

}  // namespace
}  // namespace hearth::kernels::emulated

namespace hearth::kernels::emulated {
namespace {

TEST(Avx512Emulated, PackedQ4KMatchesRef) {
    if (!host_has_avx2()) GTEST_SKIP() << "the emulation runs on AVX2";
    const MatmulKernels k = kernels_with(
        gguf::TensorType::Q4_K, avx512_emulated::vec_dot_q4_K_q8_K, avx512_emulated::gemm_q4_K_q8_K,
        avx512_emulated::packed_bytes_q4_K, avx512_emulated::pack_q4_K,
        avx512_emulated::gemm_packed_q4_K_q8_K);
    expect_packed_matches_ref(gguf::TensorType::Q4_K, k, {256, 1024, 3072});
    expect_matmul_with_packed_matches_ref(gguf::TensorType::Q4_K, k);
}

TEST(Avx512Emulated, PackedQ5KMatchesRef) {
    if (!host_has_avx2()) GTEST_SKIP() << "the emulation runs on AVX2";
    const MatmulKernels k = kernels_with(
        gguf::TensorType::Q5_K, avx512_emulated::vec_dot_q5_K_q8_K, avx512_emulated::gemm_q5_K_q8_K,
        avx512_emulated::packed_bytes_q4_K, avx512_emulated::pack_q5_K,
        avx512_emulated::gemm_packed_q4_K_q8_K);
    expect_packed_matches_ref(gguf::TensorType::Q5_K, k, {256, 1024, 3072});
    expect_matmul_with_packed_matches_ref(gguf::TensorType::Q5_K, k);
}

TEST(Avx512Emulated, PackedQ6KMatchesRef) {
    if (!host_has_avx2()) GTEST_SKIP() << "the emulation runs on AVX2";
    const MatmulKernels k = kernels_with(
        gguf::TensorType::Q6_K, avx512_emulated::vec_dot_q6_K_q8_K, avx512_emulated::gemm_q6_K_q8_K,
        avx512_emulated::packed_bytes_q6_K, avx512_emulated::pack_q6_K,
        avx512_emulated::gemm_packed_q6_K_q8_K);
    expect_packed_matches_ref(gguf::TensorType::Q6_K, k, {256, 1024, 3072});
    expect_matmul_with_packed_matches_ref(gguf::TensorType::Q6_K, k);
}

}  // namespace
}  // namespace hearth::kernels::emulated
