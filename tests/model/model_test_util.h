// Helpers shared by the model tests: load a model from GGUF bytes built in the test, and
// expect a load error that names what is wrong.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "gguf/reader.h"
#include "model/model.h"

namespace hearth::model {

struct Loaded {
    std::unique_ptr<gguf::Reader> reader;  // the model's weights point into it
    Result<std::unique_ptr<Model>> model = error("not loaded");
};

inline Loaded load_bytes(std::string bytes, ThreadPool& pool) {
    Loaded l;
    auto r = gguf::Reader::from_file(MappedFile::from_bytes(std::move(bytes), "tiny.gguf"));
    EXPECT_TRUE(r.ok()) << r.message();
    if (!r.ok()) return l;
    l.reader = std::make_unique<gguf::Reader>(std::move(r.value()));
    l.model = load_model(*l.reader, pool);
    return l;
}

inline void expect_load_error_bytes(std::string bytes, const std::string& needle) {
    ThreadPool pool(1);
    Loaded l = load_bytes(std::move(bytes), pool);
    ASSERT_FALSE(l.model.ok()) << "expected: " << needle;
    EXPECT_NE(l.model.message().find(needle), std::string::npos) << l.model.message();
}

// Evaluates `tokens` once as one batch and once a token at a time (two code paths over the
// same memory, a KV cache of type `cache`; F32 by default, where the paths differ by float
// rounding only: with F16 or Q8_0 a K/V value the two paths compute a rounding apart can land
// on either side of a cache rounding boundary, which MoE routing can then amplify) and expects the same logits: within 1e-4 of the largest, which must not be
// degenerate.
inline void expect_batched_matches_stepwise(Model& m, const std::vector<int32_t>& tokens,
                                            const std::string& what,
                                            CacheType cache = CacheType::F32) {
    const int64_t T = static_cast<int64_t>(tokens.size()), V = m.config().n_vocab;
    std::vector<float> batched(T * V), stepped(T * V);
    auto s1 = m.new_state(T, cache);
    ASSERT_TRUE(m.eval(tokens, *s1, batched.data(), true).ok());
    auto s2 = m.new_state(T, cache);
    for (int64_t i = 0; i < T; ++i)
        ASSERT_TRUE(m.eval({&tokens[i], 1}, *s2, stepped.data() + i * V, true).ok());
    double max_diff = 0, max_abs = 0;
    for (int64_t i = 0; i < T * V; ++i) {
        max_diff = std::max(max_diff, double(std::fabs(batched[i] - stepped[i])));
        max_abs = std::max(max_abs, double(std::fabs(batched[i])));
    }
    EXPECT_GT(max_abs, 0.1) << what << ": logits should not be degenerate";
    EXPECT_LT(max_diff, 1e-4 * max_abs) << what;
}

// Evaluates three sequences, each with its own earlier context (none, short, longer), first in
// one eval_batch and then one eval each on twin states, over two rounds: a mixed round (a
// prompt of `prompt_len` tokens beside shorter ones) and a decode round (one token each). The
// last-token logits must agree within 1e-4 of the largest, which must not be degenerate.
inline void expect_eval_batch_matches_separate(Model& m, int64_t prompt_len, const std::string& what) {
    const int64_t V = m.config().n_vocab;
    auto ids = [&](int64_t n, int64_t seed) {
        std::vector<int32_t> t(n);
        for (int64_t i = 0; i < n; ++i) t[i] = static_cast<int32_t>((i * 7 + seed * 13 + 1) % V);
        return t;
    };
    const std::vector<std::vector<int32_t>> context = {{}, ids(3, 1), ids(9, 2)};
    const std::vector<std::vector<std::vector<int32_t>>> rounds = {
        {ids(prompt_len, 3), ids(1, 4), ids(4, 5)}, {ids(1, 6), ids(1, 7), ids(1, 8)}};
    const int64_t n_ctx = prompt_len + 16;
    std::vector<std::unique_ptr<State>> batched, separate;
    std::vector<float> scratch(n_ctx * V);
    for (const auto& c : context) {
        batched.push_back(m.new_state(n_ctx, CacheType::F32));
        separate.push_back(m.new_state(n_ctx, CacheType::F32));
        if (c.empty()) continue;
        ASSERT_TRUE(m.eval(c, *batched.back(), scratch.data(), false).ok());
        ASSERT_TRUE(m.eval(c, *separate.back(), scratch.data(), false).ok());
    }
    for (size_t r = 0; r < rounds.size(); ++r) {
        std::vector<float> got(3 * V), want(3 * V);
        std::vector<SeqBatch> seqs;
        for (size_t i = 0; i < 3; ++i)
            seqs.push_back({.tokens = rounds[r][i], .state = batched[i].get(), .logits = got.data() + i * V});
        ASSERT_TRUE(m.eval_batch(seqs).ok()) << what;
        for (size_t i = 0; i < 3; ++i) {
            ASSERT_TRUE(m.eval(rounds[r][i], *separate[i], want.data() + i * V, false).ok());
            EXPECT_EQ(batched[i]->n_past(), separate[i]->n_past());
        }
        double max_diff = 0, max_abs = 0;
        for (int64_t i = 0; i < 3 * V; ++i) {
            max_diff = std::max(max_diff, double(std::fabs(got[i] - want[i])));
            max_abs = std::max(max_abs, double(std::fabs(want[i])));
        }
        EXPECT_GT(max_abs, 0.1) << what << ": logits should not be degenerate";
        EXPECT_LT(max_diff, 1e-4 * max_abs) << what << ", round " << r;
    }
}

// eval_batch refuses a state given twice, a bad token or an overflow in any sequence, and then
// leaves every state as it was.
inline void expect_eval_batch_rejects_bad_batches(Model& m) {
    const int64_t V = m.config().n_vocab;
    auto a = m.new_state(4), b = m.new_state(4);
    std::vector<float> logits(2 * V);
    const std::vector<int32_t> two = {1, 2}, bad = {1, static_cast<int32_t>(V)}, five = {1, 2, 3, 4, 5};
    auto expect_error = [&](std::vector<SeqBatch> seqs, const std::string& needle) {
        Status st = m.eval_batch(seqs);
        ASSERT_FALSE(st.ok()) << needle;
        EXPECT_NE(st.message().find(needle), std::string::npos) << st.message();
        EXPECT_EQ(a->n_past(), 0);
        EXPECT_EQ(b->n_past(), 0);
    };
    expect_error({{two, a.get(), logits.data()}, {two, a.get(), logits.data() + V}}, "share one state");
    expect_error({{two, a.get(), logits.data()}, {bad, b.get(), logits.data() + V}}, "out of range");
    expect_error({{two, a.get(), logits.data()}, {five, b.get(), logits.data() + V}}, "context overflow");
    expect_error({}, "empty batch");
    EXPECT_TRUE(m.eval_batch({{{two, a.get(), logits.data()}, {two, b.get(), logits.data() + V}}}).ok());
    EXPECT_EQ(a->n_past(), 2);
    EXPECT_EQ(b->n_past(), 2);
}

}  // namespace hearth::model
