// Builds the demo model. Output-head rows of everything but whole words are zero, so sampling
// lands on words rather than raw bytes, word fragments or an early end-of-text.
#include "runtime/synthetic.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <set>
#include <vector>

#include "gguf/writer.h"
#include "kernels/kernels.h"

namespace hearth::runtime {

namespace {

constexpr const char* kWords[] = {
    "the", "a", "of", "and", "to", "in", "is", "that", "it", "for", "on", "with", "as", "was",
    "at", "by", "this", "from", "or", "an", "be", "are", "not", "but", "all", "we", "one", "can",
    "will", "so", "local", "model", "hearth", "fire", "warm", "code", "file", "test", "build",
    "fast", "slow", "river", "stone", "light", "night", "day", "sea", "wind", "tree", "bird",
    "small", "large", "quiet", "bright", "dark", "old", "new", "runs", "reads", "writes",
    "thinks", "finds", "keeps", "makes", "token", "tensor", "weights", "memory", "cache",
    "thread", "kernel", "prompt", "answer", "question", "machine", "window", "garden", "bread",
    "paper", "music", "letter", "mountain", "valley", "road", "house", "door", "table", "chair",
    "book", "story", "song", "dream", "random", "synthetic", "numbers", "noise", "signal",
};

// GPT-2 style byte alphabet: printable bytes map to themselves, the rest to U+0100...
std::string byte_token(int b) {
    static int map[256];
    static bool init = false;
    if (!init) {
        int n = 0;
        for (int i = 0; i < 256; ++i) {
            bool keep = (i >= 0x21 && i <= 0x7E) || (i >= 0xA1 && i <= 0xAC) || (i >= 0xAE);
            map[i] = keep ? i : 256 + n++;
        }
        init = true;
    }
    int cp = map[b];
    std::string s;
    if (cp < 0x80) s += static_cast<char>(cp);
    else {
        s += static_cast<char>(0xC0 | (cp >> 6));
        s += static_cast<char>(0x80 | (cp & 0x3F));
    }
    return s;
}

struct Vocab {
    std::vector<std::string> tokens, merges;
    std::vector<int32_t> types;
    std::vector<bool> is_word;  // whole words: the only tokens the demo head can emit
};

Vocab build_vocab() {
    Vocab v;
    std::set<std::string> seen;
    for (int b = 0; b < 256; ++b) {
        v.tokens.push_back(byte_token(b));
        seen.insert(v.tokens.back());
    }
    // Each word " w" merges left to right: "Ġ t" → "Ġt", "Ġt h" → "Ġth", ...
    for (const char* w : kWords) {
        std::string cur = byte_token(' ');
        for (const char* p = w; *p; ++p) {
            std::string next = cur + *p;
            if (seen.insert(next).second) {
                v.merges.push_back(cur + " " + std::string(1, *p));
                v.tokens.push_back(next);
            }
            cur = next;
        }
    }
    v.types.assign(v.tokens.size(), 1);
    v.is_word.assign(v.tokens.size(), false);
    for (const char* w : kWords) {
        const std::string word = byte_token(' ') + w;
        for (size_t i = 256; i < v.tokens.size(); ++i) v.is_word[i] = v.is_word[i] || v.tokens[i] == word;
    }
    for (const char* s : {"<|endoftext|>", "<|im_start|>", "<|im_end|>"}) {
        v.tokens.push_back(s);
        v.types.push_back(3);
        v.is_word.push_back(false);
    }
    return v;
}

}  // namespace

std::string synthetic_model_gguf(const SyntheticShape& s, uint64_t seed) {
    const Vocab vocab = build_vocab();
    const int64_t V = static_cast<int64_t>(vocab.tokens.size()), E = s.n_embd;
    gguf::Writer w;
    w.add_string("general.architecture", "qwen3");
    w.add_string("general.name", "hearth built-in synthetic demo (random weights)");
    w.add_u32("qwen3.block_count", s.n_layer);
    w.add_u32("qwen3.context_length", s.n_ctx);
    w.add_u32("qwen3.embedding_length", E);
    w.add_u32("qwen3.feed_forward_length", s.n_ff);
    w.add_u32("qwen3.attention.head_count", s.n_head);
    w.add_u32("qwen3.attention.head_count_kv", s.n_head_kv);
    w.add_u32("qwen3.attention.key_length", s.head_dim);
    w.add_u32("qwen3.attention.value_length", s.head_dim);
    w.add_f32("qwen3.attention.layer_norm_rms_epsilon", 1e-6f);
    w.add_f32("qwen3.rope.freq_base", 1e6f);
    w.add_string("tokenizer.ggml.model", "gpt2");
    w.add_string("tokenizer.ggml.pre", "qwen2");
    w.add_strings("tokenizer.ggml.tokens", vocab.tokens);
    w.add_i32s("tokenizer.ggml.token_type", vocab.types);
    w.add_strings("tokenizer.ggml.merges", vocab.merges);
    w.add_u32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(V - 1));
    w.add_bool("tokenizer.ggml.add_bos_token", false);

