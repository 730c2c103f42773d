// Synthetic models: real architectures (qwen3, qwen35, qwen35moe) with seeded random weights,
// built as GGUF bytes, in memory or streamed to a file. The demo model behind `hearth run` without -m, benchmark
// models with published shapes (`hearth bench --synthetic`), and tiny models for tests.
// Their text is meaningless; their speed and memory traffic are those of the real shape.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"

namespace hearth::runtime {

struct SyntheticSpec {
    std::string arch = "qwen3";  // qwen3, qwen35 or qwen35moe
    int64_t n_vocab = 0;         // 0: just the small word vocabulary; else padded up to this
    int64_t n_embd = 512;
    int64_t n_layer = 8;
    int64_t n_head = 8;
    int64_t n_head_kv = 4;
    int64_t head_dim = 64;
    int64_t n_ff = 1536;
    int64_t n_ctx = 4096;
    bool tied = false;
    bool words_only_head = false;  // zero head rows of non-words: sampling yields words
    // qwen35 / qwen35moe
    int64_t n_rot = 0;
    int64_t ssm_k_heads = 0, ssm_v_heads = 0, ssm_state = 0, ssm_conv = 4;
    int64_t full_attention_interval = 4;
    bool mtp = false;  // append one multi-token-prediction block (nextn_predict_layers = 1)
    // qwen35moe
    int64_t n_expert = 0, n_expert_used = 0, n_ff_exp = 0, n_ff_shexp = 0;
    // Weight type: f32, f16, bf16, q8_0, q4_0, q4_k, q6_k, or q4_k_m (Q4_K with Q6_K for the
    // output head and some attn_v/attn_qkv/ffn_down layers, as llama-quantize mixes it).
    std::string quant = "q8_0";
};

// Named shapes: "demo", "qwen3-0.6b", "qwen3-8b", "qwen3.5-0.8b", "qwen3.6-35b-a3b".
Result<SyntheticSpec> synthetic_preset(const std::string& name);
std::vector<std::string> synthetic_preset_names();

// Called after each layer is written: (layers done, layers in all).
using BuildProgress = std::function<void(int64_t done, int64_t total)>;

// Receives a file's bytes in order; an error stops the build.
using ByteSink = std::function<Status(std::span<const uint8_t>)>;

// Writes the GGUF file of a synthetic model to sink as it is built, one band of rows at a time,
// so a model larger than memory can be built. Errors for inconsistent specs or unknown types.
// Quantization runs on n_threads; the bytes do not depend on it. A large model takes minutes:
// progress, when given, hears of each layer.
Status write_synthetic_model(const SyntheticSpec& spec, uint64_t seed, int n_threads,
                             const ByteSink& sink, const BuildProgress& progress = {});
// The size of that file, without building it.
Result<uint64_t> synthetic_model_size(const SyntheticSpec& spec);
// The same file in memory, for small models.
Result<std::string> synthetic_model_gguf(const SyntheticSpec& spec, uint64_t seed,
                                         int n_threads = 1, const BuildProgress& progress = {});

}  // namespace hearth::runtime
