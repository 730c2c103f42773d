// Lexer of the chat-template engine: Jinja2's whitespace handling (trim_blocks, lstrip_blocks,
// "-"/"+" markers, one trailing newline dropped) and the tokens inside {{ }} and {% %}.
// Follows jinja2/lexer.py 3.1; {% raw %} and line statements are not supported.
#include <cctype>
#include <cstdlib>

#include "text/template_ast.h"

namespace hearth::text::tpl {
namespace {

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::string normalize_newlines(std::string_view src) {
    std::string out;
    out.reserve(src.size());
    for (size_t k = 0; k < src.size(); ++k) {
        if (src[k] == '\r') {
            out += '\n';
            if (k + 1 < src.size() && src[k + 1] == '\n') ++k;
        } else {
            out += src[k];
        }
    }
    // keep_trailing_newline=False: Jinja2 drops one final newline.
    if (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
}

[[noreturn]] void syntax_error(int line, const std::string& what) {
    fail("line " + std::to_string(line) + ": " + what);
}

void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
        out += char(cp);
    } else if (cp < 0x800) {
        out += char(0xc0 | (cp >> 6));
        out += char(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        out += char(0xe0 | (cp >> 12));
        out += char(0x80 | ((cp >> 6) & 0x3f));
        out += char(0x80 | (cp & 0x3f));
    } else {
        out += char(0xf0 | (cp >> 18));
        out += char(0x80 | ((cp >> 12) & 0x3f));
        out += char(0x80 | ((cp >> 6) & 0x3f));
        out += char(0x80 | (cp & 0x3f));
    }
}

// \xNN, \uNNNN, \UNNNNNNNN and octal escapes; `k` indexes the escape letter. Returns the index
// of the escape's last character. Other escapes keep their backslash, as in Python.
size_t numeric_escape(std::string_view s, size_t k, std::string& out) {
    char e = s[k];
    size_t width = e == 'x' ? 2 : e == 'u' ? 4 : e == 'U' ? 8 : 0;
    if (width) {
        std::string hex(s.substr(k + 1, width));
        bool ok = hex.size() == width;
        for (char h : hex) ok = ok && std::isxdigit(static_cast<unsigned char>(h));
        if (!ok) fail("string literal: truncated \\" + std::string(1, e) + " escape");
        uint32_t cp = uint32_t(std::strtoul(hex.c_str(), nullptr, 16));
        if (cp > 0x10ffff) fail("string literal: escape out of range");
        append_utf8(out, cp);
        return k + width;
    }
    if (e >= '0' && e <= '7') {
        uint32_t cp = 0;
        size_t n = 0;
        while (n < 3 && k < s.size() && s[k] >= '0' && s[k] <= '7') {
            cp = cp * 8 + uint32_t(s[k++] - '0');
            ++n;
        }
        append_utf8(out, cp);
        return k - 1;
    }
    out += '\\';
    out += e;
    return k;
}

// Python's "unicode-escape" decoding of a string literal's body, as Jinja2 applies it.
// Unknown escapes keep their backslash, as Python does.
std::string decode_escapes(std::string_view s) {
    std::string out;
    for (size_t k = 0; k < s.size(); ++k) {
        if (s[k] != '\\' || k + 1 >= s.size()) {
            out += s[k];
            continue;
        }
        char e = s[++k];
        switch (e) {
            case 'n':
                out += '\n';
                continue;
            case 't':
                out += '\t';
                continue;
            case 'r':
                out += '\r';
                continue;
            case '\\':
                out += '\\';
                continue;
            case '\'':
                out += '\'';
                continue;
            case '"':
                out += '"';
                continue;
            case 'a':
                out += '\a';
                continue;
            case 'b':
                out += '\b';
                continue;
            case 'f':
                out += '\f';
                continue;
            case 'v':
                out += '\v';
                continue;
            case '\n':
                continue;
            default:
                break;
        }
        k = numeric_escape(s, k, out);
    }
    return out;
}

const char* const kOperators[] = {"//", "**", "==", "!=", "<=", ">=", "+", "-", "/",
                                  "*",  "%",  "~",  "[",  "]",  "(",  ")", "{", "}",
                                  "<",  ">",  "=",  ".",  ":",  "|",  ",", ";"};

struct TagLexer {
    const std::string& src;
    size_t pos;
    int line;

