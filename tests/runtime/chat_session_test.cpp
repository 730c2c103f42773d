// runtime/chat_session.h: a turn that extends the previous prompt evaluates only the new tokens
// and answers exactly as a fresh sequence would, on KV-cache and recurrent memories alike.
#include "runtime/chat_session.h"

#include <gtest/gtest.h>

#include "runtime/engine.h"
#include "tiny_model.h"

namespace hearth::runtime {
namespace {

Engine tiny_engine(const std::string& arch) { return tiny_engine(tiny_spec(arch, 2), 11, 1); }

struct Turn {
    std::string text;
    GenerateStats stats;
};

Turn run(ChatSession& session, const std::vector<int32_t>& prompt, int64_t n_stable = -1) {
    GenerateParams p;
    p.n_predict = 6;
    p.sampling.temperature = 0;
    Turn t;
    if (n_stable < 0) n_stable = int64_t(prompt.size()) - 1;
    auto st = session.generate(prompt, n_stable, p, [&](std::string_view s) {
        t.text += s;
        return true;
    });
    HEARTH_CHECK(st.ok());
    t.stats = *st;
    return t;
}

TEST(ChatSession, ReusesThePrefix) {
    for (const char* arch : {"qwen3", "qwen35"}) {
        Engine e = tiny_engine(arch);
        const std::vector<int32_t> p1 = e.tokenizer->encode("the hearth keeps the fire", false);
        std::vector<int32_t> p2 = p1;
        for (int32_t id : e.tokenizer->encode(" and the code runs fast", false)) p2.push_back(id);
        std::vector<int32_t> p3 = e.tokenizer->encode("the code keeps", false);

        ChatSession session(*e.model, *e.tokenizer, 128);
        const Turn t1 = run(session, p1);
        EXPECT_EQ(t1.stats.n_prompt, int64_t(p1.size()));
        EXPECT_EQ(session.n_reused(), 0);
        const Turn t2 = run(session, p2);
        // Everything but the last token of p1 stayed in memory.
        EXPECT_EQ(session.n_reused(), int64_t(p1.size()) - 1) << arch;
        EXPECT_EQ(t2.stats.n_prompt, int64_t(p2.size() - p1.size()) + 1) << arch;
        // A prompt that diverges early: a rewind (KV) or a fresh start (recurrent).
        const Turn t3 = run(session, p3);
        // The same prompt again: only its last token is evaluated.
        const Turn t3b = run(session, p3);
        EXPECT_EQ(t3b.stats.n_prompt, 1);

        ChatSession fresh(*e.model, *e.tokenizer, 128);
        EXPECT_EQ(run(fresh, p2).text, t2.text) << arch;
        fresh.reset();
        EXPECT_EQ(run(fresh, p3).text, t3.text) << arch;
        EXPECT_EQ(t3b.text, t3.text) << arch;
        EXPECT_FALSE(t2.text.empty());
    }
}

// What a chat template does when it drops the reasoning of an answered turn: the next prompt
// keeps the conversation up to the generation prompt (n_stable) and differs after it. DeltaNet
// memory cannot rewind, so it returns to the checkpoint kept there.
TEST(ChatSession, CheckpointsTheStablePrefix) {
    for (const char* arch : {"qwen3", "qwen35"}) {
        Engine e = tiny_engine(arch);
        const std::vector<int32_t> stable = e.tokenizer->encode("the hearth keeps the fire", false);
        std::vector<int32_t> p1 = stable, p2 = stable;
        for (int32_t id : e.tokenizer->encode(" warm and", false)) p1.push_back(id);
        for (int32_t id : e.tokenizer->encode(" bright and the code", false)) p2.push_back(id);
        ASSERT_NE(p1[stable.size()], p2[stable.size()]);

        ChatSession session(*e.model, *e.tokenizer, 128);
        run(session, p1, int64_t(stable.size()));
        const Turn t2 = run(session, p2, int64_t(stable.size()));
        EXPECT_EQ(session.n_reused(), int64_t(stable.size())) << arch;
        EXPECT_EQ(t2.stats.n_prompt, int64_t(p2.size() - stable.size())) << arch;
        ChatSession fresh(*e.model, *e.tokenizer, 128);
        EXPECT_EQ(run(fresh, p2).text, t2.text) << arch;
    }
}

TEST(ChatSession, ContextOverflowIsAnError) {
    Engine e = tiny_engine("qwen3");
    ChatSession session(*e.model, *e.tokenizer, 8);
    const std::vector<int32_t> prompt =
        e.tokenizer->encode("one two three four five six seven eight nine", false);
    ASSERT_GE(prompt.size(), 8u);
    GenerateParams p;
    auto st = session.generate(prompt, 0, p, [](std::string_view) { return true; });
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.message().find("context holds 8"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace hearth::runtime
