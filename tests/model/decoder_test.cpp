// Loading and evaluating the decoder architectures on tiny models written by our GGUF writer:
// errors for missing/misshapen tensors and bad hyper-parameters, eval preconditions, and the
// batched prompt path agreeing with token-by-token decode. (Numerical correctness against the
// reference engine is the golden_logits test.)
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "base/mapped_file.h"
#include "gguf/writer.h"
#include "kernels/dispatch.h"
#include "kernels/kernels.h"
#include "kernels/matmul.h"
#include "model/loader.h"
#include "model/model.h"
#include "model_test_util.h"
#include "memory_check.h"

namespace hearth::model {
namespace {

constexpr int64_t kE = 64, kH = 4, kHkv = 2, kD = 16, kFF = 96, kV = 50, kL = 2;

struct Spec {
    std::string arch = "qwen3";
    std::string skip_tensor;
    std::string bad_shape_tensor;
    int64_t head_count_kv = kHkv;
};

std::string tiny_model(const Spec& s) {
    gguf::Writer w;
    const std::string a = s.arch;
    w.add_string("general.architecture", a);
    w.add_u32(a + ".block_count", kL);
    w.add_u32(a + ".context_length", 128);
    w.add_u32(a + ".embedding_length", kE);
    w.add_u32(a + ".feed_forward_length", kFF);
    w.add_u32(a + ".attention.head_count", kH);
    w.add_u32(a + ".attention.head_count_kv", static_cast<uint32_t>(s.head_count_kv));
    w.add_f32(a + ".attention.layer_norm_rms_epsilon", 1e-6f);
    if (a == "qwen3") w.add_u32(a + ".attention.key_length", kD);
    std::mt19937 rng(7);
    std::normal_distribution<float> n(0.0f, 0.3f);
    auto add = [&](const std::string& name, std::vector<int64_t> ne) {
        if (name == s.skip_tensor) return;
        if (name == s.bad_shape_tensor) ne[0] += 32;
        int64_t count = 1;
        for (int64_t d : ne) count *= d;
        std::vector<float> x(count);
        for (auto& v : x) v = n(rng);
        w.add_tensor_f32(name, ne, x);
    };
    add("token_embd.weight", {kE, kV});
    add("output_norm.weight", {kE});
    for (int il = 0; il < kL; ++il) {
        const std::string p = "blk." + std::to_string(il) + ".";
        add(p + "attn_norm.weight", {kE});
        add(p + "attn_q.weight", {kE, kH * kD});
        add(p + "attn_k.weight", {kE, kHkv * kD});
        add(p + "attn_v.weight", {kE, kHkv * kD});
        add(p + "attn_output.weight", {kH * kD, kE});
        add(p + "ffn_norm.weight", {kE});
        add(p + "ffn_gate.weight", {kE, kFF});
        add(p + "ffn_up.weight", {kE, kFF});
        add(p + "ffn_down.weight", {kFF, kE});
        if (a == "qwen3") {
            add(p + "attn_q_norm.weight", {kD});
            add(p + "attn_k_norm.weight", {kD});
        }
        if (a == "qwen2") {
            add(p + "attn_q.bias", {kH * kD});
            add(p + "attn_k.bias", {kHkv * kD});
            add(p + "attn_v.bias", {kHkv * kD});
        }
    }
    return w.bytes();
}

Loaded load(const Spec& s, ThreadPool& pool) { return load_bytes(tiny_model(s), pool); }

void expect_load_error(const Spec& s, const std::string& needle) {
    expect_load_error_bytes(tiny_model(s), needle);
}

TEST(ModelLoad, LoadsEachDecoderArchitecture) {
    for (const char* arch : {"llama", "qwen2", "qwen3"}) {
        ThreadPool pool(2);
        Loaded l = load({.arch = arch}, pool);
        ASSERT_TRUE(l.model.ok()) << arch << ": " << l.model.message();
        EXPECT_EQ((*l.model)->config().n_vocab, kV);
        EXPECT_EQ((*l.model)->config().head_dim, kD);
    }
}

// The progress a load reports: rising, the bytes of every tensor the file holds (the tiny
// model binds them all) before the closing call, which reports the whole tensor data section.
TEST(ModelLoad, ReportsProgressThroughEveryTensor) {
    ThreadPool pool(2);
    auto r = gguf::Reader::from_file(MappedFile::from_bytes(tiny_model({}), "tiny.gguf"));
    ASSERT_TRUE(r.ok()) << r.message();
    size_t tensor_bytes = 0;
    for (const gguf::TensorInfo& t : r->tensors())
        tensor_bytes += t.row_bytes() * static_cast<size_t>(t.n_rows());
    std::vector<std::pair<size_t, size_t>> calls;
    auto m = load_model(*r, pool, [&](size_t d, size_t t) { calls.emplace_back(d, t); });
    ASSERT_TRUE(m.ok()) << m.message();
    ASSERT_EQ(calls.size(), r->tensors().size() + 1);  // one per tensor, then the end
    const size_t section = r->tensor_bytes().size();
    for (const auto& [done, total] : calls) EXPECT_EQ(total, section);
    for (size_t i = 1; i + 1 < calls.size(); ++i) EXPECT_GT(calls[i].first, calls[i - 1].first);
    EXPECT_EQ(calls[calls.size() - 2].first, tensor_bytes);
    EXPECT_EQ(calls.back().first, section);  // >= the tensors: alignment padding between them
    // A failed load ends its progress too, so that a display can clear its line.
    calls.clear();
    auto bad = gguf::Reader::from_file(
        MappedFile::from_bytes(tiny_model({.skip_tensor = "blk.1.ffn_up.weight"}), "bad.gguf"));
    ASSERT_TRUE(bad.ok());
    EXPECT_FALSE(load_model(*bad, pool, [&](size_t d, size_t t) { calls.emplace_back(d, t); }).ok());
    ASSERT_FALSE(calls.empty());
    EXPECT_EQ(calls.back().first, calls.back().second);
}

TEST(ModelLoad, ErrorsNameWhatIsWrong) {
    expect_load_error({.arch = "gpt-j"}, "unsupported architecture 'gpt-j'");
    expect_load_error({.skip_tensor = "blk.1.ffn_up.weight"}, "missing tensor 'blk.1.ffn_up.weight'");
    expect_load_error({.bad_shape_tensor = "blk.0.attn_k.weight"},
                      "tensor 'blk.0.attn_k.weight': expected shape [64, 32], got [96, 32]");
    expect_load_error({.head_count_kv = 3}, "head_count_kv");
    expect_load_error({.arch = "qwen2", .skip_tensor = "blk.0.attn_v.bias"}, "attn_v.bias");
}

TEST(ModelEval, RejectsBadInputWithoutChangingState) {
    ThreadPool pool(1);
    Loaded l = load({}, pool);
    ASSERT_TRUE(l.model.ok());
    Model& m = **l.model;
    auto state = m.new_state(4);
    std::vector<float> logits(8 * kV);
    std::vector<int32_t> bad = {1, kV};
    Status st = m.eval(bad, *state, logits.data(), true);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.message().find("out of range"), std::string::npos);
    EXPECT_FALSE(m.eval({}, *state, logits.data(), true).ok());
    std::vector<int32_t> too_long = {1, 2, 3, 4, 5};
    st = m.eval(too_long, *state, logits.data(), true);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.message().find("context overflow"), std::string::npos);
    EXPECT_EQ(state->n_past(), 0);
    std::vector<int32_t> ok = {1, 2, 3, 4};
    EXPECT_TRUE(m.eval(ok, *state, logits.data(), true).ok());
    EXPECT_EQ(state->n_past(), 4);
}

