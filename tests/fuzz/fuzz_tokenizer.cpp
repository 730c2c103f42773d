// libFuzzer target: encode and decode arbitrary bytes with the Qwen3.5 golden vocabulary and
// check the round trip up to NFC (exact for input that is already normalized).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "gguf/reader.h"
#include "text/tokenizer.h"
#include "text/unicode.h"

namespace {

const hearth::text::Tokenizer& tokenizer() {
    static const hearth::text::Tokenizer* tok = [] {
        const std::string path = HEARTH_TEST_DATA "/golden/tokenizer/qwen35-vocab.gguf";
        auto reader = hearth::gguf::Reader::open(path);
        if (!reader.ok()) {
            std::fprintf(stderr, "fuzz_tokenizer: %s\n", reader.message().c_str());
            std::abort();
        }
        auto t = hearth::text::Tokenizer::from_gguf(*reader);
        if (!t.ok()) {
            std::fprintf(stderr, "fuzz_tokenizer: %s\n", t.message().c_str());
            std::abort();
        }
        return new hearth::text::Tokenizer(std::move(t.value()));
    }();
    return *tok;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const auto& tok = tokenizer();
    std::string_view input(reinterpret_cast<const char*>(data), size);
    // The qwen35 tokenizer normalizes the text between special tokens to NFC (as HF does), so a
    // mark right after a special token is not composed with it: then the output is only
    // canonically equivalent to the input, which NFC of both sides checks.
    const std::string want = hearth::text::nfc(input);
    for (bool parse_special : {false, true}) {
        std::string got = tok.decode(tok.encode(input, parse_special), true);
        if (got != want && got != input && hearth::text::nfc(got) != want) {
            std::fprintf(stderr, "round trip failed (parse_special=%d, %zu bytes in, %zu out)\n",
                         parse_special, size, got.size());
            std::abort();
        }
        for (int32_t id : tok.encode(input, parse_special)) {
            if (id < 0 || id >= tok.n_vocab()) std::abort();
        }
    }
    return 0;
}
