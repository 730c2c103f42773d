// Quantize-then-dequantize round trips: relative RMS error bounds per type (tight enough that
// a broken packing or scale fails), zero blocks staying zero, exact F16/BF16 for their values.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "base/fp16.h"
#include "gguf/types.h"
#include "kernels/kernels.h"
#include "kernels/ref/blocks.h"

namespace hearth::kernels {
namespace {

using gguf::TensorType;

constexpr int64_t kRowLen = 1024;  // four 256-element super-blocks
constexpr int kRows = 24;

// Rows of Gaussian values at very different magnitudes, some with an offset (exercises the
// mins of Q4_K/Q5_K), rare 4x outliers, one all-zero super-block and one all-zero 32-run.
std::vector<float> make_rows(uint32_t seed) {
    static constexpr float kMagnitudes[] = {1e-3f, 0.02f, 0.37f, 1.0f, 13.0f, 900.0f};
    std::mt19937 rng(seed);
    std::normal_distribution<float> gauss(0.0f, 1.0f);
    std::uniform_int_distribution<int> pick(0, 255);
    std::vector<float> x(kRows * kRowLen);
    for (int r = 0; r < kRows; ++r) {
        const float mag = kMagnitudes[r % 6];
        const float offset = (r % 4 == 3) ? 1.5f * mag : 0.0f;
        for (int64_t i = 0; i < kRowLen; ++i) {
            const float v = gauss(rng) * mag + offset;
            x[r * kRowLen + i] = pick(rng) == 0 ? 4.0f * v : v;
        }
        const int64_t zero_block = (r % 4) * 256, zero_run = ((r + 1) % 4) * 256 + 32 * (r % 8);
        std::fill_n(&x[r * kRowLen + zero_block], 256, 0.0f);
        std::fill_n(&x[r * kRowLen + zero_run], 32, 0.0f);
    }
    return x;
}

std::vector<float> round_trip(TensorType t, const std::vector<float>& x) {
    const int64_t row_bytes = kRowLen / gguf::traits(t).block_size * gguf::traits(t).block_bytes;
    std::vector<uint8_t> q(static_cast<size_t>(row_bytes));
    std::vector<float> y(x.size());
    for (int r = 0; r < kRows; ++r) {
        quantize_row(t, &x[r * kRowLen], q.data(), kRowLen);
        dequantize_row(t, q.data(), &y[r * kRowLen], kRowLen);
    }
    return y;
}

// Worst per-row RMS(error) / RMS(x): per row so that the large-magnitude rows cannot hide a
// failure on the small ones.
double max_relative_rms(const std::vector<float>& x, const std::vector<float>& y) {
    double worst = 0;
    for (int r = 0; r < kRows; ++r) {
        double err = 0, ref = 0;
        for (int64_t i = r * kRowLen; i < (r + 1) * kRowLen; ++i) {
            err += (double(y[i]) - x[i]) * (double(y[i]) - x[i]);
            ref += double(x[i]) * x[i];
        }
        worst = std::max(worst, std::sqrt(err / ref));
    }
    return worst;
}

struct RoundTripCase {
    TensorType type;
    double max_rel_rms;
};

class QuantRoundTrip : public ::testing::TestWithParam<RoundTripCase> {};

TEST_P(QuantRoundTrip, ErrorWithinBound) {
    const auto [type, bound] = GetParam();
    ASSERT_TRUE(can_quantize(type));
    const auto x = make_rows(42);
    const auto y = round_trip(type, x);
    const double rel = max_relative_rms(x, y);
    std::printf("[ measure  ] %-5s worst row relative RMS error %.5f (bound %.4g)\n",
                std::string(gguf::type_name(type)).c_str(), rel, bound);
    EXPECT_LT(rel, bound);
}

TEST_P(QuantRoundTrip, ZerosStayZero) {
    const TensorType type = GetParam().type;
    const auto x = make_rows(7);
    const auto y = round_trip(type, x);
    int64_t n_zero = 0;
    for (size_t i = 0; i < x.size(); ++i) {
        if (x[i] != 0.0f) continue;
        ++n_zero;
        ASSERT_EQ(y[i], 0.0f) << "element " << i;
    }
    EXPECT_GE(n_zero, kRows * 288);

    std::vector<float> zeros(kRowLen, 0.0f);
    std::vector<uint8_t> q(kRowLen * 8);
    std::vector<float> back(kRowLen, 1.0f);
    quantize_row(type, zeros.data(), q.data(), kRowLen);
    dequantize_row(type, q.data(), back.data(), kRowLen);
    for (float v : back) ASSERT_EQ(v, 0.0f);
}

// Bounds sit about 1.3x above the worst row measured over several seeds (printed by the test),
// and below what the same format with one bit fewer per level would reach (about 2x), so a
// lost bit fails them as surely as a packing mistake (relative error near 1).
INSTANTIATE_TEST_SUITE_P(
    Types, QuantRoundTrip,
    ::testing::Values(RoundTripCase{TensorType::F32, 1e-12}, RoundTripCase{TensorType::F16, 4e-4},
                      RoundTripCase{TensorType::BF16, 3e-3}, RoundTripCase{TensorType::Q8_0, 0.01},
                      RoundTripCase{TensorType::Q8_1, 0.01}, RoundTripCase{TensorType::Q8_K, 0.02},
                      RoundTripCase{TensorType::Q6_K, 0.03}, RoundTripCase{TensorType::Q5_K, 0.055},
                      RoundTripCase{TensorType::Q4_K, 0.11}, RoundTripCase{TensorType::Q4_0, 0.15}),
    [](const auto& info) { return std::string(gguf::type_name(info.param.type)); });

// Every finite half / bfloat16 value survives float -> 16 bits -> float unchanged.
TEST(QuantHalf, RepresentableValuesRoundTripExactly) {
    for (TensorType t : {TensorType::F16, TensorType::BF16}) {
        SCOPED_TRACE(std::string(gguf::type_name(t)));
        std::vector<uint16_t> bits;
        for (uint32_t h = 0; h < 0x10000; ++h) {
            const uint32_t exp_mask = t == TensorType::F16 ? 0x7C00 : 0x7F80;  // inf/NaN
            if ((h & exp_mask) != exp_mask) bits.push_back(static_cast<uint16_t>(h));
        }
        bits.resize(bits.size() / 2 * 2);
        std::vector<float> f(bits.size());
        dequantize_row(t, bits.data(), f.data(), static_cast<int64_t>(f.size()));
        std::vector<uint16_t> back(bits.size());
        quantize_row(t, f.data(), back.data(), static_cast<int64_t>(f.size()));
        for (size_t i = 0; i < bits.size(); ++i) ASSERT_EQ(back[i], bits[i]) << "bits " << bits[i];
    }
}

// Q8_K's bsums are what K-quant dot products use to apply the mins: they must equal the sums.
TEST(QuantQ8K, BlockSumsMatchQuants) {
    const auto x = make_rows(11);
    std::vector<BlockQ8_K> q(kRowLen / kQK_K);
    quantize_row(TensorType::Q8_K, x.data(), q.data(), kRowLen);
    for (const BlockQ8_K& b : q) {
        for (int s = 0; s < kQK_K / 16; ++s) {
            int sum = 0;
            for (int l = 0; l < 16; ++l) sum += b.qs[16 * s + l];
            EXPECT_EQ(b.bsums[s], sum);
        }
    }
}

}  // namespace
}  // namespace hearth::kernels