// Prompt-as-one-batch and token-by-token decode are two code paths over the same cache:
// they must agree to float rounding, on every architecture and thread count.
TEST(ModelEval, BatchedPromptMatchesTokenByToken) {
    const std::vector<int32_t> tokens = {3, 17, 42, 8, 0, 49, 21, 5, 5, 13};
    for (const char* arch : {"llama", "qwen2", "qwen3"}) {
        for (int threads : {1, 2, 3}) {
            ThreadPool pool(threads);
            Loaded l = load({.arch = arch}, pool);
            ASSERT_TRUE(l.model.ok()) << l.model.message();
            expect_batched_matches_stepwise(**l.model, tokens,
                                            std::string(arch) + " threads " + std::to_string(threads));
        }
    }
}

// The same for each cache type (F32 above): the batch (tiles over the
// converted cache) and the steps (fused kernel) read the same stored rows.
TEST(ModelEval, BatchedMatchesTokenByTokenForEachCacheType) {
    std::vector<int32_t> tokens(40);
    for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = static_cast<int32_t>((i * 11 + 4) % kV);
    for (CacheType type : {CacheType::F32, CacheType::F16, CacheType::Q8_0}) {
        ThreadPool pool(2);
        Loaded l = load({}, pool);
        ASSERT_TRUE(l.model.ok()) << l.model.message();
        expect_batched_matches_stepwise(**l.model, tokens, cache_type_name(type), type);
    }
}

