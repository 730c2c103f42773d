// Tokenizers read from GGUF metadata: byte-level BPE (tokenizer.ggml.model "gpt2") with the
// pre-tokenizer named by tokenizer.ggml.pre, and SentencePiece ("llama"). Text in, ids out,
// and back to exact bytes. Chat templates and streaming output live elsewhere.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "gguf/reader.h"

namespace hearth::text {

enum class TokenType : int32_t {
    Normal = 1,
    Unknown = 2,
    Control = 3,
    UserDefined = 4,
    Unused = 5,
    Byte = 6,
};

class Tokenizer {
   public:
    // Reads tokenizer.ggml.* from the file; errors name the key that is missing or malformed.
    static Result<Tokenizer> from_gguf(const gguf::Reader& reader);
    Tokenizer(Tokenizer&&) noexcept;
    Tokenizer& operator=(Tokenizer&&) noexcept;
    ~Tokenizer();

    // Ids for `text`. With parse_special, control-token text (e.g. "<|im_start|>") becomes that
    // token; user-defined tokens are always matched. Never adds BOS/EOS (see add_bos()).
    std::vector<int32_t> encode(std::string_view text, bool parse_special) const;

    // The bytes of one token; control tokens give "" unless render_special.
    std::string token_to_piece(int32_t id, bool render_special) const;
    std::string decode(std::span<const int32_t> ids, bool render_special) const;

    int32_t n_vocab() const;
    int32_t bos_id() const;  // -1 when the file names none
    int32_t eos_id() const;
    bool add_bos() const;    // tokenizer.ggml.add_bos_token (default per model type)
    bool is_eog(int32_t id) const;  // end of generation: eos, eot, <|im_end|>, <|endoftext|>, ...
    TokenType token_type(int32_t id) const;
    const std::string& token_text(int32_t id) const;  // as stored in the vocabulary

   private:
    struct Impl;
    explicit Tokenizer(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace hearth::text
