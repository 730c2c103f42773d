// gemm_acc against a double-precision product, in each vector width's tile shape (4 and 8
// floats: 4 rows x 2 vectors; 16: 8 rows x 2 vectors, then 8 x 1), so the AVX-512 shape's indexing is
// checked on any machine: this file is built for the baseline target, where wider vectors are
// lowered to SSE2.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "model/tile_gemm.h"

namespace hearth::model {
namespace {

struct Shape {
    int64_t M, N, K;
};

// B (K, N) in panels of kPanel columns, zero-padded to whole panels.
std::vector<float> to_panels(const std::vector<float>& B, int64_t K, int64_t N, int64_t* b_panel) {
    const int64_t n_pan = (N + kPanel - 1) / kPanel;
    *b_panel = K * kPanel;
    std::vector<float> p(n_pan * K * kPanel, 0.0f);
    for (int64_t d = 0; d < K; ++d)
        for (int64_t c = 0; c < N; ++c) p[(c / kPanel) * *b_panel + d * kPanel + c % kPanel] = B[d * N + c];
    return p;
}

template <int64_t W>
void check_width() {
    const Shape shapes[] = {{1, 16, 1}, {3, 17, 5}, {8, 32, 64}, {9, 48, 33}, {16, 130, 128},
                            {17, 15, 7}, {5, 64, 2}, {8, 61, 9}, {11, 80, 3}};
    std::mt19937 rng(W);
    std::normal_distribution<float> g(0.0f, 1.0f);
    for (const Shape& s : shapes) {
        for (bool panels : {false, true}) {
            for (bool scaled : {false, true}) {
                const int64_t lda = s.K + 3, ldc = s.N + 2;
                std::vector<float> A(s.M * lda), B(s.K * s.N), C(s.M * ldc), scale(s.M);
                for (auto* v : {&A, &B, &C, &scale})
                    for (float& e : *v) e = g(rng);
                std::vector<double> want(C.begin(), C.end());
                for (int64_t i = 0; i < s.M; ++i)
                    for (int64_t c = 0; c < s.N; ++c) {
                        double sum = 0;
                        for (int64_t d = 0; d < s.K; ++d)
                            sum += static_cast<double>(A[i * lda + d]) * B[d * s.N + c];
                        want[i * ldc + c] += (scaled ? scale[i] : 1.0) * sum;
                    }
                int64_t b_panel = 0;
                const std::vector<float> Bp = panels ? to_panels(B, s.K, s.N, &b_panel) : B;
                gemm_acc<W>(s.M, s.N, s.K, A.data(), lda, Bp.data(), panels ? kPanel : s.N, C.data(),
                            ldc, scaled ? scale.data() : nullptr, b_panel);
                for (size_t j = 0; j < C.size(); ++j)
                    ASSERT_NEAR(C[j], want[j], 1e-4 * (1 + s.K))
                        << "W " << W << " M " << s.M << " N " << s.N << " K " << s.K << " panels "
                        << panels << " scaled " << scaled << " at " << j;
            }
        }
    }
}

TEST(TileGemm, EveryTileShapeMatchesDoubleProduct) {
    check_width<4>();
    check_width<8>();
    check_width<16>();
}

// max_of in each vector width against a scalar fold over lengths around the widths' steps,
// with the maximum placed first, last and in between, and rows of -inf.
template <int64_t W>
void check_max_of() {
    std::mt19937 rng(W);
    std::normal_distribution<float> g(0.0f, 1.0f);
    for (int64_t n : {0, 1, 3, 4, 5, 8, 15, 16, 17, 31, 63, 64, 65, 100, 129, 257}) {
        for (int64_t at : {int64_t(-1), int64_t(0), n / 2, n - 1}) {
            SCOPED_TRACE("W=" + std::to_string(W) + " n=" + std::to_string(n) + " max at " +
                         std::to_string(at));
            std::vector<float> x(n);
            for (float& v : x) v = g(rng) - 50.0f;
            if (at >= 0 && at < n) x[at] = 7.5f;
            float want = -INFINITY;
            for (float v : x) want = v > want ? v : want;
            EXPECT_EQ(max_of<W>(x.data(), n), want);
        }
        std::vector<float> none(n, -INFINITY);
        EXPECT_EQ(max_of<W>(none.data(), n), -INFINITY) << "n=" << n;
    }
}

TEST(TileGemm, MaxOfMatchesScalarMax) {
    check_max_of<4>();
    check_max_of<8>();
    check_max_of<16>();
}

}  // namespace
}  // namespace hearth::model