// Continuous batching: sequences at different positions in one pass equal separate passes.
TEST(ModelEval, EvalBatchMatchesSeparateEvals) {
    for (const char* arch : {"llama", "qwen2", "qwen3"}) {
        for (int threads : {1, 2}) {
            ThreadPool pool(threads);
            Loaded l = load({.arch = arch}, pool);
            ASSERT_TRUE(l.model.ok()) << l.model.message();
            expect_eval_batch_matches_separate(**l.model, 11,
                                               std::string(arch) + " threads " + std::to_string(threads));
        }
    }
}

TEST(ModelEval, EvalBatchRejectsBadBatchesWithoutChangingState) {
    ThreadPool pool(1);
    Loaded l = load({}, pool);
    ASSERT_TRUE(l.model.ok());
    expect_eval_batch_rejects_bad_batches(**l.model);
}

TEST(ModelEval, MemoryInterface) {
    for (const char* arch : {"llama", "qwen3"}) {
        for (CacheType type : {CacheType::F32, CacheType::F16, CacheType::Q8_0}) {
            ThreadPool pool(2);
            Loaded l = load({.arch = arch}, pool);
            ASSERT_TRUE(l.model.ok()) << l.model.message();
            check_memory_interface(**l.model, true, type);
        }
    }
}

// Bytes per position and layer: K and V rows of Hkv heads, head_dim 16 = half a Q8_0 block.
TEST(ModelEval, MemoryBytesFollowTheCacheType) {
    ThreadPool pool(1);
    Loaded l = load({}, pool);
    ASSERT_TRUE(l.model.ok()) << l.model.message();
    Model& m = **l.model;
    // V rows for 10 positions, K panels for 16.
    EXPECT_EQ(m.new_state(10, CacheType::F32)->memory_bytes(), kL * (16 + 10) * kHkv * kD * 4);
    EXPECT_EQ(m.new_state(10, CacheType::F16)->memory_bytes(), kL * (16 + 10) * kHkv * kD * 2);
    EXPECT_EQ(m.new_state(10, CacheType::Q8_0)->memory_bytes(), kL * (16 + 10) * kHkv * 34);
    EXPECT_EQ(m.new_state(10)->memory_bytes(), m.new_state(10, CacheType::F16)->memory_bytes());
    auto s = m.new_state(10, CacheType::Q8_0);
    EXPECT_EQ(s->clone()->memory_bytes(), s->memory_bytes());
}

