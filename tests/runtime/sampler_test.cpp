// Sampler chain and streaming helpers. Expected frequencies come from the softmax formula,
// computed here independently of the sampler's code.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "runtime/generate.h"
#include "runtime/sampler.h"

namespace hearth::runtime {
namespace {

SamplerParams plain(float temp, uint64_t seed) {
    return {.temperature = temp, .top_k = 0, .top_p = 1.0f, .min_p = 0.0f, .seed = seed};
}

TEST(Sampler, GreedyTakesArgmaxLowestIdOnTies) {
    Sampler s(plain(0.0f, 1));
    std::vector<float> l = {0.1f, 2.0f, -1.0f, 2.0f};
    EXPECT_EQ(s.sample(l), 1);
    EXPECT_EQ(argmax(l), 1);
}

TEST(Sampler, SameSeedSameSequenceOtherSeedDiffers) {
    std::vector<float> l(100);
    for (int i = 0; i < 100; ++i) l[i] = std::sin(i * 0.7f);
    auto draw = [&](uint64_t seed) {
        Sampler s(plain(1.0f, seed));
        std::vector<int32_t> out;
        for (int i = 0; i < 50; ++i) out.push_back(s.sample(l));
        return out;
    };
    EXPECT_EQ(draw(42), draw(42));
    EXPECT_NE(draw(42), draw(43));
}

TEST(Sampler, FrequenciesFollowSoftmaxWithTemperature) {
    const std::vector<float> l = {1.0f, 0.0f, -1.0f, 0.5f};
    const float temp = 0.7f;
    double z = 0;
    for (float x : l) z += std::exp(x / temp);
    Sampler s(plain(temp, 9));
    std::map<int32_t, int> counts;
    const int n = 40000;
    for (int i = 0; i < n; ++i) ++counts[s.sample(l)];
    for (int i = 0; i < 4; ++i) {
        const double p = std::exp(l[i] / temp) / z;
        EXPECT_NEAR(counts[i] / double(n), p, 4 * std::sqrt(p * (1 - p) / n) + 1e-3) << i;
    }
}

TEST(Sampler, TruncationsKeepOnlyTheirSets) {
    // probabilities ~ [0.5, 0.3, 0.2] at temperature 1.
    const std::vector<float> l = {std::log(0.5f), std::log(0.3f), std::log(0.2f)};
    auto seen = [&](SamplerParams p) {
        Sampler s(p);
        std::map<int32_t, int> c;
        for (int i = 0; i < 3000; ++i) ++c[s.sample(l)];
        return c;
    };
    auto p = plain(1.0f, 3);
    p.top_k = 2;
    EXPECT_EQ(seen(p).count(2), 0u);
    p = plain(1.0f, 3);
    p.top_p = 0.6f;  // 0.5 < 0.6, so the 0.3 token is needed too, not the 0.2 one
    auto c = seen(p);
    EXPECT_EQ(c.count(2), 0u);
    EXPECT_GT(c[1], 0);
    p = plain(1.0f, 3);
    p.min_p = 0.5f;  // cut at 0.25: drops the 0.2 token
    c = seen(p);
    EXPECT_EQ(c.count(2), 0u);
    EXPECT_GT(c[1], 0);
}

TEST(Sampler, PenaltiesDiscourageRecentTokens) {
    const std::vector<float> l = {2.0f, 2.0f, 0.0f};
    SamplerParams p = plain(0.0f, 1);
    p.repeat_penalty = 1.5f;
    Sampler rep(p);
    rep.accept(0);
    EXPECT_EQ(rep.sample(l), 1);  // token 0: 2.0 / 1.5 < 2.0
    p = plain(0.0f, 1);
    p.presence_penalty = 0.5f;
    Sampler pres(p);
    pres.accept(1);
    EXPECT_EQ(pres.sample(l), 0);
    p = plain(0.0f, 1);
    p.frequency_penalty = 0.3f;
    Sampler freq(p);
    freq.accept(0);
    freq.accept(0);
    freq.accept(1);
    EXPECT_EQ(freq.sample(l), 1);  // 2 - 0.6 < 2 - 0.3
}

TEST(Generate, CompleteUtf8PrefixHoldsBackSplitCharacters) {
    EXPECT_EQ(complete_utf8_prefix("abc"), 3u);
    EXPECT_EQ(complete_utf8_prefix("a\xC3"), 1u);              // é cut after its lead byte
    EXPECT_EQ(complete_utf8_prefix("a\xC3\xA9"), 3u);
    EXPECT_EQ(complete_utf8_prefix("\xE2\x82"), 0u);           // € missing its last byte
    EXPECT_EQ(complete_utf8_prefix("\xF0\x9F\x98"), 0u);       // emoji missing a byte
    EXPECT_EQ(complete_utf8_prefix("\xF0\x9F\x98\x80"), 4u);
    EXPECT_EQ(complete_utf8_prefix("x\x80"), 2u);              // stray continuation: pass through
}

}  // namespace
}  // namespace hearth::runtime