    std::mt19937_64 rng(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    auto random = [&](int64_t n, float scale) {
        std::vector<float> x(n);
        for (auto& v : x) v = normal(rng) * scale;
        return x;
    };
    auto add_q8 = [&](const std::string& name, int64_t n_in, int64_t n_out, std::vector<float> x) {
        auto tr = gguf::traits(gguf::TensorType::Q8_0);
        std::vector<uint8_t> q(n_in / tr.block_size * tr.block_bytes * n_out);
        kernels::quantize_row(gguf::TensorType::Q8_0, x.data(), q.data(), n_in * n_out);
        w.add_tensor(name, gguf::TensorType::Q8_0, {n_in, n_out}, q);
    };
    auto ones = [](int64_t n) { return std::vector<float>(n, 1.0f); };
    const float in_scale = 1.0f / std::sqrt(static_cast<float>(E));

    add_q8("token_embd.weight", E, V, random(V * E, 1.0f));
    std::vector<float> head = random(V * E, 4.0f * in_scale);
    for (int64_t t = 0; t < V; ++t) {
        if (!vocab.is_word[t]) std::fill(head.begin() + t * E, head.begin() + (t + 1) * E, 0.0f);
    }
    add_q8("output.weight", E, V, std::move(head));
    w.add_tensor_f32("output_norm.weight", {E}, ones(E));
    const int64_t qd = s.n_head * s.head_dim, kvd = s.n_head_kv * s.head_dim;
    for (int64_t il = 0; il < s.n_layer; ++il) {
        const std::string p = "blk." + std::to_string(il) + ".";
        w.add_tensor_f32(p + "attn_norm.weight", {E}, ones(E));
        w.add_tensor_f32(p + "ffn_norm.weight", {E}, ones(E));
        w.add_tensor_f32(p + "attn_q_norm.weight", {s.head_dim}, ones(s.head_dim));
        w.add_tensor_f32(p + "attn_k_norm.weight", {s.head_dim}, ones(s.head_dim));
        add_q8(p + "attn_q.weight", E, qd, random(E * qd, in_scale));
        add_q8(p + "attn_k.weight", E, kvd, random(E * kvd, in_scale));
        add_q8(p + "attn_v.weight", E, kvd, random(E * kvd, in_scale));
        add_q8(p + "attn_output.weight", qd, E, random(qd * E, 0.5f / std::sqrt(float(qd))));
        add_q8(p + "ffn_gate.weight", E, s.n_ff, random(E * s.n_ff, in_scale));
        add_q8(p + "ffn_up.weight", E, s.n_ff, random(E * s.n_ff, in_scale));
        add_q8(p + "ffn_down.weight", s.n_ff, E, random(s.n_ff * E, 0.5f / std::sqrt(float(s.n_ff))));
    }
    return w.bytes();
}

}  // namespace hearth::runtime
