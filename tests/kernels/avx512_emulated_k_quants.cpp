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
        avx512_emulated::gemm_packed_q4_K_q8_K, avx512_emulated::quantize_row_q8_K_paired);
    expect_packed_matches_ref(gguf::TensorType::Q4_K, k, {256, 1024, 3072});
    expect_matmul_with_packed_matches_ref(gguf::TensorType::Q4_K, k);
}

// The emulated packed Q4_K gemm with one result off: the last token's row 3.
void off_by_one_result(int64_t n, const void* packed, int64_t ng, const void* a, size_t ba,
                       int64_t ny, float* y, size_t by) {
    avx512_emulated::gemm_packed_q4_K_q8_K(n, packed, ng, a, ba, ny, y, by);
    float& v = y[(ny - 1) * by + 3];
    v += 1.0f + 0.1f * std::fabs(v);
}

// The start-up self-check, which guards the AVX-512 table on the machines that run it, passes
// the emulated Q4_K kernels and fails them when only the packed path is wrong.
TEST(Avx512Emulated, SelfCheckCoversThePackedPath) {
    if (!host_has_avx2()) GTEST_SKIP() << "the emulation runs on AVX2";
    MatmulKernels k = kernels_with(
        gguf::TensorType::Q4_K, avx512_emulated::vec_dot_q4_K_q8_K, avx512_emulated::gemm_q4_K_q8_K,
        avx512_emulated::packed_bytes_q4_K, avx512_emulated::pack_q4_K,
        avx512_emulated::gemm_packed_q4_K_q8_K, avx512_emulated::quantize_row_q8_K_paired);
    EXPECT_TRUE(agrees_with_ref(gguf::TensorType::Q4_K, k));
    k.gemm_packed = off_by_one_result;
    EXPECT_FALSE(agrees_with_ref(gguf::TensorType::Q4_K, k));
}

// The AVX-512 Q8_K quantizers: the plain one byte for byte as ref's; the paired one (the
// Q4_K/Q5_K activations) with ref's levels and scale, bsums[k] the sum of the 32 levels of
// sub-block k (summed here from the levels) and bsums 8..15 zero.
TEST(Avx512Emulated, Q8KQuantizersMatchRef) {
    if (!host_has_avx2()) GTEST_SKIP() << "the emulation runs on AVX2";
    const MatmulKernels* ref = matmul_kernels(gguf::TensorType::Q4_K, Isa::Ref);
    constexpr int64_t kN = 5 * kQK_K;
    std::mt19937 rng(7);
    std::vector<float> x = testing::gaussian(kN, rng);
    x[5] = 40.0f;  // a block whose other levels are small
    std::fill(x.begin() + 3 * kQK_K, x.begin() + 4 * kQK_K, 0.0f);  // a block of zeros
    // A block scaled by exactly 1 (its largest magnitude 127), with halves to round to even.
    float* one = x.data() + 4 * kQK_K;
    one[0] = -127.0f;
    for (int j = 1; j < 64; ++j) one[j] = static_cast<float>(j % 9 - 4) + 0.5f;
    one[1] = -3.5f, one[2] = -2.5f, one[3] = 2.5f, one[4] = 3.5f;
    BlockQ8_K want[5], got[5], plain[5];
    ref->quantize(x.data(), want, kN);
    avx512_emulated::quantize_row_q8_K_paired(x.data(), got, kN);
    avx512_emulated::quantize_row_q8_K(x.data(), plain, kN);
    for (int b = 0; b < 5; ++b) {
        EXPECT_EQ(plain[b].d, want[b].d) << "block " << b;
        EXPECT_EQ(0, std::memcmp(plain[b].qs, want[b].qs, sizeof want[b].qs)) << "block " << b;
        EXPECT_EQ(0, std::memcmp(plain[b].bsums, want[b].bsums, sizeof want[b].bsums))
            << "block " << b;
    }
    EXPECT_EQ(want[4].qs[1], -4);  // halves to even
    EXPECT_EQ(want[4].qs[2], -2);
    EXPECT_EQ(want[4].qs[3], 2);
    EXPECT_EQ(want[4].qs[4], 4);
    for (int b = 0; b < 5; ++b) {
        EXPECT_EQ(got[b].d, want[b].d) << "block " << b;
        EXPECT_EQ(0, std::memcmp(got[b].qs, want[b].qs, sizeof want[b].qs)) << "block " << b;
        for (int k = 0; k < 8; ++k) {
            int sum = 0;
            for (int j = 0; j < 32; ++j) sum += want[b].qs[32 * k + j];
            EXPECT_EQ(got[b].bsums[k], sum) << "block " << b << " sub-block " << k;
        }
        for (int k = 8; k < 16; ++k) EXPECT_EQ(got[b].bsums[k], 0) << "block " << b;
    }
}

