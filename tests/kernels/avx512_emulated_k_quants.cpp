// The AVX-512 K-quant kernels, emulated through SIMDe (see avx512_emulation.h), against ref.
#include "avx512_emulation.h"
#include "base/thread_pool.h"
#include "kernels/matmul.h"

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

// The packed Q4_K batch path (pack + gemm_packed) against the ref gemm: 16 rows, token counts
// across one and several groups of 8, rows of 1, 4 and 12 super-blocks.
TEST(Avx512Emulated, PackedQ4KMatchesRef) {
    if (!host_has_avx2()) GTEST_SKIP() << "the emulation runs on AVX2";
    const auto t = gguf::TensorType::Q4_K;
    const MatmulKernels* ref = matmul_kernels(t, Isa::Ref);
    ASSERT_NE(ref, nullptr);
    constexpr int64_t kRows = kPackRows, kTokens = 19;
    for (int64_t n : {256, 1024, 3072}) {
        std::mt19937 rng(static_cast<uint32_t>(n));
        const std::vector<uint8_t> w = testing::make_weights(t, kRows, n, rng);
        const std::vector<float> x = testing::gaussian(static_cast<size_t>(kTokens * n), rng);
        const size_t bw = testing::row_bytes(t, n), ba = testing::row_bytes(ref->vec_dot_type, n);
        std::vector<uint8_t> a(kTokens * ba);
        for (int64_t i = 0; i < kTokens; ++i) ref->quantize(x.data() + i * n, a.data() + i * ba, n);
        std::vector<uint8_t> packed(avx512_emulated::packed_bytes_q4_K(n));
        avx512_emulated::pack_q4_K(n, w.data(), bw, packed.data());
        for (int64_t ny : std::initializer_list<int64_t>{1, 3, 8, 13, kTokens}) {
            std::vector<float> want(ny * kRows), got(ny * kRows, NAN);
            ref->gemm(n, w.data(), bw, kRows, a.data(), ba, static_cast<int>(std::min<int64_t>(ny, 8)),
                      want.data(), kRows);
            if (ny > 8)
                ref->gemm(n, w.data(), bw, kRows, a.data() + 8 * ba, ba,
                          static_cast<int>(std::min<int64_t>(ny - 8, 8)), want.data() + 8 * kRows, kRows);
            if (ny > 16)
                ref->gemm(n, w.data(), bw, kRows, a.data() + 16 * ba, ba, static_cast<int>(ny - 16),
                          want.data() + 16 * kRows, kRows);
            avx512_emulated::gemm_packed_q4_K_q8_K(n, packed.data(), a.data(), ba, ny, got.data(),
                                                   kRows);
            for (size_t i = 0; i < want.size(); ++i)
                ASSERT_NEAR(got[i], want[i], 8e-4f * (1.0f + std::fabs(want[i])))
                    << "n " << n << " ny " << ny << " row " << i % kRows << " token " << i / kRows;
        }
    }
}

}  // namespace
}  // namespace hearth::kernels::emulated

namespace hearth::kernels::emulated {
namespace {

// matmul() with the emulated Q4_K kernels, packed path included, against matmul() on ref:
// row counts that leave rows outside whole groups of 16 (and row tiles of 32), token counts
// below and above the packing threshold.
TEST(Avx512Emulated, MatmulWithPackedQ4KMatchesRef) {
    if (!host_has_avx2()) GTEST_SKIP() << "the emulation runs on AVX2";
    const auto t = gguf::TensorType::Q4_K;
    const MatmulKernels* ref = matmul_kernels(t, Isa::Ref);
    ASSERT_NE(ref, nullptr);
    MatmulKernels k = *ref;
    k.vec_dot = avx512_emulated::vec_dot_q4_K_q8_K;
    k.gemm = avx512_emulated::gemm_q4_K_q8_K;
    k.gemm_tokens = kMaxGemmTokens;
    k.packed_bytes = avx512_emulated::packed_bytes_q4_K;
    k.pack = avx512_emulated::pack_q4_K;
    k.gemm_packed = avx512_emulated::gemm_packed_q4_K_q8_K;
    ThreadPool pool(2);
    constexpr int64_t kIn = 512;
    for (int64_t n_out : {23, 40, 80}) {
        std::mt19937 rng(static_cast<uint32_t>(n_out));
        const std::vector<uint8_t> wq = testing::make_weights(t, n_out, kIn, rng);
        const WeightView w{.type = t, .data = wq.data(), .n_in = kIn, .n_out = n_out,
                           .row_bytes = testing::row_bytes(t, kIn)};
        for (int64_t n_tokens : {9, 16, 21}) {
            const std::vector<float> x = testing::gaussian(static_cast<size_t>(n_tokens * kIn), rng);
            std::vector<float> want(n_tokens * n_out), got(n_tokens * n_out, NAN);
            matmul(w, x.data(), want.data(), n_tokens, pool, Isa::Ref);
            const MatmulOut out{w, got.data()};
            const MatmulKernels* kp = &k;
            matmul_group_with({&out, 1}, &kp, x.data(), n_tokens, pool);
            for (size_t i = 0; i < want.size(); ++i)
                ASSERT_NEAR(got[i], want[i], 8e-4f * (1.0f + std::fabs(want[i])))
                    << "rows " << n_out << " tokens " << n_tokens << " row " << i % n_out
                    << " token " << i / n_out;
        }
    }
}

}  // namespace
}  // namespace hearth::kernels::emulated
