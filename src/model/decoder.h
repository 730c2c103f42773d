// The pre-norm softmax-attention decoder shared by llama, qwen2, qwen3 and qwen3moe: each
// arch file reads its keys, binds its tensors into DecoderWeights and picks the options; this
// file runs the forward pass. The FFN is dense SwiGLU or MoE per layer; no DeltaNet here.
#pragma once

#include <optional>
#include <vector>

#include "model/blocks.h"
#include "model/loader.h"
#include "model/model.h"
#include "model/moe.h"

namespace hearth::model {

struct DecoderLayer {
    Tensor attn_norm;                   // (E)
    Tensor wq, wk, wv, wo;              // [E, H*D], [E, Hkv*D], [E, Hkv*D], [H*D, E]
    Tensor bq, bk, bv, bo;              // optional biases (H*D), (Hkv*D), (Hkv*D), (E)
    Tensor q_norm, k_norm;              // optional per-head norms (D): qwen3
    Tensor ffn_norm;                    // (E)
    Tensor ffn_gate, ffn_up, ffn_down;  // [E, n_ff], [E, n_ff], [n_ff, E]; unset for MoE
    std::optional<MoeWeights> moe;      // replaces the dense FFN when set (qwen3moe)
};

struct DecoderWeights {
    Tensor token_embd;   // [E, V]
    Tensor output_norm;  // (E)
    Tensor output;       // [E, V]; token_embd when tied
    Tensor output_bias;  // optional (V)
    std::vector<DecoderLayer> layers;
};

struct DecoderOptions {
    blocks::RopeStyle rope_style = blocks::RopeStyle::Neox;
    const float* rope_freqs = nullptr;  // optional (n_rot/2) divisors (llama 3.1+)
};

// Reads the hyper-parameters of a llama-style decoder named `arch`: the common keys, the head
// size (key_length, else E/H), rotary dimensions (default: the whole head) and
// feed_forward_length; then checks them. The first problem is the error.
Result<Config> load_decoder_config(const gguf::Reader& reader, const std::string& arch);

// Binds the tensors llama, qwen2 and qwen3 share; arch files add biases or norms after.
// With dense_ffn false the ffn_gate/up/down tensors are left for the arch to replace (MoE).
DecoderWeights bind_decoder_weights(Binder& b, const Config& c, bool dense_ffn = true);

class Decoder : public Model {
   public:
    Decoder(Config config, DecoderWeights weights, DecoderOptions options, ThreadPool& pool);
   protected:
    std::unique_ptr<State> make_state(int64_t n_ctx, CacheType type) const override;
    void forward(std::span<const int32_t> tokens, State& state, float* logits,
                 bool all_logits) override;
    void forward_batch(std::span<const SeqBatch> seqs) override;

   private:
    // The pass over the sequences' tokens laid end to end: weights apply to all rows at once;
    // RoPE, the KV cache and attention per sequence. all_logits only for a single sequence.
    void run(std::span<const SeqBatch> seqs, bool all_logits);

    DecoderWeights w_;
    blocks::Rope rope_;
    int64_t n_ff_dense_ = 0;  // n_ff if any layer has a dense FFN, else 0 (no scratch for it)
};

}  // namespace hearth::model
