// Tokenizer unit tests: byte-exact round trips (invalid UTF-8 included), special-token rules,
// pre-tokenizer choice, and malformed vocabularies that must give errors, not crashes.
#include "text/tokenizer.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "gguf/reader.h"
#include "gguf/writer.h"
#include "text/unicode.h"

namespace hearth::text {
namespace {

const std::string kQwen35 = HEARTH_TEST_DATA "/golden/tokenizer/qwen35-vocab.gguf";

Result<Tokenizer> from_writer(const gguf::Writer& w) {
    Result<gguf::Reader> r = gguf::Reader::from_file(MappedFile::from_bytes(w.bytes(), "mem"));
    if (!r.ok()) return r.status();
    return Tokenizer::from_gguf(*r);
}

// The golden vocabulary's tokenizer keys, with `pre` replaced (empty: keep "qwen35").
struct VocabKeys {
    std::vector<std::string> tokens, merges;
    std::vector<int32_t> types;
};

VocabKeys golden_keys() {
    Result<gguf::Reader> r = gguf::Reader::open(kQwen35);
    HEARTH_CHECK(r.ok());
    VocabKeys k;
    for (auto s : r->get_array("tokenizer.ggml.tokens").value()->strings) k.tokens.emplace_back(s);
    for (auto s : r->get_array("tokenizer.ggml.merges").value()->strings) k.merges.emplace_back(s);
    const gguf::Array* t = r->get_array("tokenizer.ggml.token_type").value();
    for (uint64_t i = 0; i < t->count; ++i) k.types.push_back(int32_t(gguf::array_int(*t, i)));
    return k;
}

gguf::Writer bpe_writer(const VocabKeys& k, const std::string& pre) {
    gguf::Writer w;
    w.add_string("tokenizer.ggml.model", "gpt2");
    w.add_string("tokenizer.ggml.pre", pre);
    w.add_strings("tokenizer.ggml.tokens", k.tokens);
    w.add_i32s("tokenizer.ggml.token_type", k.types);
    w.add_strings("tokenizer.ggml.merges", k.merges);
    return w;
}

Tokenizer golden(const std::string& pre) {
    Result<Tokenizer> t = from_writer(bpe_writer(golden_keys(), pre));
    EXPECT_TRUE(t.ok()) << t.message();
    HEARTH_CHECK(t.ok());
    return std::move(t.value());
}

std::string random_bytes(std::mt19937& rng, size_t n) {
    // Mostly ASCII and UTF-8 lead/continuation bytes so that valid and broken sequences mix.
    static const std::string kPool =
        "ab Z9\n\t\r'<|>\xc3\xa9\xe2\x96\x81\xf0\x9f\x98\x80\x80\xff\xc0";
    std::string s;
    for (size_t i = 0; i < n; ++i) {
        s += (rng() % 4 == 0) ? static_cast<char>(rng() & 0xFF) : kPool[rng() % kPool.size()];
    }
    return s;
}

TEST(TokenizerTest, RandomBytesRoundTrip) {
    Tokenizer qwen = golden("qwen35");   // normalizes to NFC
    Tokenizer gpt2 = golden("default");  // no normalization: bytes come back exactly
    Tokenizer llama3 = golden("llama-bpe");
    std::mt19937 rng(1234);
    for (int iter = 0; iter < 300; ++iter) {
        std::string s = random_bytes(rng, rng() % 200);
        for (bool special : {false, true}) {
            EXPECT_EQ(qwen.decode(qwen.encode(s, special), true), nfc(s));
            EXPECT_EQ(gpt2.decode(gpt2.encode(s, special), true), s);
            EXPECT_EQ(llama3.decode(llama3.encode(s, special), true), s);
        }
    }
}

TEST(TokenizerTest, LongRunsDoNotBreakTheRegex) {
    Tokenizer tok = golden("qwen2");
    for (std::string unit : {" ", "a", "\n", "7", "\xe4\xbd\xa0", "!", " \t"}) {
        std::string s;
        for (int i = 0; i < 200000; ++i) s += unit;
        EXPECT_EQ(tok.decode(tok.encode(s, true), true), s) << unit;
    }
}

TEST(TokenizerTest, SpecialTokens) {
    Tokenizer tok = golden("qwen2");
    std::vector<int32_t> ids = tok.encode("<|im_start|>", true);
    ASSERT_EQ(ids.size(), 1u);
    EXPECT_EQ(tok.token_type(ids[0]), TokenType::Control);
    EXPECT_EQ(tok.token_to_piece(ids[0], false), "");
    EXPECT_EQ(tok.token_to_piece(ids[0], true), "<|im_start|>");
    EXPECT_GT(tok.encode("<|im_start|>", false).size(), 1u);
    // User-defined tokens match even without special parsing, and render as text.
    std::vector<int32_t> think = tok.encode("<think>", false);
    ASSERT_EQ(think.size(), 1u);
    EXPECT_EQ(tok.token_type(think[0]), TokenType::UserDefined);
    EXPECT_EQ(tok.decode(think, false), "<think>");
    EXPECT_EQ(tok.decode(tok.encode("a<|im_end|>b", true), false), "ab");
    EXPECT_EQ(tok.token_to_piece(-1, true), "");
    EXPECT_EQ(tok.token_to_piece(tok.n_vocab(), true), "");
}

TEST(TokenizerTest, AddBosDefaults) {
    VocabKeys k = golden_keys();
    gguf::Writer w = bpe_writer(k, "qwen2");
    w.add_bool("tokenizer.ggml.add_bos_token", true);
    w.add_u32("tokenizer.ggml.bos_token_id", 1000);
    Result<Tokenizer> t = from_writer(w);
    ASSERT_TRUE(t.ok()) << t.message();
    EXPECT_TRUE(t->add_bos());
    EXPECT_EQ(t->bos_id(), 1000);
    EXPECT_FALSE(golden("qwen2").add_bos());  // gpt2 default
    EXPECT_EQ(golden("qwen2").bos_id(), -1);
}

void expect_error(const gguf::Writer& w, const std::string& needle) {
    Result<Tokenizer> t = from_writer(w);
    ASSERT_FALSE(t.ok());
    EXPECT_NE(t.message().find(needle), std::string::npos) << t.message();
}

TEST(TokenizerTest, MalformedVocabularies) {
    VocabKeys k = golden_keys();
    {
        gguf::Writer w;
        w.add_string("tokenizer.ggml.model", "gpt2");
        w.add_strings("tokenizer.ggml.merges", k.merges);
        expect_error(w, "tokenizer.ggml.tokens");
    }
    expect_error(bpe_writer(k, "no-such-pre"), "no-such-pre");
    {
        VocabKeys bad = k;
        bad.merges.push_back("Ġ notatoken");
        expect_error(bpe_writer(bad, "qwen2"), "tokenizer.ggml.merges");
        bad.merges.back() = "nospace";
        expect_error(bpe_writer(bad, "qwen2"), "tokenizer.ggml.merges");
    }
    {
        VocabKeys bad = k;
        bad.types.pop_back();
        expect_error(bpe_writer(bad, "qwen2"), "tokenizer.ggml.token_type");
    }
    {
        gguf::Writer w = bpe_writer(k, "qwen2");
        w.add_u32("tokenizer.ggml.eos_token_id", 5000000);
        expect_error(w, "tokenizer.ggml.eos_token_id");
    }
    {
        gguf::Writer w;
        w.add_string("tokenizer.ggml.model", "gpt2");
        w.add_strings("tokenizer.ggml.tokens", k.tokens);
        expect_error(w, "tokenizer.ggml.merges");
        w.add_i32s("tokenizer.ggml.merges", {1, 2});
        expect_error(w, "tokenizer.ggml.merges");
    }
    {
        gguf::Writer w;
        w.add_string("tokenizer.ggml.model", "wordpiece");
        w.add_strings("tokenizer.ggml.tokens", k.tokens);
        expect_error(w, "wordpiece");
    }
    {
        gguf::Writer w;
        w.add_string("tokenizer.ggml.model", "llama");
        w.add_strings("tokenizer.ggml.tokens", {"a", "b"});
        w.add_f32s("tokenizer.ggml.scores", {0.0f});
        expect_error(w, "tokenizer.ggml.scores");
    }
    {
        gguf::Writer w;
        w.add_string("tokenizer.ggml.model", "llama");
        w.add_i32s("tokenizer.ggml.tokens", {1, 2});
        expect_error(w, "tokenizer.ggml.tokens");
    }
}

// A tiny SentencePiece vocabulary: scores pick the merges, bytes fall back to <0xXX>.
TEST(TokenizerTest, SpmMergesAndByteFallback) {
    std::vector<std::string> tokens = {"<unk>",
                                       "<s>",
                                       "</s>",
                                       "\xe2\x96\x81",
                                       "a",
                                       "b",
                                       "ab",
                                       "\xe2\x96\x81"
                                       "ab"};
    std::vector<float> scores = {0, 0, 0, -1, -2, -2, -1, -0.5f};
    std::vector<int32_t> types = {2, 3, 3, 1, 1, 1, 1, 1};
    for (int b = 0; b < 256; ++b) {
        char name[8];
        std::snprintf(name, sizeof(name), "<0x%02X>", b);
        tokens.push_back(name);
        scores.push_back(0);
        types.push_back(6);
    }
    gguf::Writer w;
    w.add_string("tokenizer.ggml.model", "llama");
    w.add_strings("tokenizer.ggml.tokens", tokens);
    w.add_f32s("tokenizer.ggml.scores", scores);
    w.add_i32s("tokenizer.ggml.token_type", types);
    w.add_u32("tokenizer.ggml.bos_token_id", 1);
    w.add_u32("tokenizer.ggml.eos_token_id", 2);
    Result<Tokenizer> t = from_writer(w);
    ASSERT_TRUE(t.ok()) << t.message();
    EXPECT_TRUE(t->add_bos());
    EXPECT_TRUE(t->is_eog(2));
    EXPECT_EQ(t->encode("ab ab", false), (std::vector<int32_t>{7, 7}));
    EXPECT_EQ(t->encode("", false), std::vector<int32_t>{});
    // 'c' has no piece: its byte token is 8 + 0x63.
    EXPECT_EQ(t->encode("c", false), (std::vector<int32_t>{3, 8 + 0x63}));
    EXPECT_EQ(t->encode("</s>ab", true), (std::vector<int32_t>{2, 7}));
    std::mt19937 rng(7);
    for (int iter = 0; iter < 100; ++iter) {
        std::string s = random_bytes(rng, rng() % 100);
        if (s.empty() || s.find("\xe2\x96\x81") != std::string::npos) continue;
        EXPECT_EQ(t->decode(t->encode(s, false), false), " " + s);
    }
}

}  // namespace
}  // namespace hearth::text
