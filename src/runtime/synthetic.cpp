// Builds synthetic models. Weights are uniform random values scaled like trained ones
// (1/sqrt(fan_in)), generated and quantized a band of rows at a time so even multi-GB
// expert tensors never exist as floats.
#include "runtime/synthetic.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "base/thread_pool.h"
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

// GPT-2 byte alphabet: printable bytes stand for themselves, the other 68 map to U+0100...
std::string byte_token(int b) {
    int n = 0, cp = b;
    for (int i = 0; i < 256; ++i) {
        const bool keep = (i >= 0x21 && i <= 0x7E) || (i >= 0xA1 && i <= 0xAC) || i >= 0xAE;
        if (!keep && i == b) cp = 256 + n;
        if (!keep) ++n;
    }
    std::string s;
    if (cp < 0x80) {
        s += static_cast<char>(cp);
    } else {
        s += static_cast<char>(0xC0 | (cp >> 6));
        s += static_cast<char>(0x80 | (cp & 0x3F));
    }
    return s;
}

struct Vocab {
    std::vector<std::string> tokens, merges;
    std::vector<int32_t> types;
    std::vector<bool> is_word;
    int32_t eos = 0;
};

// 256 byte tokens, the words (merged left to right: "Ġ t" → "Ġt", "Ġt h" → "Ġth", ...),
// padding up to n_vocab, then the ChatML control tokens.
Vocab build_vocab(int64_t n_vocab) {
    Vocab v;
    std::set<std::string> seen;
    for (int b = 0; b < 256; ++b) seen.insert(v.tokens.emplace_back(byte_token(b)));
    std::set<std::string> words;
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
        words.insert(cur);
    }
    v.types.assign(v.tokens.size(), 1);
    for (const auto& t : v.tokens) v.is_word.push_back(words.count(t) > 0);
    const int64_t n_special = 3;
    for (int64_t i = static_cast<int64_t>(v.tokens.size()); i < n_vocab - n_special; ++i) {
        v.tokens.push_back("[PAD" + std::to_string(i) + "]");
        v.types.push_back(5);  // unused
        v.is_word.push_back(false);
    }
    for (const char* s : {"<|endoftext|>", "<|im_start|>", "<|im_end|>"}) {
        v.tokens.push_back(s);
        v.types.push_back(3);
        v.is_word.push_back(false);
    }
    v.eos = static_cast<int32_t>(v.tokens.size()) - 1;
    return v;
}

// splitmix64: fast, seedable, good enough for weights nobody will read.
struct Rng {
    uint64_t s;
    float uniform() {  // in [-1, 1)
        uint64_t z = (s += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        z ^= z >> 31;
        return static_cast<float>(z >> 40) * 0x1.0p-23f - 1.0f;
    }
};

// Run twice over the same tensors: first to declare them (the file's head needs every offset),
// then to generate and write their bytes, with the sink set. Only one band of rows of one
// tensor exists at a time, so a model larger than memory can be built.
class Builder {
   public:
    // Declares into w without a sink; with one, uses w's alignment only.
    Builder(gguf::Writer& w, const ByteSink* sink, uint64_t seed = 0, int n_threads = 1)
        : w(w), rng_{seed}, pool_(n_threads), sink_(sink) {}
    gguf::Writer& w;
    uint64_t written = 0;

    Status add_matrix(const std::string& name, std::vector<int64_t> ne, gguf::TensorType type,
                      float scale, const std::vector<bool>* zero_rows = nullptr) {
        if (!kernels::can_quantize(type))
            return error("synthetic: cannot write type " + std::string(gguf::type_name(type)));
        const int64_t n_in = ne[0];
        int64_t rows = 1;
        for (size_t d = 1; d < ne.size(); ++d) rows *= ne[d];
        const auto tr = gguf::traits(type);
        if (n_in % tr.block_size != 0)
            return error(name + ": row length not a multiple of the block size");
        if (!sink_) {
            w.add_tensor_info(name, type, std::move(ne));
            return Status();
        }
        const int64_t row_bytes = n_in / tr.block_size * tr.block_bytes;
        const int64_t band = std::max<int64_t>(1, (1 << 20) / n_in);
        std::vector<float> x(band * n_in);
        std::vector<uint8_t> data(band * row_bytes);
        for (int64_t r0 = 0; r0 < rows; r0 += band) {
            const int64_t nr = std::min(band, rows - r0);
            for (int64_t r = 0; r < nr; ++r) {
                const bool zero = zero_rows && !(*zero_rows)[r0 + r];
                for (int64_t i = 0; i < n_in; ++i)
                    x[r * n_in + i] = zero ? 0.0f : rng_.uniform() * scale;
            }
            // Values come from one sequential generator; only the quantization is split.
            pool_.run([&](int ith, int nth) {
                Range rr = split_range(nr, ith, nth);
                kernels::quantize_row(type, x.data() + rr.begin * n_in,
                                      data.data() + rr.begin * row_bytes,
                                      (rr.end - rr.begin) * n_in);
            });
            HEARTH_RETURN_IF_ERROR(emit(data.data(), nr * row_bytes));
        }
        return pad(rows * row_bytes);
    }