    bool at(std::string_view s) const { return src.compare(pos, s.size(), s) == 0; }

    // Lexes one number at pos: Jinja2's integer_re / float_re (with "_" separators).
    Token number() {
        size_t start = pos;
        auto digits = [&] {
            while (pos < src.size() && (std::isdigit(static_cast<unsigned char>(src[pos])) ||
                                        (src[pos] == '_' && pos + 1 < src.size() &&
                                         std::isdigit(static_cast<unsigned char>(src[pos + 1])))))
                ++pos;
        };
        digits();
        bool is_float = false;
        if (pos + 1 < src.size() && src[pos] == '.' &&
            std::isdigit(static_cast<unsigned char>(src[pos + 1]))) {
            ++pos;
            digits();
            is_float = true;
        }
        if (pos < src.size() && (src[pos] == 'e' || src[pos] == 'E')) {
            size_t save = pos++;
            if (pos < src.size() && (src[pos] == '+' || src[pos] == '-')) ++pos;
            if (pos < src.size() && std::isdigit(static_cast<unsigned char>(src[pos]))) {
                digits();
                is_float = true;
            } else {
                pos = save;
            }
        }
        std::string text;
        for (size_t k = start; k < pos; ++k)
            if (src[k] != '_') text += src[k];
        Token t{is_float ? TokType::Float : TokType::Int, text, {}, line};
        if (is_float) {
            t.number = Value::floating(std::strtod(text.c_str(), nullptr));
        } else {
            errno = 0;
            long long v = std::strtoll(text.c_str(), nullptr, 10);
            if (errno == ERANGE) syntax_error(line, "integer literal too large");
            t.number = Value::integer(v);
        }
        return t;
    }

    Token string_literal() {
        char q = src[pos];
        size_t start = ++pos;
        while (pos < src.size() && src[pos] != q) {
            if (src[pos] == '\\') ++pos;
            if (pos < src.size() && src[pos] == '\n') ++line;
            ++pos;
        }
        if (pos >= src.size()) syntax_error(line, "unterminated string");
        std::string body = src.substr(start, pos - start);
        ++pos;
        return Token{TokType::String, decode_escapes(body), {}, line};
    }

    // Tokens up to the closing "}}" or "%}" (honouring bracket balance, like Jinja2); returns
    // the end-marker sign ('-', '+' or 0) and leaves pos after the marker.
    char tokens_until(bool block, std::vector<Token>& out) {
        std::vector<char> balance;
        const char* close = block ? "%}" : "}}";
        while (true) {
            if (pos >= src.size()) syntax_error(line, block ? "missing '%}'" : "missing '}}'");
            if (balance.empty()) {
                if (at(close)) {
                    pos += 2;
                    return 0;
                }
                if (src[pos] == '-' && src.compare(pos + 1, 2, close) == 0) {
                    pos += 3;
                    return '-';
                }
                if (block && src[pos] == '+' && at("+%}")) {
                    pos += 3;
                    return '+';
                }
            }
            char c = src[pos];
            if (is_space(c)) {
                line += c == '\n';
                ++pos;
            } else if (std::isdigit(static_cast<unsigned char>(c))) {
                out.push_back(number());
            } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
                size_t start = pos;
                while (pos < src.size() &&
                       (std::isalnum(static_cast<unsigned char>(src[pos])) || src[pos] == '_'))
                    ++pos;
                out.push_back(Token{TokType::Name, src.substr(start, pos - start), {}, line});
            } else if (c == '\'' || c == '"') {
                out.push_back(string_literal());
            } else {
                operator_token(balance, out);
            }
        }
    }

