// UTF-8 validation and run-wise NFC (utf8proc) for the tokenizers.
#include "text/unicode.h"

#include <utf8proc.h>

#include <cstdlib>

namespace hearth::text {

int utf8_char_len(std::string_view s, size_t i) {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data()) + i;
    const size_t n = s.size() - i;
    const unsigned c = p[0];
    if (c < 0x80) return 1;
    auto cont = [&](size_t k) { return k < n && (p[k] & 0xC0) == 0x80; };
    if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (!cont(1) || !cont(2)) return 0;
        if (c == 0xE0 && p[1] < 0xA0) return 0;   // overlong
        if (c == 0xED && p[1] >= 0xA0) return 0;  // UTF-16 surrogate
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (!cont(1) || !cont(2) || !cont(3)) return 0;
        if (c == 0xF0 && p[1] < 0x90) return 0;   // overlong
        if (c == 0xF4 && p[1] >= 0x90) return 0;  // past U+10FFFF
        return 4;
    }
    return 0;
}

uint32_t utf8_decode(std::string_view s, size_t i, int len) {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data()) + i;
    switch (len) {
        case 1:
            return p[0];
        case 2:
            return ((p[0] & 0x1Fu) << 6) | (p[1] & 0x3Fu);
        case 3:
            return ((p[0] & 0x0Fu) << 12) | ((p[1] & 0x3Fu) << 6) | (p[2] & 0x3Fu);
        default:
            return ((p[0] & 0x07u) << 18) | ((p[1] & 0x3Fu) << 12) | ((p[2] & 0x3Fu) << 6) |
                   (p[3] & 0x3Fu);
    }
}

void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

namespace {

void append_nfc_run(std::string& out, std::string_view run) {
    utf8proc_uint8_t* mapped = nullptr;
    // An explicit length (no UTF8PROC_NULLTERM) keeps NUL bytes as ordinary characters.
    utf8proc_ssize_t n =
        utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(run.data()),
                     static_cast<utf8proc_ssize_t>(run.size()), &mapped,
                     static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
    if (n < 0) {
        // Cannot happen for validated input; keeping the bytes is the safe answer anyway.
        out.append(run);
    } else {
        out.append(reinterpret_cast<const char*>(mapped), static_cast<size_t>(n));
    }
    std::free(mapped);
}

}  // namespace

std::string nfc(std::string_view s) {
    size_t i = 0;
    while (i < s.size() && static_cast<unsigned char>(s[i]) < 0x80) ++i;
    if (i == s.size()) return std::string(s);
    // The last ASCII character may compose with the marks that follow, so it joins the run.
    if (i > 0) --i;
    std::string out(s.substr(0, i));
    size_t run_start = i;
    while (i < s.size()) {
        int len = utf8_char_len(s, i);
        if (len > 0) {
            i += static_cast<size_t>(len);
            continue;
        }
        if (i > run_start) append_nfc_run(out, s.substr(run_start, i - run_start));
        out += s[i++];
        run_start = i;
    }
    if (i > run_start) append_nfc_run(out, s.substr(run_start, i - run_start));
    return out;
}

}  // namespace hearth::text
