// qwen35 / qwen35moe on tiny models written by our GGUF writer: a prompt evaluated as one
// batch (chunked DeltaNet, batched attention) equals the same tokens fed one at a time
// (recurrent DeltaNet, decode attention), across more than one DeltaNet chunk; and load
// errors name the key or tensor.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "gguf/writer.h"
#include "model/model.h"
#include "model_test_util.h"
#include "memory_check.h"

namespace hearth::model {
namespace {

constexpr int64_t kE = 64, kH = 2, kHkv = 1, kD = 32, kFF = 64, kV = 40, kL = 4;
constexpr int64_t kHk = 2, kHv = 4, kDs = 16, kKc = 4;  // DeltaNet heads and sizes

struct Spec {
    std::string arch = "qwen35";
    int64_t interval = 2;
    int64_t inner_size = kHv * kDs;
    std::string skip_tensor;
};

std::string tiny_hybrid(const Spec& s) {
    gguf::Writer w;
    const std::string a = s.arch;
    w.add_string("general.architecture", a);
    w.add_u32(a + ".block_count", kL);
    w.add_u32(a + ".context_length", 1024);
    w.add_u32(a + ".embedding_length", kE);
    w.add_u32(a + ".attention.head_count", kH);
    w.add_u32(a + ".attention.head_count_kv", kHkv);
    w.add_u32(a + ".attention.key_length", kD);
    w.add_u32(a + ".attention.value_length", kD);
    w.add_f32(a + ".attention.layer_norm_rms_epsilon", 1e-6f);
    w.add_f32(a + ".rope.freq_base", 1e7f);
    w.add_u32(a + ".rope.dimension_count", 8);
    w.add_i32s(a + ".rope.dimension_sections", {2, 1, 1, 0});
    w.add_u32(a + ".ssm.conv_kernel", kKc);
    w.add_u32(a + ".ssm.state_size", kDs);
    w.add_u32(a + ".ssm.group_count", kHk);
    w.add_u32(a + ".ssm.time_step_rank", kHv);
    w.add_u32(a + ".ssm.inner_size", static_cast<uint32_t>(s.inner_size));
    w.add_u32(a + ".full_attention_interval", static_cast<uint32_t>(s.interval));
    const bool moe = a == "qwen35moe";
    if (moe) {
        w.add_u32(a + ".expert_count", 4);
        w.add_u32(a + ".expert_used_count", 2);
        w.add_u32(a + ".expert_feed_forward_length", kFF);
        w.add_u32(a + ".expert_shared_feed_forward_length", kFF);
    } else {
        w.add_u32(a + ".feed_forward_length", kFF);
    }
    std::mt19937 rng(9);
    std::normal_distribution<float> n(0.0f, 0.25f);
    auto add = [&](const std::string& name, std::vector<int64_t> ne, float mean = 0.0f) {
        if (name == s.skip_tensor) return;
        int64_t count = 1;
        for (int64_t d : ne) count *= d;
        std::vector<float> x(count);
        for (auto& v : x) v = mean + n(rng);
        w.add_tensor_f32(name, ne, x);
    };
    const int64_t conv_dim = 2 * kHk * kDs + kHv * kDs, vdim = kHv * kDs;
    add("token_embd.weight", {kE, kV});
    add("output_norm.weight", {kE}, 1.0f);
    for (int il = 0; il < kL; ++il) {
        const std::string p = "blk." + std::to_string(il) + ".";
        add(p + "attn_norm.weight", {kE}, 1.0f);
        add(p + "post_attention_norm.weight", {kE}, 1.0f);
        if ((il + 1) % s.interval != 0) {
            add(p + "attn_qkv.weight", {kE, conv_dim});
            add(p + "attn_gate.weight", {kE, vdim});
            add(p + "ssm_conv1d.weight", {kKc, conv_dim});
            add(p + "ssm_dt.bias", {kHv});
            add(p + "ssm_a", {kHv}, -1.0f);
            add(p + "ssm_beta.weight", {kE, kHv});
            add(p + "ssm_alpha.weight", {kE, kHv});
            add(p + "ssm_norm.weight", {kDs}, 1.0f);
            add(p + "ssm_out.weight", {vdim, kE});
        } else {
            add(p + "attn_q.weight", {kE, 2 * kH * kD});
            add(p + "attn_k.weight", {kE, kHkv * kD});
            add(p + "attn_v.weight", {kE, kHkv * kD});
            add(p + "attn_output.weight", {kH * kD, kE});
            add(p + "attn_q_norm.weight", {kD}, 1.0f);
            add(p + "attn_k_norm.weight", {kD}, 1.0f);
        }
        if (moe) {
            add(p + "ffn_gate_inp.weight", {kE, 4});
            add(p + "ffn_gate_exps.weight", {kE, kFF, 4});
            add(p + "ffn_up_exps.weight", {kE, kFF, 4});
            add(p + "ffn_down_exps.weight", {kFF, kE, 4});
            add(p + "ffn_gate_inp_shexp.weight", {kE});
            add(p + "ffn_gate_shexp.weight", {kE, kFF});
            add(p + "ffn_up_shexp.weight", {kE, kFF});
            add(p + "ffn_down_shexp.weight", {kFF, kE});
        } else {
            add(p + "ffn_gate.weight", {kE, kFF});
            add(p + "ffn_up.weight", {kE, kFF});
            add(p + "ffn_down.weight", {kFF, kE});
        }
    }
    return w.bytes();
}

Loaded load(const Spec& s, ThreadPool& pool) { return load_bytes(tiny_hybrid(s), pool); }

void expect_load_error(const Spec& s, const std::string& needle) {
    expect_load_error_bytes(tiny_hybrid(s), needle);
}

TEST(HybridModel, BatchedPromptMatchesTokenByToken) {
    const int64_t T = 100;  // two DeltaNet chunks, the second partial
    std::vector<int32_t> tokens(T);
    for (int64_t i = 0; i < T; ++i) tokens[i] = static_cast<int32_t>((i * 7 + 3) % kV);
    for (const char* arch : {"qwen35", "qwen35moe"}) {
        ThreadPool pool(2);
        Loaded l = load({.arch = arch}, pool);
        ASSERT_TRUE(l.model.ok()) << arch << ": " << l.model.message();
        expect_batched_matches_stepwise(**l.model, tokens, arch);
    }
}

// Continuous batching: a 70-token prompt (a full DeltaNet chunk and a partial one) beside
// shorter sequences at other positions, then a decode round, equal separate passes.
TEST(HybridModel, EvalBatchMatchesSeparateEvals) {
    for (const char* arch : {"qwen35", "qwen35moe"}) {
        ThreadPool pool(2);
        Loaded l = load({.arch = arch}, pool);
        ASSERT_TRUE(l.model.ok()) << arch << ": " << l.model.message();
        expect_eval_batch_matches_separate(**l.model, 70, arch);
        expect_eval_batch_rejects_bad_batches(**l.model);
    }
}

TEST(HybridModel, MemoryInterface) {
    for (const char* arch : {"qwen35", "qwen35moe"}) {
        for (CacheType type : {CacheType::F32, CacheType::F16, CacheType::Q8_0}) {
            ThreadPool pool(2);
            Loaded l = load({.arch = arch}, pool);
            ASSERT_TRUE(l.model.ok()) << l.model.message();
            check_memory_interface(**l.model, false, type);
        }
    }
}

TEST(HybridModel, BatchedMatchesTokenByTokenWithF16AndQ8Caches) {
    std::vector<int32_t> tokens(30);
    for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = static_cast<int32_t>((i * 5 + 1) % kV);
    for (CacheType type : {CacheType::F16, CacheType::Q8_0}) {
        ThreadPool pool(2);
        Loaded l = load({.arch = "qwen35"}, pool);
        ASSERT_TRUE(l.model.ok()) << l.model.message();
        expect_batched_matches_stepwise(**l.model, tokens, cache_type_name(type), type);
    }
}

TEST(HybridModel, LoadErrorsNameTheProblem) {
    expect_load_error({.interval = 1}, "no recurrent");
    expect_load_error({.inner_size = 60}, "ssm.inner_size 60");
    expect_load_error({.skip_tensor = "blk.2.ssm_a"}, "missing tensor 'blk.2.ssm_a'");
    expect_load_error({.skip_tensor = "blk.1.attn_q_norm.weight"}, "attn_q_norm");
    expect_load_error({.arch = "qwen35moe", .skip_tensor = "blk.0.ffn_gate_inp_shexp.weight"},
                      "ffn_gate_inp_shexp");
}

}  // namespace
}  // namespace hearth::model
