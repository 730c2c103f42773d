// Draft proposers for speculative decoding. A draft is a guess of the next few tokens that
// the main model then checks in one batched pass; only what it would have produced itself is
// kept, so the output is unchanged and only the speed differs.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "base/status.h"
#include "model/model.h"

namespace hearth::runtime {

// Prompt lookup: finds the most recent earlier occurrence of the history's last n tokens
// (n from kMaxNgram down to kMinNgram) and proposes the up to max_tokens tokens that followed
// it. Pays off when the answer repeats its input (code edits, quoting).
std::vector<int32_t> draft_ngram(std::span<const int32_t> history, int64_t max_tokens);

inline constexpr int64_t kMaxNgram = 4;
inline constexpr int64_t kMinNgram = 2;

// Drafts with the model's own multi-token-prediction head. The head has a KV cache of its
// own aligned with the main positions; it is fed each kept position's final hidden state
// (paired with the token that followed it) lazily, at the next draft.
class MtpDrafter {
   public:
    MtpDrafter(model::Model& model, int64_t n_ctx);

    // After the main model evaluated `batch` with keep_hidden set: the first n_keep
    // positions are kept (their hidden rows are in main.hidden).
    void observe(std::span<const int32_t> batch, const model::State& main, int64_t n_keep);
    // Up to max_tokens greedy guesses for the tokens after `next` (sampled, not evaluated).
    Result<std::vector<int32_t>> draft(int32_t next, int64_t max_tokens);

   private:
    model::Model& model_;
    std::unique_ptr<model::State> state_;
    std::vector<int32_t> tokens_;  // kept tokens not yet seen by the head
    std::vector<float> hidden_;    // their hidden rows (n, n_embd)
    std::vector<float> logits_, h_;
};

}  // namespace hearth::runtime
