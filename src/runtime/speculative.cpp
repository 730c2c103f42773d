// Prompt-lookup drafting: a backwards scan, O(history) per draft, far cheaper than a forward.
#include "runtime/speculative.h"

#include <algorithm>

#include "runtime/sampler.h"

namespace hearth::runtime {

std::vector<int32_t> draft_ngram(std::span<const int32_t> history, int64_t max_tokens) {
    const int64_t n_hist = static_cast<int64_t>(history.size());
    for (int64_t n = std::min(kMaxNgram, n_hist - 1); n >= kMinNgram; --n) {
        const auto tail = history.subspan(n_hist - n);
        // Most recent match first: nearby text predicts best.
        for (int64_t start = n_hist - n - 1; start >= 0; --start) {
            if (!std::equal(tail.begin(), tail.end(), history.begin() + start)) continue;
            const int64_t from = start + n;
            const int64_t count = std::min(max_tokens, n_hist - from);
            return {history.begin() + from, history.begin() + from + count};
        }
    }
    return {};
}

MtpDrafter::MtpDrafter(model::Model& model, int64_t n_ctx)
    : model_(model), state_(model.new_mtp_state(n_ctx)) {
    logits_.resize(model.config().n_vocab);
    h_.resize(model.config().n_embd);
}

void MtpDrafter::observe(std::span<const int32_t> batch, const model::State& main,
                         int64_t n_keep) {
    const int64_t E = model_.config().n_embd;
    tokens_.insert(tokens_.end(), batch.begin(), batch.begin() + n_keep);
    hidden_.insert(hidden_.end(), main.hidden.begin(), main.hidden.begin() + n_keep * E);
}

Result<std::vector<int32_t>> MtpDrafter::draft(int32_t next, int64_t max_tokens) {
    std::vector<int32_t> out;
    if (max_tokens <= 0 || tokens_.empty()) return out;
    // Row i is position p_i's hidden state with the token at p_i + 1.
    std::vector<int32_t> followers(tokens_.begin() + 1, tokens_.end());
    followers.push_back(next);
    const int64_t real_end = state_->n_past() + static_cast<int64_t>(followers.size());
    if (real_end + max_tokens > state_->n_ctx()) return out;
    HEARTH_RETURN_IF_ERROR(model_.eval_mtp(followers, hidden_.data(), *state_, logits_.data(), h_.data()));
    tokens_.clear();
    hidden_.clear();
    out.push_back(argmax(logits_));
    // Further guesses chain the head on its own output state.
    while (static_cast<int64_t>(out.size()) < max_tokens) {
        const std::vector<float> h = h_;
        HEARTH_RETURN_IF_ERROR(model_.eval_mtp({&out.back(), 1}, h.data(), *state_, logits_.data(), h_.data()));
        out.push_back(argmax(logits_));
    }
    // Positions past the real ones were guesses: their KV rows get overwritten later.
    state_->truncate(real_end);
    return out;
}

}  // namespace hearth::runtime
