// hearth tokenize: text -> token ids with the tokenizer stored in a GGUF (a vocabulary-only file
// is enough). Prints the ids on one line; --show adds one escaped piece per token.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "cli/args.h"
#include "cli/commands.h"
#include "gguf/reader.h"
#include "text/tokenizer.h"

namespace hearth::cli {

namespace {

constexpr const char* kCmd = "tokenize";

const std::vector<FlagSpec> kSpecs = {
    {"-m,--model", "FILE", "GGUF file with a tokenizer (tokenizer.ggml.* keys)"},
    {"-f,--file", "FILE", "read the text from FILE (bytes as they are) instead of TEXT"},
    {"--no-special", "", "treat control-token text such as <|im_start|> as plain text"},
    {"--show", "", "also print one line per token: id, a tab, the piece in C-style quotes"},
    {"-h,--help", "", "show this help"},
};

// Shows a piece so that every byte is visible: C escapes for quotes, backslashes and control
// bytes, \xNN for bytes that are not part of well-formed UTF-8; other UTF-8 stays as it is.
std::string escape_piece(const std::string& s) {
    std::string out = "\"";
    for (size_t i = 0; i < s.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        switch (c) {
            case '"':
                out += "\\\"";
                continue;
            case '\\':
                out += "\\\\";
                continue;
            case '\n':
                out += "\\n";
                continue;
            case '\r':
                out += "\\r";
                continue;
            case '\t':
                out += "\\t";
                continue;
            default:
                break;
        }
        size_t len = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
        bool ok = len > 0 && i + len <= s.size();
        for (size_t k = 1; ok && k < len; ++k) ok = (s[i + k] & 0xC0) == 0x80;
        if (c < 0x20 || c == 0x7F || !ok) {
            out += strfmt("\\x%02x", c);
            continue;
        }
        out.append(s, i, len);
        i += len - 1;
    }
    return out + "\"";
}

Result<std::string> read_file(const std::string& path) {
    std::error_code ec;
    // An ifstream opens a directory without complaint and then reads nothing.
    if (std::filesystem::is_directory(path, ec)) return error("'" + path + "' is a directory");
    std::ifstream in(path, std::ios::binary);
    if (!in) return error("cannot open '" + path + "'");
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) return error("cannot read '" + path + "'");
    return ss.str();
}

}  // namespace

int cmd_tokenize(int argc, char** argv) {
    Result<Args> args = Args::parse(kSpecs, argc, argv);
    if (!args.ok()) return usage_error(kCmd, args.message());
    if (args->has("--help")) {
        print_help(kCmd, "-m MODEL [--no-special] [--show] (TEXT | -f FILE)",
                   "Tokenizes TEXT (or the bytes of FILE) and prints the token ids on one line,\n"
                   "separated by spaces. Special-token text is recognized unless --no-special.\n"
                   "BOS is prepended only when the file sets tokenizer.ggml.add_bos_token.",
                   kSpecs);
        return 0;
    }
    if (!args->has("--model")) return usage_error(kCmd, "missing -m MODEL");
    const auto& pos = args->positional();
    if (pos.size() > 1) return usage_error(kCmd, "expected one TEXT argument (quote it)");
    if (!pos.empty() && args->has("--file"))
        return usage_error(kCmd, "give TEXT or -f FILE, not both");
    if (pos.empty() && !args->has("--file"))
        return usage_error(kCmd, "no text: give TEXT or -f FILE");

    std::string text;
    if (args->has("--file")) {
        Result<std::string> content = read_file(args->get("--file"));
        if (!content.ok()) return fail(kCmd, content.message());
        text = std::move(content.value());
    } else {
        text = pos[0];
    }
    Result<gguf::Reader> reader = gguf::Reader::open(args->get("--model"));
    if (!reader.ok()) return fail(kCmd, reader.message());
    Result<text::Tokenizer> tok = text::Tokenizer::from_gguf(*reader);
    if (!tok.ok()) return fail(kCmd, args->get("--model") + ": " + tok.message());

    std::vector<int32_t> ids;
    if (tok->add_bos() && tok->bos_id() >= 0) ids.push_back(tok->bos_id());
    std::vector<int32_t> body = tok->encode(text, !args->has("--no-special"));
    ids.insert(ids.end(), body.begin(), body.end());

    std::string out;
    for (size_t i = 0; i < ids.size(); ++i) {
        if (i > 0) out += ' ';
        out += std::to_string(ids[i]);
    }
    out += '\n';
    if (args->has("--show")) {
        for (int32_t id : ids) {
            out += std::to_string(id) + '\t' + escape_piece(tok->token_to_piece(id, true)) + '\n';
        }
    }
    std::fwrite(out.data(), 1, out.size(), stdout);
    return std::fflush(stdout) == 0 ? 0 : fail(kCmd, "cannot write the output");
}

}  // namespace hearth::cli
