// Special-token splitting: one left-to-right scan with candidates indexed by first byte.
#include "text/vocab.h"

#include <algorithm>
#include <cstring>

namespace hearth::text {

void SpecialMatcher::build(const Vocab& vocab) {
    for (auto& v : by_first_byte_) v.clear();
    for (int32_t id = 0; id < vocab.size(); ++id) {
        TokenType t = vocab.type[id];
        if (t != TokenType::Control && t != TokenType::UserDefined && t != TokenType::Unknown)
            continue;
        const std::string& s = vocab.text[id];
        if (s.empty()) continue;
        by_first_byte_[static_cast<unsigned char>(s[0])].push_back(id);
    }
    for (auto& v : by_first_byte_) {
        // Longest first; equal lengths by id so the order is deterministic.
        std::stable_sort(v.begin(), v.end(), [&](int32_t a, int32_t b) {
            return vocab.text[a].size() > vocab.text[b].size();
        });
    }
}

void SpecialMatcher::split(const Vocab& vocab, std::string_view text, bool parse_special,
                           std::vector<Fragment>* out) const {
    size_t raw_start = 0;
    size_t i = 0;
    while (i < text.size()) {
        int32_t hit = -1;
        for (int32_t id : by_first_byte_[static_cast<unsigned char>(text[i])]) {
            if (!parse_special && vocab.type[id] != TokenType::UserDefined) continue;
            const std::string& s = vocab.text[id];
            if (s.size() <= text.size() - i &&
                std::memcmp(s.data(), text.data() + i, s.size()) == 0) {
                hit = id;
                break;
            }
        }
        if (hit < 0) {
            ++i;
            continue;
        }
        if (i > raw_start) out->push_back({-1, text.substr(raw_start, i - raw_start)});
        out->push_back({hit, {}});
        i += vocab.text[hit].size();
        raw_start = i;
    }
    if (raw_start < text.size()) out->push_back({-1, text.substr(raw_start)});
}

}  // namespace hearth::text
