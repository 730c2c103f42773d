// The AVX-512 attention chunk, emulated through SIMDe (see avx512_emulation.h), against the ref
// chunk: the online-softmax state (m, l, acc) of query rows after folding in cached positions.
#include "avx512_emulation.h"

#define avx512 avx512_emulated
#include "kernels/x86_avx512/attention.cpp"
#undef avx512

#include "kernels/attention.h"

namespace hearth::kernels::emulated {
namespace {

struct RowsState {
    std::vector<float> m, l, acc;
};

// Folds positions [j0, j1) into `rows` (n_rows query rows, row r seeing n_keys[r] positions)
// with chunk, starting from `start`; returns the state afterwards.
RowsState run_chunk(AttnChunkFn chunk, const std::vector<float>& q, int n_rows, int64_t D,
                    const std::vector<int64_t>& n_keys, const std::vector<uint8_t>& k,
                    const std::vector<uint8_t>& v, size_t rb, int64_t j0, int64_t j1,
                    const RowsState& start) {
    RowsState s = start;
    AttnRows rows;
    rows.q = q.data();
    rows.q_stride = D;
    rows.n_rows = n_rows;
    rows.n_keys = n_keys.data();
    rows.m = s.m.data();
    rows.l = s.l.data();
    rows.acc = s.acc.data();
    chunk(rows, k.data(), v.data(), rb, D, j0, j1, 1.0f / std::sqrt(static_cast<float>(D)));
    return s;
}

TEST(Avx512Emulated, AttentionChunkMatchesRef) {
    if (!host_has_avx2()) GTEST_SKIP() << "the emulation runs on AVX2";
    using gguf::TensorType;
    struct Kind {
        TensorType type;
        AttnChunkFn chunk;
    };
    const Kind kinds[] = {{TensorType::F32, avx512_emulated::attention_chunk_f32},
                          {TensorType::F16, avx512_emulated::attention_chunk_f16},
                          {TensorType::Q8_0, avx512_emulated::attention_chunk_q8_0}};
    std::mt19937 rng(7);
    std::normal_distribution<float> g(0.0f, 1.0f);
    // Head sizes: whole 16-float vectors, an 8-float remainder, and a scalar remainder.
    for (int64_t D : {128, 64, 72, 36}) {
        for (int n_rows : {1, 2, 3, 4, 5, 8, 16}) {
            for (const Kind& kind : kinds) {
                const std::string what = std::string(gguf::type_name(kind.type)) + " D " +
                                         std::to_string(D) + " rows " + std::to_string(n_rows);
                const AttentionKernels& ref = attention_kernels(kind.type, Isa::Ref);
                constexpr int64_t kPositions = 77;  // 5 K panels, the last one partial
                const size_t rb = kv_row_bytes(kind.type, D);
                // Positions past the last stored one hold NaN: they must not leak in.
                std::vector<uint8_t> k(80 * rb, 0xff), v(kPositions * rb);
                std::vector<float> row(D);
                for (int64_t j = 0; j < kPositions; ++j) {
                    for (float& e : row) e = g(rng);
                    ref.store_k(row.data(), k.data() + j / kKPanel * kKPanel * rb, j % kKPanel, D);
                    for (float& e : row) e = g(rng);
                    ref.store(row.data(), v.data() + j * rb, D);
                }
                std::vector<float> q(n_rows * D);
                for (float& e : q) e = 2.0f * g(rng);  // sharp softmax: a wrong weight shows
                // Causal: row r sees a different count, some rows none of the later blocks.
                std::vector<int64_t> n_keys(n_rows);
                for (int r = 0; r < n_rows; ++r) n_keys[r] = kPositions - 9 * r;
                // A fresh state, then one carried over from earlier positions (the rescale).
                RowsState fresh{std::vector<float>(n_rows, -INFINITY),
                                std::vector<float>(n_rows, 0.0f),
                                std::vector<float>(n_rows * D, 0.0f)};
                const RowsState want1 =
                    run_chunk(ref.chunk, q, n_rows, D, n_keys, k, v, rb, 0, 48, fresh);
                const RowsState got1 =
                    run_chunk(kind.chunk, q, n_rows, D, n_keys, k, v, rb, 0, 48, fresh);
                const RowsState want2 =
                    run_chunk(ref.chunk, q, n_rows, D, n_keys, k, v, rb, 48, kPositions, want1);
                const RowsState got2 =
                    run_chunk(kind.chunk, q, n_rows, D, n_keys, k, v, rb, 48, kPositions, got1);
                for (const auto* pair : {&want1, &want2}) {
                    const RowsState& want = *pair;
                    const RowsState& got = pair == &want1 ? got1 : got2;
                    for (int r = 0; r < n_rows; ++r) {
                        if (std::isinf(want.m[r]))  // the row saw no position yet
                            ASSERT_EQ(got.m[r], want.m[r]) << what << " row " << r;
                        else
                            ASSERT_NEAR(got.m[r], want.m[r], 1e-4f * (1 + std::fabs(want.m[r])))
                                << what << " row " << r;
                        ASSERT_NEAR(got.l[r], want.l[r], 1e-4f * (1 + want.l[r]))
                            << what << " row " << r;
                        for (int64_t d = 0; d < D; ++d)
                            ASSERT_NEAR(got.acc[r * D + d], want.acc[r * D + d],
                                        1e-4f * (1 + std::fabs(want.acc[r * D + d])))
                                << what << " row " << r << " element " << d;
                    }
                }
            }
        }
    }
}

// The AVX-512 exp_sum (whole vectors, then a masked tail) against std::exp in double, as
// Attention.ExpSumMatchesStdExpOnEveryIsa checks the native kernels.
TEST(Avx512Emulated, ExpSumMatchesStdExp) {
    if (!host_has_avx2()) GTEST_SKIP() << "the emulation runs on AVX2";
    std::mt19937 rng(6);
    std::uniform_real_distribution<float> u(-200.0f, 0.0f);
    for (int64_t n : {1, 15, 16, 17, 40}) {
        std::vector<float> x(n);
        for (float& e : x) e = u(rng);
        std::vector<float> got = x;
        const float sum = avx512_emulated::exp_sum(got.data(), n, 0.5f, -3.0f);
        double want_sum = 0;
        for (int64_t i = 0; i < n; ++i) {
            const double want = std::exp(static_cast<double>(x[i] * 0.5f + 3.0f));
            want_sum += want;
            EXPECT_NEAR(got[i], want, 4e-7 * want + 1e-37) << "n " << n << " x " << x[i];
        }
        EXPECT_NEAR(sum, want_sum, 1e-6 * want_sum) << "n " << n;
    }
}

}  // namespace
}  // namespace hearth::kernels::emulated
