// Byte-level BPE (tokenizer.ggml.model "gpt2"): regex pre-tokenizer chosen by tokenizer.ggml.pre,
// the byte -> printable-character alphabet, and merges by rank inside each piece.
// Special tokens are split off before this runs (vocab.h); this sees raw text fragments only.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "gguf/reader.h"
#include "text/vocab.h"

namespace hearth::text {

class BpeModel {
   public:
    // `pre` is tokenizer.ggml.pre; an unknown name is an error naming it.
    static Result<BpeModel> create(const Vocab& vocab, const gguf::Array& merges,
                                   std::string_view pre);
    BpeModel(BpeModel&&) noexcept;
    BpeModel& operator=(BpeModel&&) noexcept;
    ~BpeModel();

    // Appends the ids of one raw-text fragment (normalized first when the pre-tokenizer asks).
    void encode(const Vocab& vocab, std::string_view fragment, std::vector<int32_t>* out) const;

    // A normal token's bytes: its text mapped back through the byte alphabet.
    static std::string decode_text(std::string_view token_text);

   private:
    struct Regex;
    struct Merge {
        int32_t rank;
        int32_t id;  // the merged token
    };
    struct Workspace;
    BpeModel() = default;
    Status load_merges(const Vocab& vocab, const gguf::Array& merges);
    void encode_piece(const Vocab& vocab, std::string_view piece, Workspace& ws,
                      std::vector<int32_t>* out) const;

    std::unique_ptr<Regex> regex_;
    bool nfc_ = false;              // Qwen's tokenizer.json declares an NFC normalizer
    bool ignore_merges_ = false;    // Llama 3: a piece that is a whole token skips the merges
    int32_t byte_token_[256] = {};  // id of each byte's single-character token, -1 if absent
    std::unordered_map<uint64_t, Merge> merges_;  // (left id << 32 | right id) -> merge
};

}  // namespace hearth::text