TEST(Avx512Emulated, PackedQ5KMatchesRef) {
    if (!host_has_avx2()) GTEST_SKIP() << "the emulation runs on AVX2";
    const MatmulKernels k = kernels_with(
        gguf::TensorType::Q5_K, avx512_emulated::vec_dot_q5_K_q8_K, avx512_emulated::gemm_q5_K_q8_K,
        avx512_emulated::packed_bytes_q4_K, avx512_emulated::pack_q5_K,
        avx512_emulated::gemm_packed_q4_K_q8_K, avx512_emulated::quantize_row_q8_K_paired);
    expect_packed_matches_ref(gguf::TensorType::Q5_K, k, {256, 1024, 3072});
    expect_matmul_with_packed_matches_ref(gguf::TensorType::Q5_K, k);
}

// IQ4_XS in Q4_K's packed layout: rows with negative sub-block scales (most of them have some)
// check the signed scale pairs.
TEST(Avx512Emulated, PackedIQ4XSMatchesRef) {
    if (!host_has_avx2()) GTEST_SKIP() << "the emulation runs on AVX2";
    const MatmulKernels k = kernels_with(
        gguf::TensorType::IQ4_XS, avx512_emulated::vec_dot_iq4_xs_q8_K,
        avx512_emulated::gemm_iq4_xs_q8_K, avx512_emulated::packed_bytes_q4_K,
        avx512_emulated::pack_iq4_xs, avx512_emulated::gemm_packed_q4_K_q8_K,
        avx512_emulated::quantize_row_q8_K_paired);
    expect_packed_matches_ref(gguf::TensorType::IQ4_XS, k, {256, 1024, 3072});
    expect_matmul_with_packed_matches_ref(gguf::TensorType::IQ4_XS, k);
}

// Q3_K in Q6_K's packed layout, with the plain Q8_K activations of its per-row kernels.
TEST(Avx512Emulated, PackedQ3KMatchesRef) {
    if (!host_has_avx2()) GTEST_SKIP() << "the emulation runs on AVX2";
    const MatmulKernels k = kernels_with(
        gguf::TensorType::Q3_K, avx512_emulated::vec_dot_q3_K_q8_K, avx512_emulated::gemm_q3_K_q8_K,
        avx512_emulated::packed_bytes_q6_K, avx512_emulated::pack_q3_K,
        avx512_emulated::gemm_packed_q6_K_q8_K);
    expect_packed_matches_ref(gguf::TensorType::Q3_K, k, {256, 1024, 3072});
    expect_matmul_with_packed_matches_ref(gguf::TensorType::Q3_K, k);
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

namespace hearth::kernels::emulated {
namespace {

TEST(Avx512Emulated, InterleavedQ4KMatchesRef) {
    if (!host_has_avx2()) GTEST_SKIP() << "the emulation runs on AVX2";
    MatmulKernels k = kernels_with(
        gguf::TensorType::Q4_K, avx512_emulated::vec_dot_q4_K_q8_K,
        avx512_emulated::gemm_q4_K_interleaved_q8_K, avx512_emulated::packed_bytes_q4_K,
        avx512_emulated::pack_q4_K_interleaved, avx512_emulated::gemm_packed_q4_K_q8_K);
    k.quantize = avx512_emulated::quantize_row_q8_K_paired;  // for gemm and gemm_packed alike
    expect_interleaved_matches_ref(gguf::TensorType::Q4_K, k);
}

TEST(Avx512Emulated, InterleavedQ5KMatchesRef) {
    if (!host_has_avx2()) GTEST_SKIP() << "the emulation runs on AVX2";
    MatmulKernels k = kernels_with(
        gguf::TensorType::Q5_K, avx512_emulated::vec_dot_q5_K_q8_K,
        avx512_emulated::gemm_q5_K_interleaved_q8_K, avx512_emulated::packed_bytes_q4_K,
        avx512_emulated::pack_q5_K_interleaved, avx512_emulated::gemm_packed_q4_K_q8_K);
    k.quantize = avx512_emulated::quantize_row_q8_K_paired;  // for gemm and gemm_packed alike
    expect_interleaved_matches_ref(gguf::TensorType::Q5_K, k);
}

TEST(Avx512Emulated, InterleavedQ6KMatchesRef) {
    if (!host_has_avx2()) GTEST_SKIP() << "the emulation runs on AVX2";
    MatmulKernels k = kernels_with(
        gguf::TensorType::Q6_K, avx512_emulated::vec_dot_q6_K_q8_K,
        avx512_emulated::gemm_q6_K_interleaved_q8_K, avx512_emulated::packed_bytes_q6_K,
        avx512_emulated::pack_q6_K_interleaved, avx512_emulated::gemm_packed_q6_K_q8_K);
    expect_interleaved_matches_ref(gguf::TensorType::Q6_K, k);
}

}  // namespace
}  // namespace hearth::kernels::emulated
