// Prompt batch, then the decode loop. The logits buffer is allocated once per call.
#include "runtime/generate.h"

#include <chrono>
#include <vector>

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

Result<GenerateStats> generate(model::Model& model, model::State& state,
                               const text::Tokenizer& tokenizer, std::span<const int32_t> prompt,
                               const GenerateParams& params, const OnText& on_text) {
    GenerateStats stats;
    const int64_t n_vocab = model.config().n_vocab;
    std::vector<float> logits(n_vocab);
    Sampler sampler(params.sampling);
    for (int32_t t : prompt) sampler.accept(t);

    auto t0 = std::chrono::steady_clock::now();
    HEARTH_RETURN_IF_ERROR(model.eval(prompt, state, logits.data(), false));
    stats.n_prompt = static_cast<int64_t>(prompt.size());
    stats.prompt_seconds = seconds_since(t0);

    t0 = std::chrono::steady_clock::now();
    std::string pending;  // bytes not yet handed out (an unfinished UTF-8 character)
    for (;;) {
        const int32_t tok = sampler.sample(logits);
        if (tokenizer.is_eog(tok)) {
            stats.stopped_by_eog = true;
            break;
        }
        ++stats.n_generated;
        sampler.accept(tok);
        pending += tokenizer.token_to_piece(tok, false);
        const size_t ready = complete_utf8_prefix(pending);
        if (ready > 0) {
            if (!on_text(std::string_view(pending).substr(0, ready))) break;
            pending.erase(0, ready);
        }
        const bool budget_done = params.n_predict >= 0 && stats.n_generated >= params.n_predict;
        if (budget_done || state.n_past() >= state.n_ctx()) break;
        HEARTH_RETURN_IF_ERROR(model.eval({&tok, 1}, state, logits.data(), false));
    }
    if (!pending.empty()) on_text(pending);
    stats.generate_seconds = seconds_since(t0);
    return stats;
}

}  // namespace hearth::runtime