    Status add_vector(const std::string& name, int64_t n, float value, float jitter = 0.0f) {
        if (!sink_) {
            w.add_tensor_info(name, gguf::TensorType::F32, {n});
            return Status();
        }
        std::vector<float> x(n);
        for (auto& v : x) v = value + jitter * rng_.uniform();
        HEARTH_RETURN_IF_ERROR(emit(x.data(), n * sizeof(float)));
        return pad(n * sizeof(float));
    }

   private:
    Status emit(const void* p, uint64_t n) {
        written += n;
        return (*sink_)({static_cast<const uint8_t*>(p), n});
    }
    Status pad(uint64_t tensor_bytes) {
        const std::vector<uint8_t> zeros(w.padding(tensor_bytes));
        return emit(zeros.data(), zeros.size());
    }

    Rng rng_;
    ThreadPool pool_;
    const ByteSink* sink_;
};

}  // namespace

std::vector<std::string> synthetic_preset_names() {
    return {"demo", "qwen3-0.6b", "qwen3-8b", "qwen3.5-0.8b", "qwen3.6-35b-a3b"};
}

Result<SyntheticSpec> synthetic_preset(const std::string& name) {
    SyntheticSpec s;
    if (name == "demo") {
        s.words_only_head = true;
        return s;
    }
    if (name == "qwen3-0.6b" || name == "qwen3-8b") {
        const bool big = name == "qwen3-8b";
        s.n_vocab = 151936, s.n_ctx = 40960, s.tied = !big;
        s.n_embd = big ? 4096 : 1024, s.n_layer = big ? 36 : 28, s.n_head = big ? 32 : 16;
        s.n_head_kv = 8, s.head_dim = 128, s.n_ff = big ? 12288 : 3072;
        return s;
    }
    if (name == "qwen3.5-0.8b" || name == "qwen3.6-35b-a3b") {
        const bool moe = name == "qwen3.6-35b-a3b";
        s.arch = moe ? "qwen35moe" : "qwen35";
        s.n_vocab = 248320, s.n_ctx = 262144, s.tied = !moe;
        s.n_embd = moe ? 2048 : 1024, s.n_layer = moe ? 40 : 24, s.n_head = moe ? 16 : 8;
        s.n_head_kv = 2, s.head_dim = 256, s.n_rot = 64, s.n_ff = moe ? 0 : 3584;
        s.ssm_k_heads = 16, s.ssm_v_heads = moe ? 32 : 16, s.ssm_state = 128;
        if (moe) s.n_expert = 256, s.n_expert_used = 8, s.n_ff_exp = 512, s.n_ff_shexp = 512;
        return s;
    }
    std::string known;
    for (const auto& n : synthetic_preset_names()) known += (known.empty() ? "" : ", ") + n;
    return error("unknown synthetic preset '" + name + "' (known: " + known + ")");
}

