// The server's scheduler must give each job exactly what a lone generate() call gives it,
// whatever else is running and whatever memory it reuses: on KV-only models (truncate) and on
// hybrid DeltaNet models (checkpoint/restore).
#include "runtime/scheduler.h"

#include <gtest/gtest.h>

#include "runtime/engine.h"
#include "runtime/generate.h"
#include "tiny_model.h"

namespace hearth::runtime {
namespace {

Engine load(const std::string& arch) { return tiny_engine(tiny_spec(arch, 4), 42, 2); }

SamplerParams sampling(float temp, uint64_t seed) {
    SamplerParams p;
    p.temperature = temp;
    p.seed = seed;
    return p;
}

// The reference: a fresh state and the plain generation loop.
std::string solo(Engine& e, const std::vector<int32_t>& prompt, const SamplerParams& s, int64_t n) {
    auto state = e.model->new_state(1024);
    GenerateParams p;
    p.n_predict = n;
    p.sampling = s;
    std::string text;
    auto st = generate(*e.model, *state, *e.tokenizer, prompt, p, [&](std::string_view t) {
        text += t;
        return true;
    });
    EXPECT_TRUE(st.ok()) << st.message();
    return text;
}

struct Result {
    std::string text;
    JobOutput end;
};

Result collect(Job& job) {
    Result r;
    for (;;) {
        JobOutput o = *job.next();
        r.text += o.text;
        if (o.done) {
            r.end = std::move(o);
            return r;
        }
    }
}

std::vector<int32_t> tokens(Engine& e, const std::string& text) { return e.tokenizer->encode(text, true); }

class SchedulerTest : public ::testing::TestWithParam<const char*> {};

TEST_P(SchedulerTest, ReusedPrefixGivesTheSameAnswer) {
    Engine e = load(GetParam());
    Scheduler sched(*e.model, *e.tokenizer, 1, 512);
    const auto turn1 = tokens(e, "the fire keeps the code warm and the code runs fast");
    auto turn2 = turn1;
    for (int32_t t : tokens(e, " and the tests stay honest")) turn2.push_back(t);

    for (float temp : {0.0f, 0.9f}) {
        const SamplerParams s = sampling(temp, 11);
        Result r1 = collect(*sched.submit({turn1, s, 24, {}}));
        EXPECT_EQ(r1.text, solo(e, turn1, s, 24)) << GetParam();
        Result r2 = collect(*sched.submit({turn2, s, 24, {}}));
        EXPECT_EQ(r2.text, solo(e, turn2, s, 24)) << GetParam() << " temp " << temp;
        // Turn 1's prompt stays in the slot's memory (a checkpoint at its end for DeltaNet).
        EXPECT_GE(r2.end.n_cached, int64_t(turn1.size())) << GetParam();
        EXPECT_EQ(r2.end.n_prompt, int64_t(turn2.size()));
        // Going back to the shorter prompt: KV memories truncate; recurrent ones restore an
        // earlier checkpoint. Either way the answer is the same as from scratch.
        Result again = collect(*sched.submit({turn1, s, 24, {}}));
        EXPECT_EQ(again.text, r1.text) << GetParam();
    }
}

// Slots run together in one forward pass: decode steps beside prompt chunks, with one prompt
// longer than a pass's token budget, so it goes in pieces while the others decode.
TEST_P(SchedulerTest, ConcurrentJobsMatchTheirSoloRuns) {
    Engine e = load(GetParam());
    Scheduler sched(*e.model, *e.tokenizer, 3, 1024);
    std::vector<std::vector<int32_t>> prompts;
    std::vector<std::shared_ptr<Job>> jobs;
    for (int i = 0; i < 6; ++i) {
        std::string text = "request number " + std::to_string(i) + " asks for some code";
        if (i == 2)
            for (int k = 0; k < 60; ++k) text += " and then more code " + std::to_string(k);
        prompts.push_back(tokens(e, text));
        jobs.push_back(sched.submit({prompts.back(), sampling(0.8f, uint64_t(i)), 20, {}}));
    }
    ASSERT_GT(prompts[2].size(), 600u);
    std::vector<Result> results;
    for (auto& job : jobs) results.push_back(collect(*job));
    // The references only after every job is done: one model runs one evaluation at a time.
    for (int i = 0; i < 6; ++i) {
        EXPECT_EQ(results[i].text, solo(e, prompts[i], sampling(0.8f, uint64_t(i)), 20)) << GetParam() << " job " << i;
        EXPECT_TRUE(results[i].end.finish == FinishReason::Eog || results[i].end.finish == FinishReason::Length);
    }
    const SchedulerStats st = sched.stats();
    EXPECT_EQ(st.requests, 6);
    EXPECT_EQ(st.active, 0);
    EXPECT_EQ(st.queued, 0);
}

TEST(Scheduler, ThinkingBudgetForcesTheClosingTokens) {
    Engine e = load("qwen3");
    Scheduler sched(*e.model, *e.tokenizer, 1, 128);
    const auto prompt = tokens(e, "the code runs");
    const SamplerParams greedy = sampling(0.0f, 0);
    JobSpec spec{prompt, greedy, 12, {}};
    spec.thinking_open = true;
    spec.thinking_budget = 4;
    spec.think_close = tokens(e, " fire fire fire");
    ASSERT_EQ(spec.think_close.size(), 3u);
    Result r = collect(*sched.submit(spec));
    const std::string first4 = solo(e, prompt, greedy, 4);
    EXPECT_EQ(r.text.substr(0, first4.size() + 15), first4 + " fire fire fire") << r.text;
    EXPECT_EQ(r.end.n_generated, 12);
    // Without the budget the same job runs unforced.
    spec.thinking_budget = -1;
    EXPECT_EQ(collect(*sched.submit(spec)).text, solo(e, prompt, greedy, 12));
}

INSTANTIATE_TEST_SUITE_P(Archs, SchedulerTest, ::testing::Values("qwen3", "qwen35"));

TEST(Scheduler, StopStringsCancellationAndErrors) {
    Engine e = load("qwen3");
    Scheduler sched(*e.model, *e.tokenizer, 1, 64);
    const auto prompt = tokens(e, "the code runs");
    const SamplerParams greedy = sampling(0.0f, 0);
    const std::string full = solo(e, prompt, greedy, 30);
    ASSERT_GT(full.size(), 12u);

    // A stop string from the middle: the text ends right before its first occurrence.
    const std::string stop = full.substr(full.size() / 2, 3);
    Result r = collect(*sched.submit({prompt, greedy, 30, {stop}}));
    EXPECT_EQ(r.end.finish, FinishReason::Stop);
    EXPECT_EQ(r.end.stop_string, stop);
    EXPECT_EQ(r.text, full.substr(0, full.find(stop)));

    // The token budget.
    r = collect(*sched.submit({prompt, greedy, 3, {}}));
    EXPECT_EQ(r.end.finish, FinishReason::Length);
    EXPECT_EQ(r.end.n_generated, 3);

    // The context: 64 positions, so generation stops at the end of it.
    r = collect(*sched.submit({prompt, greedy, -1, {}}));
    EXPECT_TRUE(r.end.finish == FinishReason::Length || r.end.finish == FinishReason::Eog);
    EXPECT_LE(r.end.n_prompt + r.end.n_generated, 64);

    // A prompt that does not fit, and an empty one, are errors, not crashes.
    std::vector<int32_t> too_long(64, prompt[0]);
    r = collect(*sched.submit({too_long, greedy, 3, {}}));
    EXPECT_EQ(r.end.finish, FinishReason::Error);
    EXPECT_NE(r.end.error.find("context"), std::string::npos) << r.end.error;
    r = collect(*sched.submit({{}, greedy, 3, {}}));
    EXPECT_EQ(r.end.finish, FinishReason::Error);

    // Cancelled before or while running: it finishes as Cancelled and the slot is free again.
    auto job = sched.submit({prompt, greedy, -1, {}});
    job->cancel();
    r = collect(*job);
    EXPECT_EQ(r.end.finish, FinishReason::Cancelled);
    r = collect(*sched.submit({prompt, greedy, 30, {}}));
    EXPECT_EQ(r.text, full);
}

}  // namespace
}  // namespace hearth::runtime
