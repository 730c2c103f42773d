// The model interface every architecture implements, the common hyper-parameter core, and
// the per-sequence state (KV cache). Architectures live in arch/, one file each.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "base/thread_pool.h"
#include "gguf/reader.h"

namespace hearth::model {

// Hyper-parameters every decoder has. Architecture-specific extras stay in the arch file.
struct Config {
    std::string arch;
    int64_t n_vocab = 0;
    int64_t n_embd = 0;
    int64_t n_layer = 0;
    int64_t n_head = 0;
    int64_t n_head_kv = 0;
    int64_t head_dim = 0;
    int64_t n_ff = 0;
    int64_t n_ctx_train = 0;
    int64_t n_rot = 0;
    float rope_theta = 10000.0f;
    float rms_eps = 1e-5f;
};

// One sequence's memory: KV cache (and later recurrent state) plus scratch buffers.
class State {
   public:
    explicit State(int64_t n_ctx) : n_ctx_(n_ctx) {}
    virtual ~State() = default;
    int64_t n_past() const { return n_past_; }
    int64_t n_ctx() const { return n_ctx_; }

   protected:
    friend class Model;
    int64_t n_past_ = 0;
    int64_t n_ctx_;
};

class Model {
   public:
    virtual ~Model() = default;
    const Config& config() const { return config_; }

    // A fresh sequence able to hold n_ctx positions.
    virtual std::unique_ptr<State> new_state(int64_t n_ctx) const = 0;

    // Evaluates `tokens` at positions state.n_past()... as one batch and advances the state.
    // logits: (n_tokens, n_vocab) when all_logits, else (1, n_vocab) for the last token.
    // Errors (ids out of range, context overflow, empty batch) leave the state unchanged.
    Status eval(std::span<const int32_t> tokens, State& state, float* logits, bool all_logits);

   protected:
    virtual void forward(std::span<const int32_t> tokens, State& state, float* logits,
                         bool all_logits) = 0;
    Config config_;
    ThreadPool* pool_ = nullptr;
};

// Reads general.architecture and builds that architecture from the file. The reader (and
// its mapping) must outlive the model: weights point into it.
Result<std::unique_ptr<Model>> load_model(const gguf::Reader& reader, ThreadPool& pool);

// Architecture names load_model knows.
std::vector<std::string> supported_architectures();

}  // namespace hearth::model