namespace {

// Which type each tensor gets under the spec's quantization scheme.
struct TypePlan {
    gguf::TensorType base, head, embd;
    bool mix = false;  // q4_k_m: more bits for some attn_v / attn_qkv / ffn_down layers
    int file_type = -1;  // general.file_type as llama-quantize writes it; -1: none fits
    gguf::TensorType for_layer(int64_t il, int64_t n_layer) const {
        // llama-quantize's "use more bits": the first and last eighth, and every third between.
        const bool more = il < n_layer / 8 || il >= 7 * n_layer / 8 || (il - n_layer / 8) % 3 == 2;
        return mix && more ? gguf::TensorType::Q6_K : base;
    }
};

Result<TypePlan> plan_types(const SyntheticSpec& s) {
    using gguf::TensorType;
    if (s.quant == "q4_k_m")
        return TypePlan{TensorType::Q4_K, TensorType::Q6_K,
                        s.tied ? TensorType::Q6_K : TensorType::Q4_K, true, 15};
    // Pure Q4_K and Q5_K files match no llama-quantize scheme, so they carry no file type.
    static const struct {
        const char* name;
        TensorType type;
        int file_type;
    } kTypes[] = {
        {"f32", TensorType::F32, 0},   {"f16", TensorType::F16, 1},   {"bf16", TensorType::BF16, 32},
        {"q8_0", TensorType::Q8_0, 7}, {"q4_0", TensorType::Q4_0, 2}, {"q4_k", TensorType::Q4_K, -1},
        {"q5_k", TensorType::Q5_K, -1}, {"q6_k", TensorType::Q6_K, 18},
    };
    for (const auto& k : kTypes) {
        if (s.quant == k.name) return TypePlan{k.type, k.type, k.type, false, k.file_type};
    }
    return error("synthetic: unsupported weight type '" + s.quant +
                 "' (f32, f16, bf16, q8_0, q4_0, q4_k, q5_k, q6_k, q4_k_m)");
}

void add_header(gguf::Writer& w, const SyntheticSpec& s, const TypePlan& tp, const Vocab& v) {
    const std::string a = s.arch;
    w.add_string("general.architecture", a);
    w.add_string("general.name", "hearth synthetic " + a + " (random weights)");
    if (tp.file_type >= 0) w.add_u32("general.file_type", static_cast<uint32_t>(tp.file_type));
    w.add_u32(a + ".block_count", static_cast<uint32_t>(s.n_layer + (s.mtp ? 1 : 0)));
    if (s.mtp) w.add_u32(a + ".nextn_predict_layers", 1);
    w.add_u32(a + ".context_length", static_cast<uint32_t>(s.n_ctx));
    w.add_u32(a + ".embedding_length", static_cast<uint32_t>(s.n_embd));
    w.add_u32(a + ".attention.head_count", static_cast<uint32_t>(s.n_head));
    w.add_u32(a + ".attention.head_count_kv", static_cast<uint32_t>(s.n_head_kv));
    w.add_u32(a + ".attention.key_length", static_cast<uint32_t>(s.head_dim));
    w.add_u32(a + ".attention.value_length", static_cast<uint32_t>(s.head_dim));
    w.add_f32(a + ".attention.layer_norm_rms_epsilon", 1e-6f);
    w.add_f32(a + ".rope.freq_base", a == "qwen3" ? 1e6f : 1e7f);
    if (s.n_ff > 0) w.add_u32(a + ".feed_forward_length", static_cast<uint32_t>(s.n_ff));
    if (a != "qwen3") {
        w.add_u32(a + ".rope.dimension_count", static_cast<uint32_t>(s.n_rot));
        w.add_i32s(a + ".rope.dimension_sections", {11, 11, 10, 0});
        w.add_u32(a + ".ssm.conv_kernel", static_cast<uint32_t>(s.ssm_conv));
        w.add_u32(a + ".ssm.state_size", static_cast<uint32_t>(s.ssm_state));
        w.add_u32(a + ".ssm.group_count", static_cast<uint32_t>(s.ssm_k_heads));
        w.add_u32(a + ".ssm.time_step_rank", static_cast<uint32_t>(s.ssm_v_heads));
        w.add_u32(a + ".ssm.inner_size", static_cast<uint32_t>(s.ssm_state * s.ssm_v_heads));
        w.add_u32(a + ".full_attention_interval", static_cast<uint32_t>(s.full_attention_interval));
    }
    if (s.n_expert > 0) {
        w.add_u32(a + ".expert_count", static_cast<uint32_t>(s.n_expert));
        w.add_u32(a + ".expert_used_count", static_cast<uint32_t>(s.n_expert_used));
        w.add_u32(a + ".expert_feed_forward_length", static_cast<uint32_t>(s.n_ff_exp));
        w.add_u32(a + ".expert_shared_feed_forward_length", static_cast<uint32_t>(s.n_ff_shexp));
    }
    w.add_string("tokenizer.ggml.model", "gpt2");
    w.add_string("tokenizer.ggml.pre", a == "qwen3" ? "qwen2" : "qwen35");
    w.add_strings("tokenizer.ggml.tokens", v.tokens);
    w.add_i32s("tokenizer.ggml.token_type", v.types);
    w.add_strings("tokenizer.ggml.merges", v.merges);
    w.add_u32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(v.eos));
    w.add_bool("tokenizer.ggml.add_bos_token", false);
}

