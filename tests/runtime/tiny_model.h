// Tiny synthetic models for the runtime tests: real architectures (qwen3, qwen35, qwen35moe)
// at toy sizes in F32, so generation runs in milliseconds.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "runtime/engine.h"
#include "runtime/synthetic.h"

namespace hearth::runtime {

// words_only_head: the head scores whole words only, so sampled text is readable words.
inline SyntheticSpec tiny_spec(const std::string& arch, int64_t n_layer, bool words_only_head = true) {
    SyntheticSpec s;
    s.arch = arch;
    s.n_embd = 64, s.n_layer = n_layer, s.n_head = 2, s.n_head_kv = 1, s.head_dim = 32, s.n_ff = 96;
    s.quant = "f32";
    s.words_only_head = words_only_head;
    if (arch != "qwen3") {
        s.n_rot = 8, s.ssm_k_heads = 2, s.ssm_v_heads = 4, s.ssm_state = 16;
        s.full_attention_interval = 2;
    }
    if (arch == "qwen35moe") s.n_ff = 0, s.n_expert = 4, s.n_expert_used = 2, s.n_ff_exp = 32, s.n_ff_shexp = 32;
    return s;
}

// The engine of `spec` built with `seed`, on `threads` threads; a failure fails the test.
inline Engine tiny_engine(const SyntheticSpec& spec, uint64_t seed, int threads) {
    auto bytes = synthetic_model_gguf(spec, seed);
    EXPECT_TRUE(bytes.ok()) << bytes.message();
    auto e = load_engine_from_bytes(std::move(bytes.value()), spec.arch, threads);
    EXPECT_TRUE(e.ok()) << e.message();
    HEARTH_CHECK(e.ok());
    return std::move(e.value());
}

}  // namespace hearth::runtime
