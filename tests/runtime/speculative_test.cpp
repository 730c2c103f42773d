// Speculative decoding must not change the output: greedy and seeded sampling give the same
// text with and without prompt-lookup drafts, on KV-only (truncate) and hybrid (checkpoint/
// restore) models. Plus the draft proposer itself.
#include <gtest/gtest.h>

#include "runtime/engine.h"
#include "runtime/generate.h"
#include "runtime/speculative.h"
#include "tiny_model.h"

namespace hearth::runtime {
namespace {

TEST(DraftNgram, ProposesWhatFollowedTheLatestMatch) {
    const std::vector<int32_t> h = {1, 2, 3, 9, 9, 1, 2, 3, 7, 8, 5, 1, 2, 3};
    EXPECT_EQ(draft_ngram(h, 2), (std::vector<int32_t>{7, 8}));   // the later "1 2 3" wins
    EXPECT_EQ(draft_ngram(h, 10), (std::vector<int32_t>{7, 8, 5, 1, 2, 3}));
    EXPECT_TRUE(draft_ngram(std::vector<int32_t>{1, 2, 3, 4}, 4).empty());  // no repeat
    EXPECT_TRUE(draft_ngram(std::vector<int32_t>{5}, 4).empty());
    // A single repeated token is below the minimum n-gram.
    EXPECT_TRUE(draft_ngram(std::vector<int32_t>{4, 1, 4}, 4).empty());
}

struct Output {
    std::string text;
    GenerateStats stats;
};

Output run(Engine& e, float temp, Speculation spec) {
    const auto prompt = e.tokenizer->encode("the fire keeps the code warm and the code runs", true);
    auto state = e.model->new_state(256);
    GenerateParams p;
    p.n_predict = 80;
    p.sampling.temperature = temp;
    p.sampling.seed = 7;
    p.speculation = spec;
    Output o;
    auto st = generate(*e.model, *state, *e.tokenizer, prompt, p, [&](std::string_view s) {
        o.text += s;
        return true;
    });
    EXPECT_TRUE(st.ok()) << st.message();
    if (st.ok()) o.stats = *st;
    return o;
}

TEST(Speculative, MtpHeadDraftsWithoutChangingTheOutput) {
    for (const char* arch : {"qwen35", "qwen35moe"}) {
        SyntheticSpec spec = tiny_spec(arch, 4);
        spec.mtp = true;
        Engine e = tiny_engine(spec, 43, 2);
        ASSERT_TRUE(e.model->has_mtp());
        for (float temp : {0.0f, 0.9f}) {
            const Output plain = run(e, temp, Speculation::None);
            const Output spec_out = run(e, temp, Speculation::Mtp);
            EXPECT_EQ(plain.text, spec_out.text) << arch << " temp " << temp;
            EXPECT_GT(spec_out.stats.n_drafted, 0);
        }
    }
    // A model without MTP layers says so.
    Engine e = tiny_engine(tiny_spec("qwen35", 4), 43, 1);
    auto state = e.model->new_state(64);
    GenerateParams p;
    p.speculation = Speculation::Mtp;
    const std::vector<int32_t> prompt = {1, 2, 3};
    auto st = generate(*e.model, *state, *e.tokenizer, prompt, p, [](std::string_view) { return true; });
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.message().find("no MTP layers"), std::string::npos);
}

TEST(Speculative, SameOutputWithAndWithoutDrafts) {
    for (const char* arch : {"qwen3", "qwen35", "qwen35moe"}) {
        Engine e = tiny_engine(tiny_spec(arch, 4), 42, 2);
        for (float temp : {0.0f, 0.9f}) {
            const Output plain = run(e, temp, Speculation::None);
            const Output spec = run(e, temp, Speculation::Ngram);
            EXPECT_FALSE(plain.text.empty());
            EXPECT_EQ(plain.text, spec.text) << arch << " temp " << temp;
            EXPECT_EQ(plain.stats.n_generated, spec.stats.n_generated);
            EXPECT_EQ(plain.stats.n_drafted, 0);
            EXPECT_GT(spec.stats.n_drafted, 0) << arch << " temp " << temp;
            if (temp == 0.0f) {
                EXPECT_GT(spec.stats.n_accepted, 0) << arch;
            }
        }
    }
}

}  // namespace
}  // namespace hearth::runtime
