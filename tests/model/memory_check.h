// Shared check of the State interface (clone, checkpoint/restore, truncate) for any model:
// every way of reaching the same token history must give the same next logits.
#pragma once

#include <gtest/gtest.h>

#include <vector>

#include "model/model.h"

namespace hearth::model {

inline std::vector<float> next_logits(Model& m, State& s, std::vector<int32_t> tokens) {
    std::vector<float> l(tokens.size() * m.config().n_vocab);
    EXPECT_TRUE(m.eval(tokens, s, l.data(), false).ok());
    l.resize(m.config().n_vocab);
    return l;
}

// With a KV cache of type `cache`.
inline void check_memory_interface(Model& m, bool can_truncate, CacheType cache = CacheType::F16) {
    const std::vector<int32_t> prompt = {1, 5, 9, 2, 7, 3}, tail = {4, 8, 6};
    auto fresh = m.new_state(32, cache);
    next_logits(m, *fresh, prompt);
    const std::vector<float> want = next_logits(m, *fresh, {11});  // after prompt + [11]

    // clone: a fork continues exactly like the original would.
    auto base = m.new_state(32, cache);
    next_logits(m, *base, prompt);
    auto fork = base->clone();
    EXPECT_EQ(next_logits(m, *fork, {11}), want);
    EXPECT_EQ(base->n_past(), static_cast<int64_t>(prompt.size()));

    // checkpoint / restore: go on with other tokens, come back, continue.
    const Checkpoint cp = base->checkpoint();
    next_logits(m, *base, tail);
    base->restore(cp);
    EXPECT_EQ(base->n_past(), static_cast<int64_t>(prompt.size()));
    EXPECT_EQ(next_logits(m, *base, {11}), want);

    // truncate: only KV-only memories can drop tokens.
    auto t = m.new_state(32, cache);
    next_logits(m, *t, prompt);
    next_logits(m, *t, tail);
    EXPECT_EQ(t->truncate(static_cast<int64_t>(prompt.size())), can_truncate);
    if (can_truncate) {
        EXPECT_EQ(next_logits(m, *t, {11}), want);
    }
    EXPECT_TRUE(t->truncate(t->n_past()));
    EXPECT_GT(t->memory_bytes(), 0);
}

}  // namespace hearth::model
