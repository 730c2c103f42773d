// SentencePiece-style BPE over UTF-8 characters with a score-ordered bigram queue.
#include "text/spm.h"

#include <cstdio>
#include <queue>

#include "text/unicode.h"

namespace hearth::text {

namespace {

constexpr std::string_view kSpaceMark = "\xE2\x96\x81";  // U+2581 LOWER ONE EIGHTH BLOCK

struct Symbol {
    int32_t prev;
    int32_t next;
    size_t offset;  // into the escaped text
    size_t n;       // 0 once merged into its left neighbour
};

struct Bigram {
    float score;
    int32_t left;
    int32_t right;
    size_t size;  // bytes of the pair when queued; a mismatch later marks the entry stale
};

// Highest score first, then the leftmost pair (llama.cpp's order).
struct BigramOrder {
    bool operator()(const Bigram& a, const Bigram& b) const {
        return a.score < b.score || (a.score == b.score && a.left > b.left);
    }
};

// One symbol per well-formed character, one per ill-formed byte. SentencePiece groups by the
// lead byte alone, which can swallow the U+2581 of an escaped space after a broken lead byte
// and byte-spell it, so that space would not come back; valid text splits the same either way.
size_t symbol_len(std::string_view s, size_t i) {
    int len = utf8_char_len(s, i);
    return len > 0 ? static_cast<size_t>(len) : 1;
}

}  // namespace

int SpmModel::parse_byte_token(std::string_view t) {
    if (t.size() != 6 || t.substr(0, 3) != "<0x" || t[5] != '>') return -1;
    int v = 0;
    for (size_t i = 3; i < 5; ++i) {
        char c = t[i];
        int d = (c >= '0' && c <= '9')   ? c - '0'
                : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                                         : -1;
        if (d < 0) return -1;
        v = v * 16 + d;
    }
    return v;
}

SpmModel SpmModel::create(const Vocab& vocab, bool add_space_prefix, int32_t unk_id) {
    SpmModel m;
    m.add_space_prefix_ = add_space_prefix;
    for (int b = 0; b < 256; ++b) {
        char hex[8];
        std::snprintf(hex, sizeof(hex), "<0x%02X>", b);
        int32_t id = vocab.find(hex);
        if (id < 0) id = vocab.find(std::string(1, static_cast<char>(b)));
        m.byte_token_[b] = id >= 0 ? id : unk_id;
    }
    return m;
}

void SpmModel::encode(const Vocab& vocab, std::string_view fragment, bool after_special,
                      std::vector<int32_t>* out) const {
    std::string text;
    text.reserve(fragment.size() + 8);
    if (add_space_prefix_ && after_special) text += kSpaceMark;
    for (char c : fragment) {
        if (c == ' ') {
            text += kSpaceMark;
        } else {
            text += c;
        }
    }
    std::vector<Symbol> syms;
    for (size_t i = 0; i < text.size();) {
        size_t n = symbol_len(text, i);
        int32_t idx = static_cast<int32_t>(syms.size());
        syms.push_back({idx - 1, idx + 1, i, n});
        i += n;
    }
    if (syms.empty()) return;
    syms.back().next = -1;

    std::priority_queue<Bigram, std::vector<Bigram>, BigramOrder> queue;
    auto try_add = [&](int32_t l, int32_t r) {
        if (l < 0 || r < 0) return;
        std::string_view pair(text.data() + syms[l].offset, syms[l].n + syms[r].n);
        int32_t id = vocab.find(pair);
        if (id < 0) return;
        queue.push({vocab.score[id], l, r, pair.size()});
    };
    for (int32_t i = 1; i < static_cast<int32_t>(syms.size()); ++i) try_add(i - 1, i);
    while (!queue.empty()) {
        Bigram b = queue.top();
        queue.pop();
        Symbol& l = syms[b.left];
        Symbol& r = syms[b.right];
        if (l.n == 0 || r.n == 0 || l.n + r.n != b.size) continue;
        l.n += r.n;
        r.n = 0;
        l.next = r.next;
        if (r.next >= 0) syms[r.next].prev = b.left;
        try_add(l.prev, b.left);
        try_add(b.left, l.next);
    }
    for (int32_t i = 0; i >= 0; i = syms[i].next) {
        std::string_view piece(text.data() + syms[i].offset, syms[i].n);
        int32_t id = vocab.find(piece);
        if (id >= 0) {
            out->push_back(id);
            continue;
        }
        // Merged symbols are always pieces, so only single characters get here.
        for (unsigned char c : piece) {
            if (byte_token_[c] >= 0) out->push_back(byte_token_[c]);
        }
    }
}

std::string SpmModel::decode_text(std::string_view token_text) {
    std::string out;
    out.reserve(token_text.size());
    for (size_t i = 0; i < token_text.size();) {
        if (token_text.substr(i, kSpaceMark.size()) == kSpaceMark) {
            out += ' ';
            i += kSpaceMark.size();
        } else {
            out += token_text[i++];
        }
    }
    return out;
}

}  // namespace hearth::text
