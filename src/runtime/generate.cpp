// Prompt batch, then the decode loop. The logits buffer is allocated once per call.
#include "runtime/generate.h"

#include <chrono>
#include <optional>
#include <vector>

#include "runtime/speculative.h"

namespace hearth::runtime {

namespace {
double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
}  // namespace

size_t complete_utf8_prefix(std::string_view s) {
    // Look back at most 3 bytes for the lead byte of an unfinished sequence.
    const size_t n = s.size();
    for (size_t back = 1; back <= 3 && back <= n; ++back) {
        const auto c = static_cast<unsigned char>(s[n - back]);
        if ((c & 0xC0) == 0x80) continue;  // continuation byte: keep looking
        size_t need = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
        return need > back ? n - back : n;
    }
    return n;
}

namespace {

// Hands out generated text as complete UTF-8 and counts tokens against the budget.
class Emitter {
   public:
    Emitter(const text::Tokenizer& tok, const OnText& on_text, GenerateStats& stats)
        : tok_(tok), on_text_(on_text), stats_(stats) {}
    // False when the callback asked to stop.
    bool emit(int32_t id) {
        ++stats_.n_generated;
        pending_ += tok_.token_to_piece(id, false);
        const size_t ready = complete_utf8_prefix(pending_);
        if (ready == 0) return true;
        const bool go_on = on_text_(std::string_view(pending_).substr(0, ready));
        pending_.erase(0, ready);
        return go_on;
    }
    void flush() {
        if (!pending_.empty()) on_text_(pending_);
        pending_.clear();
    }

   private:
    const text::Tokenizer& tok_;
    const OnText& on_text_;
    GenerateStats& stats_;
    std::string pending_;
};

}  // namespace

Result<GenerateStats> generate(model::Model& model, model::State& state,
                               const text::Tokenizer& tokenizer, std::span<const int32_t> prompt,
                               const GenerateParams& params, const OnText& on_text) {
    GenerateStats stats;
    const int64_t n_vocab = model.config().n_vocab;
    std::optional<TokenMatcher> constraint;
    if (params.constraint) {
        constraint.emplace(*params.constraint,
                           params.token_index ? params.token_index : TokenIndex::build(tokenizer));
    }
    const Speculation speculation = constraint ? Speculation::None : params.speculation;
    const int64_t n_draft = speculation == Speculation::None ? 0 : params.n_draft;
    std::vector<float> logits((n_draft + 1) * n_vocab);  // one row per verified position
    Sampler sampler(params.sampling);
    std::vector<int32_t> history(prompt.begin(), prompt.end());
    for (int32_t t : prompt) sampler.accept(t);

    std::unique_ptr<MtpDrafter> mtp;
    if (speculation == Speculation::Mtp) {
        if (!model.has_mtp()) return error("--speculate mtp: this model has no MTP layers (nextn_predict_layers)");
        mtp = std::make_unique<MtpDrafter>(model, state.n_ctx());
        state.keep_hidden = true;
    }
    auto t0 = std::chrono::steady_clock::now();
    HEARTH_RETURN_IF_ERROR(model.eval(prompt, state, logits.data(), false));
    if (mtp) mtp->observe(prompt, state, static_cast<int64_t>(prompt.size()));
    stats.n_prompt = static_cast<int64_t>(prompt.size());
    stats.prompt_seconds = seconds_since(t0);

    t0 = std::chrono::steady_clock::now();
    Emitter out(tokenizer, on_text, stats);
    auto budget_left = [&] {
        const int64_t by_ctx = state.n_ctx() - state.n_past();
        return params.n_predict < 0 ? by_ctx : std::min(by_ctx, params.n_predict - stats.n_generated);
    };
    // Samples from one logits row. Under a constraint a rejected draw masks the row and draws
    // again: keeping allowed draws and redrawing the rest from the masked distribution gives
    // exactly the masked distribution, and most draws of a trained model need no mask.
    // -1: no token can continue the match.
    auto pick = [&](float* row) -> int32_t {
        const std::span<float> r(row, size_t(n_vocab));
        int32_t t = sampler.sample(r);
        if (!constraint || constraint->allows(t)) return t;
        ++stats.n_masked;
        if (constraint->mask(r) == 0) return -1;
        t = sampler.sample(r);
        // Rounding in the sampler can fall through to a zero-probability candidate.
        return constraint->allows(t) ? t : argmax(r);
    };
    // Takes a sampled token: false when generation ends with it.
    auto take = [&](int32_t tok) {
        if (tokenizer.is_eog(tok)) {
            stats.stopped_by_eog = true;
            return false;
        }
        sampler.accept(tok);
        history.push_back(tok);
        bool go_on = out.emit(tok) && budget_left() > 0;
        if (constraint) {
            constraint->accept(tok);
            if (constraint->complete() && !constraint->can_continue()) {
                stats.stopped_by_eog = true;  // only end of generation could follow
                go_on = false;
            }
        }
        return go_on;
    };

    int32_t tok = pick(logits.data());
    while (tok >= 0 && take(tok)) {
        std::vector<int32_t> draft;
        const int64_t room = std::min(n_draft, budget_left() - 1);
        if (mtp) {
            auto d = mtp->draft(tok, room);
            if (!d.ok()) return d.status();
            draft = std::move(d.value());
        } else if (n_draft > 0) {
            draft = draft_ngram(history, room);
        }
        if (draft.empty()) {
            HEARTH_RETURN_IF_ERROR(model.eval({&tok, 1}, state, logits.data(), false));
            if (mtp) mtp->observe({&tok, 1}, state, 1);
            tok = pick(logits.data());
            continue;
        }
        // Verify [tok, d1..dk] in one pass: row i holds the model's view after batch[i].
        const model::Checkpoint cp = state.checkpoint();
        std::vector<int32_t> batch = {tok};
        batch.insert(batch.end(), draft.begin(), draft.end());
        HEARTH_RETURN_IF_ERROR(model.eval(batch, state, logits.data(), true));
        size_t accepted = 0;
        bool go_on = true;
        tok = sampler.sample({logits.data(), size_t(n_vocab)});
        while (accepted < draft.size() && tok == draft[accepted]) {
            ++accepted;
            if (!(go_on = take(tok))) break;
            tok = sampler.sample({logits.data() + accepted * n_vocab, size_t(n_vocab)});
        }
        stats.n_drafted += static_cast<int64_t>(draft.size());
        stats.n_accepted += static_cast<int64_t>(accepted);
        // Keep the verified token and the accepted drafts; drop the rest of the batch.
        const int64_t keep = cp.n_past + 1 + static_cast<int64_t>(accepted);
        if (!state.truncate(keep)) {  // recurrent memory: back to the checkpoint, redo the kept part
            state.restore(cp);
            HEARTH_RETURN_IF_ERROR(model.eval({batch.data(), 1 + accepted}, state, logits.data(), false));
        }
        if (mtp) mtp->observe(batch, state, 1 + static_cast<int64_t>(accepted));
        if (!go_on) break;
    }
    out.flush();
    if (tok < 0)
        return error("constrained decoding: no token of the vocabulary can continue the output");
    stats.constraint_complete = constraint && constraint->complete();
    stats.generate_seconds = seconds_since(t0);
    return stats;
}

}  // namespace hearth::runtime