// token_embd is only read a row at a time, so it stays as mapped beside an output head of the
// model's own; tied, it is the head, bound (and, where the ISA has the layout, interleaved) as
// a matrix. Either way its rows read back as the file's.
TEST(Binder, EmbeddingsStayMappedUnlessTied) {
    constexpr int64_t kN = 256, kRows = 32;
    const auto type = gguf::TensorType::Q4_K;
    const bool interleaves = kernels::interleaved_kernels(type, kernels::current_isa()) != nullptr;
    std::mt19937 rng(5);
    std::normal_distribution<float> n(0.0f, 0.3f);
    std::vector<float> x(kN * kRows);
    for (float& v : x) v = n(rng);
    ThreadPool pool(2);
    const size_t row_bytes = gguf::traits(type).block_bytes * kN / gguf::traits(type).block_size;
    std::vector<uint8_t> q(row_bytes * kRows);
    for (int64_t r = 0; r < kRows; ++r)
        kernels::quantize_row(type, &x[r * kN], &q[r * row_bytes], kN);
    for (bool tied : {false, true}) {
        SCOPED_TRACE(tied ? "tied" : "with output.weight");
        gguf::Writer w;
        w.add_tensor("token_embd.weight", type, {kN, kRows}, q);
        if (!tied) w.add_tensor("output.weight", type, {kN, kRows}, q);
        auto reader = gguf::Reader::from_file(MappedFile::from_bytes(w.bytes(), "embd.gguf"));
        ASSERT_TRUE(reader.ok()) << reader.message();
        Binder b(reader.value(), pool);
        const auto [table, head] = b.embeddings(kN, kRows);
        ASSERT_TRUE(b.status().ok()) << b.status().message();
        EXPECT_EQ(head.interleaved, interleaves);
        if (tied) {
            EXPECT_EQ(table.copy, head.copy);
            EXPECT_EQ(table.info, head.info);
        } else {
            EXPECT_EQ(table.copy, nullptr);
            EXPECT_FALSE(table.interleaved);
        }
        std::vector<float> want(kN), got(kN);
        for (int64_t r : {0, 17, 31}) {
            kernels::dequantize_row(type, &q[r * row_bytes], want.data(), kN);
            kernels::get_row(table.view(), r, got.data());
            EXPECT_EQ(got, want) << "row " << r;
        }
    }
}

// Malformed embeddings are errors that name the tensor: no token_embd beside an output head,
// and an output head of the wrong shape.
TEST(Binder, EmbeddingErrorsNameTheTensor) {
    constexpr int64_t kN = 256, kRows = 32;
    const auto type = gguf::TensorType::Q8_0;
    const size_t row_bytes = gguf::traits(type).block_bytes * kN / gguf::traits(type).block_size;
    const std::vector<uint8_t> q(row_bytes * kRows, 0);
    ThreadPool pool(1);
    struct Case {
        bool with_table;
        int64_t head_rows;
        std::string want;
    };
    for (const Case& c : {Case{false, kRows, "missing tensor 'token_embd.weight'"},
                          Case{true, kRows / 2, "output.weight"}}) {
        SCOPED_TRACE(c.want);
        gguf::Writer w;
        if (c.with_table) w.add_tensor("token_embd.weight", type, {kN, kRows}, q);
        w.add_tensor("output.weight", type, {kN, c.head_rows},
                     std::vector<uint8_t>(q.begin(), q.begin() + row_bytes * c.head_rows));
        auto reader = gguf::Reader::from_file(MappedFile::from_bytes(w.bytes(), "embd.gguf"));
        ASSERT_TRUE(reader.ok()) << reader.message();
        Binder b(reader.value(), pool);
        b.embeddings(kN, kRows);
        ASSERT_FALSE(b.status().ok());
        EXPECT_NE(b.status().message().find(c.want), std::string::npos) << b.status().message();
    }
}

}  // namespace
}  // namespace hearth::model
