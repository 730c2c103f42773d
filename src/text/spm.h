// SentencePiece BPE as llama.cpp runs it (tokenizer.ggml.model "llama"): spaces become U+2581,
// a dummy-prefix space starts each text fragment, bigrams merge greedily by score, and bytes
// with no piece fall back to <0xXX> tokens. Unigram models and normalization rules are not here.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "text/vocab.h"

namespace hearth::text {

class SpmModel {
   public:
    // `unk_id` is used for a byte with neither a <0xXX> nor a one-byte piece (-1: drop it).
    static SpmModel create(const Vocab& vocab, bool add_space_prefix, int32_t unk_id);

    // Appends the ids of one raw-text fragment. `after_special`: the fragment starts the text
    // or follows a special token, which is where SentencePiece puts its dummy prefix.
    void encode(const Vocab& vocab, std::string_view fragment, bool after_special,
                std::vector<int32_t>* out) const;

    // A normal piece's bytes: U+2581 back to spaces.
    static std::string decode_text(std::string_view token_text);
    // The byte a <0xXX> token stands for, or -1 when the text is not of that form.
    static int parse_byte_token(std::string_view token_text);

   private:
    bool add_space_prefix_ = true;
    int32_t byte_token_[256] = {};
};

}  // namespace hearth::text
