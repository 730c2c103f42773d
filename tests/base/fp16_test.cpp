// Half and bfloat16 conversions: exhaustive decode against the IEEE formula, encode checked
// for round-to-nearest-even on every half value, midpoint and random floats.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "base/fp16.h"

namespace hearth {
namespace {

double half_formula(uint16_t h) {
    const int sign = h >> 15, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    double v = exp == 0 ? std::ldexp(mant, -24) : std::ldexp(1024 + mant, exp - 25);
    if (exp == 0x1f) v = mant ? NAN : INFINITY;
    return sign ? -v : v;
}

TEST(Fp16, DecodesEveryHalfLikeTheFormula) {
    for (uint32_t h = 0; h < 65536; ++h) {
        const double want = half_formula(static_cast<uint16_t>(h));
        const float got = f16_to_f32(static_cast<uint16_t>(h));
        if (std::isnan(want)) {
            EXPECT_TRUE(std::isnan(got)) << h;
        } else {
            EXPECT_EQ(static_cast<double>(got), want) << h;
            EXPECT_EQ(std::signbit(got), (h & 0x8000) != 0) << h;
        }
    }
}

TEST(Fp16, EncodesRoundToNearestEven) {
    for (uint32_t h = 0; h < 0x7c00; ++h) {  // positive finite halves
        const float v = f16_to_f32(static_cast<uint16_t>(h));
        ASSERT_EQ(f32_to_f16(v), h);
        ASSERT_EQ(f32_to_f16(-v), h | 0x8000);
        if (h + 1 < 0x7c00) {  // the exact midpoint goes to the even neighbour
            const float mid = static_cast<float>((half_formula(h) + half_formula(h + 1)) / 2);
            ASSERT_EQ(f32_to_f16(mid), (h & 1) ? h + 1 : h) << h;
        }
    }
    EXPECT_EQ(f32_to_f16(65520.0f), 0x7c00);  // rounds past the largest half
    EXPECT_EQ(f32_to_f16(65519.0f), 0x7bff);
    EXPECT_EQ(f32_to_f16(INFINITY), 0x7c00);
    EXPECT_TRUE(std::isnan(f16_to_f32(f32_to_f16(NAN))));
    std::mt19937 rng(5);
    std::uniform_real_distribution<float> u(-70000.0f, 70000.0f);
    for (int i = 0; i < 200000; ++i) {
        const float f = u(rng) * std::ldexp(1.0f, -static_cast<int>(rng() % 30));
        const uint16_t r = f32_to_f16(f);
        if ((r & 0x7fff) >= 0x7c00) continue;
        const double err = std::fabs(f - half_formula(r));
        for (int d : {-1, 1}) {
            const uint16_t n = static_cast<uint16_t>(r + d);
            if ((n & 0x7fff) < 0x7c00 && (n & 0x8000) == (r & 0x8000)) {
                ASSERT_LE(err, std::fabs(f - half_formula(n))) << f;
            }
        }
    }
}

TEST(Bf16, RoundTripsAndRoundsToNearestEven) {
    EXPECT_EQ(bf16_to_f32(0x3f80), 1.0f);
    EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
    // 1 + 2^-8 is the midpoint between 1 and 1 + 2^-7: ties to even (1.0).
    EXPECT_EQ(f32_to_bf16(1.0f + std::ldexp(1.0f, -8)), 0x3f80);
    EXPECT_EQ(f32_to_bf16(1.0f + 3 * std::ldexp(1.0f, -8)), 0x3f82);
    EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(NAN))));
}

}  // namespace
}  // namespace hearth
