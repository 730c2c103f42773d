// Prefix reuse for one conversation: rewind to the common prefix (or restore the checkpoint),
// evaluate the prompt up to its stable part, checkpoint, evaluate the rest but the last token,
// and let generate() take it from there.
#include "runtime/chat_session.h"

#include <algorithm>
#include <chrono>

namespace hearth::runtime {

ChatSession::ChatSession(model::Model& model, const text::Tokenizer& tokenizer, int64_t n_ctx)
    : model_(model), tokenizer_(tokenizer), n_ctx_(n_ctx), state_(model.new_state(n_ctx)) {}

void ChatSession::reset() {
    state_ = model_.new_state(n_ctx_);
    checkpoint_.reset();
    tokens_.clear();
    n_reused_ = n_used_ = 0;
}

Status ChatSession::eval(std::span<const int32_t> ids) {
    if (ids.empty()) return Status();
    std::vector<float> logits(model_.config().n_vocab);  // (1, n_vocab), unused
    HEARTH_RETURN_IF_ERROR(model_.eval(ids, *state_, logits.data(), false));
    tokens_.insert(tokens_.end(), ids.begin(), ids.end());
    return Status();
}

Result<GenerateStats> ChatSession::generate(std::span<const int32_t> prompt, int64_t n_stable,
                                            const GenerateParams& params, const OnText& on_text) {
    if (prompt.empty()) return error("the prompt is empty");
    const size_t n = prompt.size();
    if (static_cast<int64_t>(n) >= n_ctx_)
        return error(
            strfmt("the conversation has %zu tokens but the context holds %lld (raise "
                   "-c, or /clear)",
                   n, (long long)n_ctx_));
    // The last prompt token is always evaluated by generate(): it yields the first logits.
    size_t common =
        std::mismatch(tokens_.begin(), tokens_.end(), prompt.begin(), prompt.end() - 1).first -
        tokens_.begin();
    if (common < tokens_.size() && !state_->truncate(static_cast<int64_t>(common))) {
        if (checkpoint_ && size_t(checkpoint_->n_past) <= common) {
            state_->restore(*checkpoint_);
            common = checkpoint_->n_past;
        } else {
            reset();  // recurrent memory with no usable checkpoint: start over
            common = 0;
        }
    }
    tokens_.resize(common);

    const auto t0 = std::chrono::steady_clock::now();
    const size_t stable = std::clamp<size_t>(n_stable, common, n - 1);
    Status st = eval(prompt.subspan(common, stable - common));
    if (st.ok()) checkpoint_ = state_->checkpoint();
    if (st.ok()) st = eval(prompt.subspan(stable, n - 1 - stable));
    if (!st.ok()) {
        reset();
        return st;
    }
    const double head_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    auto stats = runtime::generate(model_, *state_, tokenizer_, prompt.last(1), params, on_text);
    n_used_ = state_->n_past();
    // Back to the end of the prompt, or to the checkpoint: the sampled ids are not known here.
    if (!state_->truncate(static_cast<int64_t>(n - 1))) {
        state_->restore(*checkpoint_);
        tokens_.resize(checkpoint_->n_past);
    }
    if (!stats.ok()) return stats;
    stats->n_prompt += static_cast<int64_t>(n - 1 - common);
    stats->prompt_seconds += head_seconds;
    n_reused_ = static_cast<int64_t>(common);
    return stats;
}

}  // namespace hearth::runtime