Status add_layer(Builder& b, const SyntheticSpec& s, const TypePlan& tp, int64_t il) {
    const bool mtp_block = il == s.n_layer;  // the MTP block: attention, never recurrent
    const std::string p = "blk." + std::to_string(il) + ".";
    const int64_t E = s.n_embd, D = s.head_dim, H = s.n_head, Hkv = s.n_head_kv;
    const float in = 1.0f / std::sqrt(static_cast<float>(E));
    const auto base = tp.base, more = tp.for_layer(il, s.n_layer);
    HEARTH_RETURN_IF_ERROR(b.add_vector(p + "attn_norm.weight", E, 1.0f, 0.1f));
    const bool hybrid = s.arch != "qwen3";
    const bool recurrent = hybrid && !mtp_block && (il + 1) % s.full_attention_interval != 0;
    if (mtp_block) {
        const float in2 = 1.0f / std::sqrt(static_cast<float>(2 * E));
        HEARTH_RETURN_IF_ERROR(b.add_matrix(p + "nextn.eh_proj.weight", {2 * E, E}, base, in2));
        HEARTH_RETURN_IF_ERROR(b.add_vector(p + "nextn.enorm.weight", E, 1.0f, 0.1f));
        HEARTH_RETURN_IF_ERROR(b.add_vector(p + "nextn.hnorm.weight", E, 1.0f, 0.1f));
    }
    HEARTH_RETURN_IF_ERROR(b.add_vector(p + (hybrid ? "post_attention_norm.weight" : "ffn_norm.weight"), E, 1.0f, 0.1f));
    if (recurrent) {
        const int64_t key = s.ssm_k_heads * s.ssm_state, val = s.ssm_v_heads * s.ssm_state;
        const int64_t conv = 2 * key + val, Hv = s.ssm_v_heads;
        HEARTH_RETURN_IF_ERROR(b.add_matrix(p + "attn_qkv.weight", {E, conv}, more, in));
        HEARTH_RETURN_IF_ERROR(b.add_matrix(p + "attn_gate.weight", {E, val}, base, in));
        HEARTH_RETURN_IF_ERROR(b.add_matrix(p + "ssm_beta.weight", {E, Hv}, base, in));
        HEARTH_RETURN_IF_ERROR(b.add_matrix(p + "ssm_alpha.weight", {E, Hv}, base, in));
        HEARTH_RETURN_IF_ERROR(b.add_matrix(p + "ssm_out.weight", {val, E}, base, 0.5f / std::sqrt(float(val))));
        HEARTH_RETURN_IF_ERROR(b.add_matrix(p + "ssm_conv1d.weight", {s.ssm_conv, conv}, gguf::TensorType::F32, 0.5f));
        HEARTH_RETURN_IF_ERROR(b.add_vector(p + "ssm_dt.bias", Hv, 0.0f, 0.5f));
        HEARTH_RETURN_IF_ERROR(b.add_vector(p + "ssm_a", Hv, -1.0f, 0.5f));
        HEARTH_RETURN_IF_ERROR(b.add_vector(p + "ssm_norm.weight", s.ssm_state, 1.0f, 0.1f));
    } else {
        HEARTH_RETURN_IF_ERROR(b.add_matrix(p + "attn_q.weight", {E, (hybrid ? 2 : 1) * H * D}, base, in));
        HEARTH_RETURN_IF_ERROR(b.add_matrix(p + "attn_k.weight", {E, Hkv * D}, base, in));
        HEARTH_RETURN_IF_ERROR(b.add_matrix(p + "attn_v.weight", {E, Hkv * D}, more, in));
        HEARTH_RETURN_IF_ERROR(b.add_matrix(p + "attn_output.weight", {H * D, E}, base, 0.5f / std::sqrt(float(H * D))));
        HEARTH_RETURN_IF_ERROR(b.add_vector(p + "attn_q_norm.weight", D, 1.0f, 0.1f));
        HEARTH_RETURN_IF_ERROR(b.add_vector(p + "attn_k_norm.weight", D, 1.0f, 0.1f));
    }
    if (s.n_expert > 0) {
        const int64_t F = s.n_ff_exp, X = s.n_expert, S = s.n_ff_shexp;
        HEARTH_RETURN_IF_ERROR(b.add_matrix(p + "ffn_gate_inp.weight", {E, X}, gguf::TensorType::F32, in));
        HEARTH_RETURN_IF_ERROR(b.add_matrix(p + "ffn_gate_exps.weight", {E, F, X}, base, in));
        HEARTH_RETURN_IF_ERROR(b.add_matrix(p + "ffn_up_exps.weight", {E, F, X}, base, in));
        HEARTH_RETURN_IF_ERROR(b.add_matrix(p + "ffn_down_exps.weight", {F, E, X}, more, 0.5f / std::sqrt(float(F))));
        HEARTH_RETURN_IF_ERROR(b.add_vector(p + "ffn_gate_inp_shexp.weight", E, 0.0f, in));
        HEARTH_RETURN_IF_ERROR(b.add_matrix(p + "ffn_gate_shexp.weight", {E, S}, base, in));
        HEARTH_RETURN_IF_ERROR(b.add_matrix(p + "ffn_up_shexp.weight", {E, S}, base, in));
        return b.add_matrix(p + "ffn_down_shexp.weight", {S, E}, more, 0.5f / std::sqrt(float(S)));
    }
    HEARTH_RETURN_IF_ERROR(b.add_matrix(p + "ffn_gate.weight", {E, s.n_ff}, base, in));
    HEARTH_RETURN_IF_ERROR(b.add_matrix(p + "ffn_up.weight", {E, s.n_ff}, base, in));
    return b.add_matrix(p + "ffn_down.weight", {s.n_ff, E}, more, 0.5f / std::sqrt(float(s.n_ff)));
}

