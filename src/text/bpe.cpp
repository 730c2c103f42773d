// Byte-level BPE: PCRE2 pre-tokenizer (compiled and JIT-compiled once per tokenizer) and a
// heap-driven merge loop over token ids, O(n log n) in the piece length.
#include "text/bpe.h"

#include <algorithm>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "text/unicode.h"

namespace hearth::text {

namespace {

// Unicode White_Space spelled out: PCRE2's \s under UCP also takes U+180E, which the reference
// tokenizers do not count as a space.
constexpr const char* kSpace =
    R"(\t\n\x{0B}\f\r \x{85}\x{A0}\x{1680}\x{2000}-\x{200A})"
    R"(\x{2028}\x{2029}\x{202F}\x{205F}\x{3000})";

// The contraction alternatives, case-insensitive for ASCII only as llama.cpp matches them
// (PCRE2's (?i) would also let U+017F stand for 's').
constexpr const char* kContractions =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD]))";

struct PreSpec {
    std::string pattern;
    bool nfc = false;
    bool ignore_merges = false;
};

// `letters` is what counts as a letter run, `digits` the number alternative.
std::string llama3_style(const std::string& letters, const std::string& not_word,
                         const std::string& digits) {
    const std::string s = kSpace;
    return std::string(kContractions) + R"(|[^\r\n\p{L}\p{N}]?)" + letters + "+|" + digits +
           "| ?[^" + s + not_word + R"(]+[\r\n]*|[)" + s + R"(]*[\r\n]+|[)" + s + "]+(?![^" + s +
           "])|[" + s + "]+";
}

Result<PreSpec> pre_spec(std::string_view pre) {
    if (pre == "qwen2" || pre == "deepseek-r1-qwen")
        return PreSpec{llama3_style(R"(\p{L})", R"(\p{L}\p{N})", R"(\p{N})"), true, false};
    if (pre == "qwen35")
        return PreSpec{llama3_style(R"([\p{L}\p{M}])", R"(\p{L}\p{M}\p{N})", R"(\p{N})"), true,
                       false};
    if (pre == "llama-bpe" || pre == "llama3")
        return PreSpec{llama3_style(R"(\p{L})", R"(\p{L}\p{N})", R"(\p{N}{1,3})"), false, true};
    if (pre == "default" || pre == "gpt-2" || pre == "gpt2") {
        const std::string s = kSpace;
        return PreSpec{R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^)" + s +
                           R"(\p{L}\p{N}]+|[)" + s + "]+(?![^" + s + "])|[" + s + "]+",
                       false, false};
    }
    return error("tokenizer.ggml.pre: unsupported pre-tokenizer '" + std::string(pre) +
                 "' (known: qwen2, qwen35, llama-bpe, default)");
}

// GPT-2's byte alphabet: printable Latin-1 bytes stand for themselves, the other 68 bytes map to
// U+0100.. in byte order.
struct ByteAlphabet {
    uint32_t byte_to_cp[256];
    int16_t cp_to_byte[324];
    ByteAlphabet() {
        std::fill(std::begin(cp_to_byte), std::end(cp_to_byte), int16_t{-1});
        uint32_t n = 0;
        for (uint32_t b = 0; b < 256; ++b) {
            bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
            byte_to_cp[b] = printable ? b : 256 + n++;
            cp_to_byte[byte_to_cp[b]] = static_cast<int16_t>(b);
        }
    }
};

const ByteAlphabet& alphabet() {
    static const ByteAlphabet a;
    return a;
}

using MatchData = std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)>;

}  // namespace

struct BpeModel::Regex {
    pcre2_code* code = nullptr;
    ~Regex() { pcre2_code_free(code); }
};

// Per-call scratch so encode() stays const and thread-safe without locks.
struct BpeModel::Workspace {
    struct Symbol {
        int32_t id;  // -1 once merged into its left neighbour
        int32_t prev;
        int32_t next;
    };
    struct Candidate {
        int32_t rank;
        int32_t left;
        int32_t right;
        int32_t left_id;
        int32_t right_id;
        int32_t merged;
    };
    std::vector<Symbol> symbols;
    std::vector<Candidate> heap;
};

