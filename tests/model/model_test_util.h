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

}  // namespace hearth::model
