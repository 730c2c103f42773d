// The element-wise kernels on every ISA this host has, against double-precision formulas:
// SwiGLU over the whole float range the exp clamps (odd lengths for the scalar tails), and the
// sum of squares.
#include "kernels/activation.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "kernels/dispatch.h"

namespace hearth::kernels {
namespace {

TEST(ActivationKernels, SwigluMatchesDoubleFormula) {
    std::mt19937 rng(5);
    std::normal_distribution<float> g(0.0f, 4.0f);
    for (Isa isa : available_isas()) {
        SCOPED_TRACE(isa_name(isa));
        for (int64_t n : {1, 7, 8, 1003}) {
            std::vector<float> gate(n), up(n);
            for (int64_t i = 0; i < n; ++i) gate[i] = g(rng), up[i] = g(rng);
            const float extremes[] = {-100.0f, -88.0f, -20.0f, 0.0f, 20.0f, 90.0f, 1e-30f};
            for (int64_t i = 0; i < n && i < 7; ++i) gate[n - 1 - i] = extremes[i];
            std::vector<float> got = gate;
            activation_kernels(isa).swiglu(got.data(), up.data(), n);
            for (int64_t i = 0; i < n; ++i) {
                const double x = gate[i];
                const double want = x / (1.0 + std::exp(-x)) * up[i];
                EXPECT_NEAR(got[i], want, 1e-6 * std::abs(want) + 1e-30)
                    << "n=" << n << " gate=" << gate[i] << " up=" << up[i];
            }
        }
    }
}

TEST(ActivationKernels, SiluMatchesDoubleFormula) {
    std::mt19937 rng(8);
    std::normal_distribution<float> g(0.0f, 4.0f);
    for (Isa isa : available_isas()) {
        SCOPED_TRACE(isa_name(isa));
        for (int64_t n : {3, 8, 517}) {
            std::vector<float> x(n);
            for (auto& v : x) v = g(rng);
            x[0] = -100.0f, x[n - 1] = 90.0f;
            std::vector<float> got = x;
            activation_kernels(isa).silu(got.data(), n);
            for (int64_t i = 0; i < n; ++i) {
                const double want = x[i] / (1.0 + std::exp(-double(x[i])));
                EXPECT_NEAR(got[i], want, 1e-6 * std::abs(want) + 1e-30) << "x=" << x[i];
            }
        }
    }
}

TEST(ActivationKernels, SumSquaresMatchesDouble) {
    std::mt19937 rng(6);
    std::normal_distribution<float> g(0.0f, 3.0f);
    for (Isa isa : available_isas()) {
        SCOPED_TRACE(isa_name(isa));
        for (int64_t n : {1, 15, 16, 1024, 1027}) {
            std::vector<float> x(n);
            double want = 0;
            for (auto& v : x) v = g(rng), want += double(v) * v;
            EXPECT_NEAR(activation_kernels(isa).sum_squares(x.data(), n), want, 1e-12 * want)
                << "n=" << n;
        }
    }
}

}  // namespace
}  // namespace hearth::kernels