BpeModel::BpeModel(BpeModel&&) noexcept = default;
BpeModel& BpeModel::operator=(BpeModel&&) noexcept = default;
BpeModel::~BpeModel() = default;

Result<BpeModel> BpeModel::create(const Vocab& vocab, const gguf::Array& merges,
                                  std::string_view pre) {
    Result<PreSpec> spec = pre_spec(pre);
    if (!spec.ok()) return spec.status();
    BpeModel m;
    m.nfc_ = spec->nfc;
    m.ignore_merges_ = spec->ignore_merges;
    int err = 0;
    PCRE2_SIZE err_offset = 0;
    m.regex_ = std::make_unique<Regex>();
    // MATCH_INVALID_UTF: ill-formed bytes never match, so they fall into the gaps between
    // matches and are encoded as pieces of their own instead of failing the whole match.
    m.regex_->code =
        pcre2_compile(reinterpret_cast<PCRE2_SPTR>(spec->pattern.c_str()), PCRE2_ZERO_TERMINATED,
                      PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &err, &err_offset, nullptr);
    if (!m.regex_->code) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(err, msg, sizeof(msg));
        return error(strfmt("tokenizer.ggml.pre '%.*s': regex does not compile at %zu: %s",
                            static_cast<int>(pre.size()), pre.data(),
                            static_cast<size_t>(err_offset), reinterpret_cast<char*>(msg)));
    }
    // Without JIT (unsupported CPU) pcre2_match falls back to the interpreter: slower, same ids.
    (void)pcre2_jit_compile(m.regex_->code, PCRE2_JIT_COMPLETE);

    const ByteAlphabet& abc = alphabet();
    for (int b = 0; b < 256; ++b) {
        std::string ch;
        append_utf8(ch, abc.byte_to_cp[b]);
        m.byte_token_[b] = vocab.find(ch);
    }
    HEARTH_RETURN_IF_ERROR(m.load_merges(vocab, merges));
    return m;
}

Status BpeModel::load_merges(const Vocab& vocab, const gguf::Array& merges) {
    if (merges.elem_type != gguf::ValueType::String)
        return error("tokenizer.ggml.merges: expected an array of strings");
    merges_.reserve(merges.strings.size());
    std::string joined;
    for (size_t rank = 0; rank < merges.strings.size(); ++rank) {
        std::string_view m = merges.strings[rank];
        size_t sp = m.size() > 1 ? m.find(' ', 1) : std::string_view::npos;
        if (sp == std::string_view::npos)
            return error(strfmt("tokenizer.ggml.merges[%zu]: expected \"left right\", got '%.*s'",
                                rank, static_cast<int>(m.size()), m.data()));
        std::string_view left = m.substr(0, sp), right = m.substr(sp + 1);
        joined.assign(left).append(right);
        int32_t l = vocab.find(left), r = vocab.find(right), merged = vocab.find(joined);
        if (l < 0 || r < 0 || merged < 0)
            return error(
                strfmt("tokenizer.ggml.merges[%zu]: '%.*s' uses a token that is not in "
                       "the vocabulary",
                       rank, static_cast<int>(m.size()), m.data()));
        uint64_t key =
            (static_cast<uint64_t>(static_cast<uint32_t>(l)) << 32) | static_cast<uint32_t>(r);
        merges_.emplace(key, Merge{static_cast<int32_t>(rank), merged});  // first rank wins
    }
    return {};
}

void BpeModel::encode(const Vocab& vocab, std::string_view fragment,
                      std::vector<int32_t>* out) const {
    std::string normalized;
    std::string_view text = fragment;
    if (nfc_) {
        normalized = nfc(fragment);
        text = normalized;
    }
    MatchData md(pcre2_match_data_create_from_pattern(regex_->code, nullptr),
                 &pcre2_match_data_free);
    HEARTH_CHECK(md != nullptr);
    Workspace ws;
    const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
    size_t start = 0;
    while (start < text.size()) {
        int rc = pcre2_match(regex_->code, subject, text.size(), start, 0, md.get(), nullptr);
        if (rc < 0) {
            // No match (only ill-formed bytes left) or a resource limit: keep the rest whole so
            // its bytes are never lost.
            encode_piece(vocab, text.substr(start), ws, out);
            break;
        }
        const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md.get());
        size_t m_start = ov[0], m_end = ov[1];
        if (m_start > start) encode_piece(vocab, text.substr(start, m_start - start), ws, out);
        if (m_end == m_start) {
            // The patterns never match empty; guard anyway so the loop always advances.
            m_end = m_start + 1;
        }
        encode_piece(vocab, text.substr(m_start, m_end - m_start), ws, out);
        start = m_end;
    }
}