    void operator_token(std::vector<char>& balance, std::vector<Token>& out) {
        for (const char* op : kOperators) {
            if (!at(op)) continue;
            std::string o(op);
            if (o == "(" || o == "[" || o == "{") {
                if (balance.size() > 256) syntax_error(line, "brackets nested too deeply");
                balance.push_back(o == "(" ? ')' : o == "[" ? ']' : '}');
            } else if (o == ")" || o == "]" || o == "}") {
                if (balance.empty() || balance.back() != o[0])
                    syntax_error(line, "unexpected '" + o + "'");
                balance.pop_back();
            }
            pos += o.size();
            out.push_back(Token{TokType::Op, o, {}, line});
            return;
        }
        syntax_error(line, std::string("unexpected char '") + src[pos] + "'");
    }
};

// Applies the rules for the text in front of a tag ("-" strips all whitespace; lstrip_blocks
// strips spaces from the line start up to a {% or {# tag).
void strip_before(std::string& text, char kind, char sign, bool line_starting) {
    if (sign == '-') {
        size_t end = text.size();
        while (end > 0 && is_space(text[end - 1])) --end;
        text.resize(end);
    } else if (sign != '+' && kind != '{') {
        size_t nl = text.rfind('\n');
        size_t l_pos = nl == std::string::npos ? 0 : nl + 1;
        if (l_pos == 0 && !line_starting) return;
        if (l_pos == text.size()) return;
        for (size_t k = l_pos; k < text.size(); ++k)
            if (!is_space(text[k])) return;
        text.resize(l_pos);
    }
}

// After a tag: "-" eats all whitespace; trim_blocks eats one newline after %} and #}.
size_t skip_after(const std::string& src, size_t pos, char kind, char sign) {
    if (sign == '-') {
        while (pos < src.size() && is_space(src[pos])) ++pos;
    } else if (sign != '+' && kind != '{' && pos < src.size() && src[pos] == '\n') {
        ++pos;
    }
    return pos;
}

int count_lines(const std::string& s, size_t from, size_t to) {
    int n = 0;
    for (size_t k = from; k < to; ++k) n += s[k] == '\n';
    return n;
}

}  // namespace

std::vector<Segment> lex(std::string_view source) {
    const std::string src = normalize_newlines(source);
    std::vector<Segment> out;
    size_t pos = 0;
    int line = 1;
    bool line_starting = true;
    while (pos < src.size()) {
        size_t p = pos;
        while ((p = src.find('{', p)) != std::string::npos) {
            if (p + 1 < src.size() && (src[p + 1] == '{' || src[p + 1] == '%' || src[p + 1] == '#'))
                break;
            ++p;
        }
        if (p == std::string::npos) {
            out.push_back(Segment{SegType::Text, src.substr(pos), {}, line});
            break;
        }
        std::string text = src.substr(pos, p - pos);
        char kind = src[p + 1];
        char sign = p + 2 < src.size() && (src[p + 2] == '-' || src[p + 2] == '+') ? src[p + 2] : 0;
        if (kind == '{' && sign == '+') sign = 0;  // "{{+" is "{{" followed by unary plus
        int text_line = line;
        line += count_lines(src, pos, p);
        strip_before(text, kind, sign, line_starting);
        if (!text.empty()) out.push_back(Segment{SegType::Text, std::move(text), {}, text_line});
        size_t q = p + 2 + (sign ? 1 : 0);
        char end_sign = 0;
        if (kind == '#') {
            size_t e = src.find("#}", q);
            if (e == std::string::npos) syntax_error(line, "missing end of comment tag");
            if (e > q && (src[e - 1] == '-' || src[e - 1] == '+')) end_sign = src[e - 1];
            line += count_lines(src, q, e);
            pos = e + 2;
        } else {
            TagLexer tl{src, q, line};
            Segment seg{kind == '%' ? SegType::Block : SegType::Var, {}, {}, line};
            end_sign = tl.tokens_until(kind == '%', seg.tokens);
            line = tl.line;
            pos = tl.pos;
            out.push_back(std::move(seg));
        }
        size_t after = skip_after(src, pos, kind, end_sign);
        line += count_lines(src, pos, after);
        line_starting = after > 0 && src[after - 1] == '\n';
        pos = after;
    }
    return out;
}

}  // namespace hearth::text::tpl