// Every tensor, in file order, through b: declared or written.
Status add_tensors(Builder& b, const SyntheticSpec& s, const TypePlan& tp, const Vocab& vocab,
                   const BuildProgress& progress) {
    const int64_t V = static_cast<int64_t>(vocab.tokens.size()), E = s.n_embd;
    HEARTH_RETURN_IF_ERROR(b.add_matrix("token_embd.weight", {E, V}, tp.embd, 1.0f));
    if (!s.tied) {
        // The demo's head only scores whole words (see words_only_head).
        const float scale = (s.words_only_head ? 4.0f : 1.0f) / std::sqrt(static_cast<float>(E));
        HEARTH_RETURN_IF_ERROR(b.add_matrix("output.weight", {E, V}, tp.head, scale,
                                            s.words_only_head ? &vocab.is_word : nullptr));
    }
    HEARTH_RETURN_IF_ERROR(b.add_vector("output_norm.weight", E, 1.0f));
    const int64_t n_blocks = s.n_layer + (s.mtp ? 1 : 0);
    for (int64_t il = 0; il < n_blocks; ++il) {
        HEARTH_RETURN_IF_ERROR(add_layer(b, s, tp, il));
        if (progress) progress(il + 1, n_blocks);
    }
    return Status();
}

// The file's layout: its metadata and every tensor declared into w.
Status lay_out(const SyntheticSpec& s, TypePlan& tp, Vocab& vocab, gguf::Writer& w) {
    if (s.arch != "qwen3" && s.arch != "qwen35" && s.arch != "qwen35moe")
        return error("synthetic: architecture '" + s.arch + "' is not one we can build");
    if (s.mtp && s.arch == "qwen3") return error("synthetic: MTP blocks are a qwen35* feature");
    auto types = plan_types(s);
    if (!types.ok()) return types.status();
    tp = *types;
    vocab = build_vocab(s.n_vocab);
    add_header(w, s, tp, vocab);
    Builder declare(w, nullptr);
    return add_tensors(declare, s, tp, vocab, {});
}

}  // namespace

Result<uint64_t> synthetic_model_size(const SyntheticSpec& s) {
    TypePlan tp;
    Vocab vocab;
    gguf::Writer w;
    HEARTH_RETURN_IF_ERROR(lay_out(s, tp, vocab, w));
    return w.file_size();
}

Status write_synthetic_model(const SyntheticSpec& s, uint64_t seed, int n_threads,
                             const ByteSink& sink, const BuildProgress& progress) {
    TypePlan tp;
    Vocab vocab;
    gguf::Writer w;
    HEARTH_RETURN_IF_ERROR(lay_out(s, tp, vocab, w));
    const std::string head = w.head();
    HEARTH_RETURN_IF_ERROR(sink({reinterpret_cast<const uint8_t*>(head.data()), head.size()}));
    Builder b(w, &sink, seed, n_threads);
    HEARTH_RETURN_IF_ERROR(add_tensors(b, s, tp, vocab, progress));
    HEARTH_CHECK(head.size() + b.written == w.file_size());
    return Status();
}

Result<std::string> synthetic_model_gguf(const SyntheticSpec& s, uint64_t seed, int n_threads,
                                         const BuildProgress& progress) {
    std::string out;
    HEARTH_RETURN_IF_ERROR(write_synthetic_model(s, seed, n_threads, [&](std::span<const uint8_t> b) {
        out.append(reinterpret_cast<const char*>(b.data()), b.size());
        return Status();
    }, progress));
    return out;
}

}  // namespace hearth::runtime
