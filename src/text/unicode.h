// UTF-8 helpers for the tokenizers: strict validation, code point encoding and NFC that leaves
// invalid bytes untouched (tokenizers must round-trip arbitrary bytes). No case mapping here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace hearth::text {

// Length of the well-formed UTF-8 sequence starting at s[i] (1-4), or 0 when the bytes there
// are not one (overlong forms, surrogates and code points past U+10FFFF are rejected).
int utf8_char_len(std::string_view s, size_t i);

// The code point of the well-formed sequence at s[i] of length `len` (from utf8_char_len).
uint32_t utf8_decode(std::string_view s, size_t i, int len);

void append_utf8(std::string& out, uint32_t cp);

// Unicode NFC of every well-formed run of `s`; ill-formed bytes are copied as they are and
// break the runs (nothing composes across them). ASCII input is returned unchanged quickly.
std::string nfc(std::string_view s);

}  // namespace hearth::text
