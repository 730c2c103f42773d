// One conversation's model memory across turns: each turn's prompt is compared with the tokens
// already evaluated, and only what it adds is evaluated (a rewind to the common prefix when the
// memory allows it, a checkpoint or a fresh start otherwise). Used by `hearth chat`; one
// sequence, one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "base/status.h"
#include "model/model.h"
#include "runtime/generate.h"
#include "text/tokenizer.h"

namespace hearth::runtime {

class ChatSession {
   public:
    ChatSession(model::Model& model, const text::Tokenizer& tokenizer, int64_t n_ctx);

    // Generates the answer to `prompt` (the whole conversation so far, as ids). The first
    // n_stable ids are those the next turn's prompt will start with (the conversation without
    // the generation prompt): memory that cannot rewind (DeltaNet) keeps a checkpoint there.
    // stats.n_prompt counts the tokens evaluated for this turn, not the reused ones.
    Result<GenerateStats> generate(std::span<const int32_t> prompt, int64_t n_stable,
                                   const GenerateParams& params, const OnText& on_text);

    void reset();  // forget everything (a new conversation)
    int64_t n_ctx() const { return n_ctx_; }
    int64_t n_reused() const { return n_reused_; }  // prompt tokens the last turn did not evaluate
    int64_t n_used() const { return n_used_; }      // positions the last turn filled

   private:
    Status eval(std::span<const int32_t> ids);  // appends ids to the memory and tokens_

    model::Model& model_;
    const text::Tokenizer& tokenizer_;
    int64_t n_ctx_;
    std::unique_ptr<model::State> state_;
    // The ids in state_, position by position. generate() does not hand back the ids it
    // sampled, so after a turn the memory is rewound to the end of the prompt (minus its last
    // token), or restored to the n_stable checkpoint: the next prompt re-evaluates the answer
    // as the template renders it.
    std::vector<int32_t> tokens_;
    std::optional<model::Checkpoint> checkpoint_;  // at the last turn's n_stable
    int64_t n_reused_ = 0;
    int64_t n_used_ = 0;
};

}  // namespace hearth::runtime
