// The built-in demo model: a real qwen3-architecture GGUF built in memory from seeded random
// weights (Q8_0 matrices) and a small byte-level BPE vocabulary of English words. It runs the
// same code as a downloaded model; its output is word salad, and the CLI says so.
#pragma once

#include <cstdint>
#include <string>

namespace hearth::runtime {

struct SyntheticShape {
    int64_t n_embd = 512;
    int64_t n_layer = 8;
    int64_t n_head = 8;
    int64_t n_head_kv = 4;
    int64_t head_dim = 64;
    int64_t n_ff = 1536;
    int64_t n_ctx = 4096;
};

// The GGUF bytes of the demo model.
std::string synthetic_model_gguf(const SyntheticShape& shape, uint64_t seed);

}  // namespace hearth::runtime
