// The generation loop: evaluate a prompt as one batch, then sample and decode one token at a
// time (or verify a speculative draft in one batch) until an end-of-generation token, the
// token budget, or the callback says stop. Speculation never changes the output.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "base/status.h"
#include "model/model.h"
#include "runtime/constraint.h"
#include "runtime/sampler.h"
#include "text/tokenizer.h"

namespace hearth::runtime {

enum class Speculation {
    None,
    Ngram,  // prompt lookup (runtime/speculative.h)
    Mtp,    // the model's multi-token-prediction head
};

struct GenerateParams {
    int64_t n_predict = 128;  // < 0: until end of generation or a full context
    SamplerParams sampling;
    Speculation speculation = Speculation::None;
    int64_t n_draft = 8;      // most tokens one draft may propose
    // Constrained decoding (null: free text): every token, the first after the prompt included,
    // must continue the constraint's match, and end of generation comes only once it is complete
    // (or right away when nothing else can follow). Speculation is off under a constraint.
    std::shared_ptr<const Constraint> constraint;
    // The vocabulary trie the constraint is applied through; built for this call when null (it
    // takes a moment on a large vocabulary: build one per tokenizer and share it).
    std::shared_ptr<const TokenIndex> token_index;
};

struct GenerateStats {
    int64_t n_prompt = 0;
    int64_t n_generated = 0;
    double prompt_seconds = 0;
    double generate_seconds = 0;
    bool stopped_by_eog = false;
    int64_t n_drafted = 0;   // draft tokens proposed
    int64_t n_accepted = 0;  // of those, kept (they matched what the model produced)
    int64_t n_masked = 0;    // draws the constraint rejected, redrawn from the masked logits
    bool constraint_complete = false;  // the output is a complete match of the constraint
};

// Text pieces arrive as complete UTF-8: bytes of a character split across tokens are held
// back until the character is whole. Returning false stops generation.
using OnText = std::function<bool(std::string_view text)>;

Result<GenerateStats> generate(model::Model& model, model::State& state,
                               const text::Tokenizer& tokenizer, std::span<const int32_t> prompt,
                               const GenerateParams& params, const OnText& on_text);

// Length of the longest prefix of s that does not end inside a UTF-8 sequence.
size_t complete_utf8_prefix(std::string_view s);

}  // namespace hearth::runtime
