// The model interface every architecture implements, the common hyper-parameter core, and
// the per-sequence state (KV cache). Architectures live in arch/, one file each.
#pragma once

#include <cstdint>
#include <functional>
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

// Element type of the KV cache (llama.cpp's --cache-type-k/v names: f32, f16, q8_0). F16 is the
// default, like the reference engine's: half the bytes of F32 for ~1e-3 relative rounding of
// K and V. Q8_0 (32-element blocks with one F16 scale, ~1/254 of a block's largest value) halves
// it again. The golden logits were made with an F32 cache, so `hearth logits` uses F32.
enum class CacheType { F32, F16, Q8_0 };
const char* cache_type_name(CacheType t);
// "f32", "f16" or "q8_0"; anything else is an error naming the choices.
Result<CacheType> parse_cache_type(const std::string& name);

// A snapshot of a sequence's position and of the memory that cannot be rewound by position
// alone (recurrent state). KV caches only append, so their part is just the position.
struct Checkpoint {
    int64_t n_past = 0;
    std::vector<float> recurrent;  // the architecture's conv and ssm states, concatenated
};

// One sequence's memory: KV cache for attention layers, conv + recurrent state for DeltaNet
// layers, plus scratch buffers. The one interface prefix reuse and speculation work through.
class State {
   public:
    explicit State(int64_t n_ctx) : n_ctx_(n_ctx) {}
    virtual ~State() = default;
    int64_t n_past() const { return n_past_; }
    int64_t n_ctx() const { return n_ctx_; }

    // An independent copy (a forked sequence).
    virtual std::unique_ptr<State> clone() const = 0;
    // Rewinds to the first n tokens. Always possible for KV-only memories; a recurrent
    // memory can only stay where it is (restore a checkpoint instead). False if impossible.
    virtual bool truncate(int64_t n) = 0;
    // Saves the position and recurrent state; restore() returns to it as long as the sequence
    // has only moved forward since (the KV entries before the checkpoint are untouched).
    virtual Checkpoint checkpoint() const = 0;
    virtual void restore(const Checkpoint& cp) = 0;

    // Bytes this sequence's memory holds (KV cache plus recurrent state).
    virtual int64_t memory_bytes() const = 0;

    // When set, eval() leaves the final normed hidden states of the batch in `hidden`
    // (n_tokens, n_embd): what a multi-token-prediction head drafts from.
    bool keep_hidden = false;
    std::vector<float> hidden;

   protected:
    friend class Model;
    int64_t n_past_ = 0;
    int64_t n_ctx_;
};

// One sequence's share of a multi-sequence batch (see Model::eval_batch).
struct SeqBatch {
    std::span<const int32_t> tokens;
    State* state = nullptr;
    float* logits = nullptr;  // (1, n_vocab): the logits after the sequence's last token
};

class Model {
   public:
    virtual ~Model() = default;
    const Config& config() const { return config_; }

    // A fresh sequence able to hold n_ctx positions, its KV cache (if any) of the given type.
    std::unique_ptr<State> new_state(int64_t n_ctx, CacheType type = CacheType::F16) const {
        return make_state(n_ctx, type);
    }

    enum class LayerKind { Attention, Recurrent };
    // What each main layer is (all attention unless the architecture mixes in DeltaNet).
    virtual std::vector<LayerKind> layer_kinds() const {
        return std::vector<LayerKind>(config_.n_layer, LayerKind::Attention);
    }

    // Multi-token prediction (files with nextn_predict_layers): a one-layer draft head that
    // reads the main model's final hidden states. Absent unless has_mtp().
    virtual bool has_mtp() const { return false; }
    // The MTP head's own sequence memory (a KV cache aligned with the main positions).
    std::unique_ptr<State> new_mtp_state(int64_t n_ctx, CacheType type = CacheType::F16) const {
        return make_mtp_state(n_ctx, type);
    }
    // Runs the head for positions mtp_state.n_past()...: row i pairs the main model's hidden
    // state at that position (hidden, (T, n_embd)) with the token that followed it. Writes the
    // last row's logits (the guess two positions ahead) and its hidden state (n_embd), which
    // feeds the next draft step.
    virtual Status eval_mtp(std::span<const int32_t> next_tokens, const float* hidden,
                            State& mtp_state, float* logits, float* hidden_out) {
        return error("this model has no multi-token-prediction head");
    }

    // Evaluates `tokens` at positions state.n_past()... as one batch and advances the state.
    // logits: (n_tokens, n_vocab) when all_logits, else (1, n_vocab) for the last token.
    // Errors (ids out of range, context overflow, empty batch) leave the state unchanged.
    Status eval(std::span<const int32_t> tokens, State& state, float* logits, bool all_logits);

    // Evaluates several sequences in one forward pass (continuous batching): every weight is
    // read once for all of them, which is what makes N concurrent decodes cost little more
    // than one. Each sequence goes at its own positions in its own state (all distinct).
    // Errors (as eval's, or a state given twice) leave every state unchanged.
    Status eval_batch(std::span<const SeqBatch> seqs);

   protected:
    // What new_state / new_mtp_state build (non-virtual wrappers, so the default cache type
    // is stated once).
    virtual std::unique_ptr<State> make_state(int64_t n_ctx, CacheType type) const = 0;
    virtual std::unique_ptr<State> make_mtp_state(int64_t n_ctx, CacheType type) const {
        return nullptr;
    }
    // Moves a state forward by n positions (for eval paths beside eval(), like eval_mtp).
    static void advance(State& s, int64_t n) { s.n_past_ += n; }
    virtual void forward(std::span<const int32_t> tokens, State& state, float* logits,
                         bool all_logits) = 0;
    // eval_batch's pass over checked sequences; by default one forward() per sequence.
    virtual void forward_batch(std::span<const SeqBatch> seqs) {
        for (const SeqBatch& q : seqs) forward(q.tokens, *q.state, q.logits, false);
    }
    Config config_;
    ThreadPool* pool_ = nullptr;
};

// Hears, as a model binds its weights, how many bytes of the file's tensor data are bound of
// how many: the rearranged copies made at load take most of a large dense model's load time.
// load_model ends with done == total, loaded or not (a tensor the model does not use is never
// bound, so the count may stop short of it before).
using LoadProgress = std::function<void(size_t done, size_t total)>;

// Reads general.architecture and builds that architecture from the file. The reader (and
// its mapping) must outlive the model: weights point into it.
Result<std::unique_ptr<Model>> load_model(const gguf::Reader& reader, ThreadPool& pool,
                                          const LoadProgress& progress = {});

// Architecture names load_model knows.
std::vector<std::string> supported_architectures();

}  // namespace hearth::model