void BpeModel::encode_piece(const Vocab& vocab, std::string_view piece, Workspace& ws,
                            std::vector<int32_t>* out) const {
    if (piece.size() == 1) {
        int32_t id = byte_token_[static_cast<unsigned char>(piece[0])];
        if (id >= 0) out->push_back(id);
        return;
    }
    if (ignore_merges_) {
        std::string mapped;
        for (unsigned char b : piece) append_utf8(mapped, alphabet().byte_to_cp[b]);
        if (int32_t id = vocab.find(mapped); id >= 0) {
            out->push_back(id);
            return;
        }
    }
    auto& syms = ws.symbols;
    auto& heap = ws.heap;
    syms.clear();
    heap.clear();
    for (unsigned char b : piece) {
        // A vocabulary without this byte's token cannot spell it: the byte is dropped.
        if (byte_token_[b] < 0) continue;
        int32_t i = static_cast<int32_t>(syms.size());
        syms.push_back({byte_token_[b], i - 1, i + 1});
    }
    if (syms.empty()) return;
    syms.back().next = -1;
    // Min-heap on (rank, left position): the lowest rank merges first, leftmost on ties.
    auto later = [](const Workspace::Candidate& a, const Workspace::Candidate& b) {
        return a.rank != b.rank ? a.rank > b.rank : a.left > b.left;
    };
    auto try_add = [&](int32_t l, int32_t r) {
        if (l < 0 || r < 0) return;
        uint64_t key = (static_cast<uint64_t>(static_cast<uint32_t>(syms[l].id)) << 32) |
                       static_cast<uint32_t>(syms[r].id);
        auto it = merges_.find(key);
        if (it == merges_.end()) return;
        heap.push_back({it->second.rank, l, r, syms[l].id, syms[r].id, it->second.id});
        std::push_heap(heap.begin(), heap.end(), later);
    };
    for (int32_t i = 0; i + 1 < static_cast<int32_t>(syms.size()); ++i) try_add(i, i + 1);
    while (!heap.empty()) {
        std::pop_heap(heap.begin(), heap.end(), later);
        Workspace::Candidate c = heap.back();
        heap.pop_back();
        auto& l = syms[c.left];
        auto& r = syms[c.right];
        // Stale entries: one side was merged away or changed since this pair was queued.
        if (l.id != c.left_id || r.id != c.right_id || l.next != c.right) continue;
        l.id = c.merged;
        l.next = r.next;
        if (r.next >= 0) syms[r.next].prev = c.left;
        r.id = -1;
        try_add(l.prev, c.left);
        try_add(c.left, l.next);
    }
    for (int32_t i = 0; i >= 0; i = syms[i].next) out->push_back(syms[i].id);
}

std::string BpeModel::decode_text(std::string_view token_text) {
    const ByteAlphabet& abc = alphabet();
    std::string out;
    out.reserve(token_text.size());
    size_t i = 0;
    while (i < token_text.size()) {
        int len = utf8_char_len(token_text, i);
        if (len == 0) {
            out += token_text[i++];
            continue;
        }
        uint32_t cp = utf8_decode(token_text, i, len);
        if (cp < 324 && abc.cp_to_byte[cp] >= 0) {
            out += static_cast<char>(abc.cp_to_byte[cp]);
        } else {
            out.append(token_text.substr(i, static_cast<size_t>(len)));  // not in the alphabet
        }
        i += static_cast<size_t>(len);
    }
    return out;
}

}  // namespace hearth::text
