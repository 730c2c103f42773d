// Golden tokenizer cases: the qwen2 / qwen35 BPE cases and token pieces from
// tests/data/golden/tokenizer (also ../shared when present) and llama.cpp's SentencePiece vectors.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "gguf/reader.h"
#include "text/tokenizer.h"
#include "text/unicode.h"

namespace hearth::text {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

const std::string kData = HEARTH_TEST_DATA "/golden/tokenizer";
const std::string kShared = HEARTH_SHARED_DIR "/golden";

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

Tokenizer load(const std::string& path) {
    Result<gguf::Reader> r = gguf::Reader::open(path);
    EXPECT_TRUE(r.ok()) << r.message();
    HEARTH_CHECK(r.ok());
    Result<Tokenizer> t = Tokenizer::from_gguf(*r);
    EXPECT_TRUE(t.ok()) << t.message();
    HEARTH_CHECK(t.ok());
    return std::move(t.value());
}

std::string hex(const std::string& s) {
    static const char* kDigits = "0123456789abcdef";
    std::string out;
    for (unsigned char c : s) {
        out += kDigits[c >> 4];
        out += kDigits[c & 15];
    }
    return out;
}

// Checks every case of one pre-tokenizer; returns the number of cases checked.
int check_cases(const Tokenizer& tok, const json& cases, const std::string& label) {
    int n = 0;
    for (size_t i = 0; i < cases.size(); ++i) {
        const json& c = cases[i];
        const std::string text = c["text"];
        SCOPED_TRACE(label + " case " + std::to_string(i) + ": " + text);
        // Qwen declares NFC; where the reference skipped it, the case says what NFC gives.
        const bool nfc_case = c.contains("ids_after_nfc");
        auto want_special =
            c[nfc_case ? "ids_after_nfc" : "ids_parse_special"].get<std::vector<int32_t>>();
        auto want_plain =
            c[nfc_case ? "ids_after_nfc" : "ids_no_parse_special"].get<std::vector<int32_t>>();
        EXPECT_EQ(tok.encode(text, true), want_special);
        EXPECT_EQ(tok.encode(text, false), want_plain);
        auto golden = c["ids_parse_special"].get<std::vector<int32_t>>();
        EXPECT_EQ(tok.decode(golden, true), c["detokenized"].get<std::string>());
        EXPECT_EQ(tok.decode(tok.encode(text, true), true), nfc(text));
        ++n;
    }
    return n;
}

void check_pieces(const Tokenizer& tok, const json& pieces) {
    ASSERT_EQ(static_cast<size_t>(tok.n_vocab()), pieces.size());
    for (const json& p : pieces) {
        int32_t id = p["id"];
        EXPECT_EQ(hex(tok.token_to_piece(id, true)), p["piece_hex"].get<std::string>()) << id;
    }
}

struct Source {
    std::string cases_json;
    std::string model[2];  // qwen2, qwen35
};

std::vector<Source> sources() {
    std::vector<Source> out = {{kData + "/tokenizer_cases.json",
                                {kData + "/qwen2-vocab.gguf", kData + "/qwen35-vocab.gguf"}}};
    if (fs::exists(kShared + "/tokenizer/tokenizer_cases.json") &&
        fs::exists(kShared + "/qwen3/qwen3-F32.gguf") &&
        fs::exists(kShared + "/qwen35/qwen35-F32.gguf")) {
        out.push_back({kShared + "/tokenizer/tokenizer_cases.json",
                       {kShared + "/qwen3/qwen3-F32.gguf", kShared + "/qwen35/qwen35-F32.gguf"}});
    } else {
        std::printf("note: %s not found, checking the repository copies only\n", kShared.c_str());
    }
    return out;
}

TEST(TokenizerGolden, QwenCasesAndPieces) {
    for (const Source& src : sources()) {
        SCOPED_TRACE(src.cases_json);
        json doc = json::parse(slurp(src.cases_json));
        const char* pre[2] = {"qwen2", "qwen35"};
        for (int k = 0; k < 2; ++k) {
            SCOPED_TRACE(src.model[k]);
            Tokenizer tok = load(src.model[k]);
            EXPECT_EQ(check_cases(tok, doc["pre_tokenizers"][pre[k]]["cases"], pre[k]), 45);
            check_pieces(tok, doc["token_pieces"]);
            EXPECT_FALSE(tok.add_bos());
            for (const char* eog : {"<|im_end|>", "<|endoftext|>", "<|fim_pad|>"}) {
                std::vector<int32_t> ids = tok.encode(eog, true);
                ASSERT_EQ(ids.size(), 1u) << eog;
                EXPECT_TRUE(tok.is_eog(ids[0])) << eog;
            }
            EXPECT_FALSE(tok.is_eog(tok.encode("<|im_start|>", true)[0]));
            EXPECT_FALSE(tok.is_eog(tok.encode("<think>", true)[0]));
        }
    }
}

// llama.cpp's test format: strings separated by lines reading "__ggml_vocab_test__".
std::vector<std::string> split_inputs(const std::string& inp) {
    const std::string sep = "\n__ggml_vocab_test__\n";
    std::vector<std::string> out;
    size_t start = 0;
    for (size_t at; (at = inp.find(sep, start)) != std::string::npos; start = at + sep.size())
        out.push_back(inp.substr(start, at - start));
    return out;
}

TEST(TokenizerGolden, LlamaSpm) {
    const std::string dir = kShared + "/tokenizer/llama-spm";
    const std::string model = dir + "/ggml-vocab-llama-spm.gguf";
    if (!fs::exists(model)) GTEST_SKIP() << model << " not found (shared golden data absent)";
    Tokenizer tok = load(model);
    EXPECT_TRUE(tok.add_bos());
    std::vector<std::string> inputs = split_inputs(slurp(model + ".inp"));
    std::istringstream outs(slurp(model + ".out"));
    ASSERT_EQ(inputs.size(), 46u);
    for (size_t i = 0; i < inputs.size(); ++i) {
        std::string line;
        ASSERT_TRUE(std::getline(outs, line)) << "missing expected ids for case " << i;
        std::vector<int32_t> want;
        std::istringstream ls(line);
        for (int32_t id; ls >> id;) want.push_back(id);
        SCOPED_TRACE("spm case " + std::to_string(i) + ": " + inputs[i]);
        std::vector<int32_t> got = tok.encode(inputs[i], false);
        EXPECT_EQ(got, want);
        // SentencePiece adds its dummy-prefix space, which decoding keeps.
        if (!inputs[i].empty()) {
            EXPECT_EQ(tok.decode(got, false), " " + inputs[i]);
        }
    }
}

}  // namespace
}  // namespace hearth::text
