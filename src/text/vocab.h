// The vocabulary shared by both tokenizer models (token text, type, score, text -> id) and the
// special-token splitter that runs before either model. Loading from GGUF is in tokenizer.cpp.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "text/tokenizer.h"

namespace hearth::text {

struct StringHash {
    using is_transparent = void;  // lets string_view look up std::string keys without a copy
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

struct Vocab {
    std::vector<std::string> text;  // (n_vocab) as stored in tokenizer.ggml.tokens
    std::vector<TokenType> type;    // (n_vocab)
    std::vector<float> score;       // (n_vocab), 0 when the file has no scores
    // Later duplicates win, as in llama.cpp's token_to_id.
    std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>> id_of;

    int32_t size() const { return static_cast<int32_t>(text.size()); }
    int32_t find(std::string_view s) const {
        auto it = id_of.find(s);
        return it == id_of.end() ? -1 : it->second;
    }
};

// A piece of the input after special-token splitting: a special token or raw text.
struct Fragment {
    int32_t token = -1;     // >= 0: this special token
    std::string_view text;  // raw text when token < 0
};

// Finds special-token text in the input, leftmost first and longest first at one position (the
// HF tokenizers rule). Control and unknown tokens match only with parse_special; user-defined
// tokens always match.
class SpecialMatcher {
   public:
    void build(const Vocab& vocab);
    void split(const Vocab& vocab, std::string_view text, bool parse_special,
               std::vector<Fragment>* out) const;

   private:
    std::array<std::vector<int32_t>, 256> by_first_byte_;  // candidate ids, longest text first
};

}  // namespace hearth::text
