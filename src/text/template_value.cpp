// Template values: construction from JSON, Python truthiness/equality/ordering, and Python's
// str()/repr()/json.dumps() spellings (byte-exact, since prompts are compared with Python's).
#include "text/template_value.h"

#include <utf8proc.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace hearth::text::tpl {

void fail(const std::string& message) { throw TemplateError(message); }

Value Value::string(std::string x, bool safe) {
    if (x.size() > kMaxStringBytes) fail("string result too large");
    Value v = with_kind(Kind::String);
    v.s = std::move(x);
    v.b = safe;
    return v;
}

Value Value::make_list(List items, Kind kind) {
    if (items.size() > kMaxListItems) fail("list result too large");
    Value v = with_kind(kind);
    v.list = std::make_shared<List>(std::move(items));
    return v;
}

Value Value::make_dict(Kind kind) {
    Value v = with_kind(kind);
    v.dict = std::make_shared<Dict>();
    return v;
}

const Value* Dict::find(std::string_view key) const {
    for (const auto& [k, v] : items) {
        if (k == key) return &v;
    }
    return nullptr;
}

void Dict::set(const std::string& key, Value value) {
    for (auto& [k, v] : items) {
        if (k == key) {
            v = std::move(value);
            return;
        }
    }
    items.emplace_back(key, std::move(value));
}

Value from_json(const nlohmann::ordered_json& j) {
    using J = nlohmann::ordered_json::value_t;
    switch (j.type()) {
        case J::null:
            return Value::none();
        case J::boolean:
            return Value::boolean(j.get<bool>());
        case J::number_integer:
            return Value::integer(j.get<int64_t>());
        case J::number_unsigned: {
            uint64_t u = j.get<uint64_t>();
            if (u > static_cast<uint64_t>(INT64_MAX)) return Value::floating(double(u));
            return Value::integer(static_cast<int64_t>(u));
        }
        case J::number_float:
            return Value::floating(j.get<double>());
        case J::string:
            return Value::string(j.get<std::string>());
        case J::array: {
            List items;
            items.reserve(j.size());
            for (const auto& e : j) items.push_back(from_json(e));
            return Value::make_list(std::move(items));
        }
        case J::object: {
            Value d = Value::make_dict();
            for (const auto& [k, e] : j.items()) d.dict->set(k, from_json(e));
            return d;
        }
        default:
            return Value::none();
    }
}

bool truthy(const Value& v) {
    switch (v.kind) {
        case Kind::Undefined:
        case Kind::None:
            return false;
        case Kind::Bool:
            return v.b;
        case Kind::Int:
            return v.i != 0;
        case Kind::Float:
            return v.f != 0;
        case Kind::String:
            return !v.s.empty();
        case Kind::List:
        case Kind::Tuple:
            return !v.list->empty();
        case Kind::Dict:
            return !v.dict->items.empty();
        default:
            return true;
    }
}

static double as_double(const Value& v) {
    if (v.kind == Kind::Float) return v.f;
    if (v.kind == Kind::Bool) return v.b ? 1 : 0;
    return double(v.i);
}

bool equal(const Value& a, const Value& b) {
    if (a.is_number() && b.is_number()) {
        if (a.kind != Kind::Float && b.kind != Kind::Float) {
            return (a.kind == Kind::Bool ? a.b : a.i) == (b.kind == Kind::Bool ? b.b : b.i);
        }
        return as_double(a) == as_double(b);
    }
    if (a.is_sequence() && b.is_sequence()) {
        if (a.list->size() != b.list->size()) return false;
        for (size_t k = 0; k < a.list->size(); ++k) {
            if (!equal((*a.list)[k], (*b.list)[k])) return false;
        }
        return true;
    }
    if (a.kind != b.kind) return false;
    switch (a.kind) {
        case Kind::Undefined:
        case Kind::None:
            return true;
        case Kind::String:
        case Kind::Builtin:
            return a.s == b.s;
        case Kind::Dict: {
            if (a.dict->items.size() != b.dict->items.size()) return false;
            for (const auto& [k, v] : a.dict->items) {
                const Value* o = b.dict->find(k);
                if (!o || !equal(v, *o)) return false;
            }
            return true;
        }
        case Kind::Namespace:
            return a.dict == b.dict;
        case Kind::Macro:
            return a.macro == b.macro;
        default:
            return false;
    }
}

bool less(const Value& a, const Value& b) {
    if (a.is_number() && b.is_number()) return as_double(a) < as_double(b);
    if (a.is_string() && b.is_string()) return a.s < b.s;
    if (a.is_sequence() && b.is_sequence()) {
        const List& x = *a.list;
        const List& y = *b.list;
        for (size_t k = 0; k < x.size() && k < y.size(); ++k) {
            if (!equal(x[k], y[k])) return less(x[k], y[k]);
        }
        return x.size() < y.size();
    }
    fail("'<' not supported between instances of '" + type_name(a) + "' and '" + type_name(b) +
         "'");
}

std::string type_name(const Value& v) {
    switch (v.kind) {
        case Kind::Undefined:
            return "Undefined";
        case Kind::None:
            return "NoneType";
        case Kind::Bool:
            return "bool";
        case Kind::Int:
            return "int";
        case Kind::Float:
            return "float";
        case Kind::String:
            return "str";
        case Kind::List:
            return "list";
        case Kind::Tuple:
            return "tuple";
        case Kind::Dict:
            return "dict";
        case Kind::Namespace:
            return "Namespace";
        case Kind::Macro:
            return "Macro";
        case Kind::Builtin:
            return "function";
    }
    return "object";
}

std::string repr_float(double x) {
    if (std::isnan(x)) return "nan";
    if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof(buf), x, std::chars_format::scientific);
    std::string sci(buf, r.ptr);  // "-d.ddde+XX", shortest round-trip digits
    bool neg = sci[0] == '-';
    if (neg) sci.erase(0, 1);
    size_t e = sci.find('e');
    int exp = std::atoi(sci.c_str() + e + 1);
    std::string digits = sci.substr(0, e);
    digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
    std::string out = neg ? "-" : "";
    if (exp < -4 || exp >= 16) {
        out += digits.substr(0, 1);
        if (digits.size() > 1) out += "." + digits.substr(1);
        char eb[16];
        std::snprintf(eb, sizeof(eb), "e%c%02d", exp < 0 ? '-' : '+', std::abs(exp));
        return out + eb;
    }
    if (exp < 0) return out + "0." + std::string(size_t(-exp - 1), '0') + digits;
    if (digits.size() <= size_t(exp) + 1) {
        return out + digits + std::string(size_t(exp) + 1 - digits.size(), '0') + ".0";
    }
    return out + digits.substr(0, size_t(exp) + 1) + "." + digits.substr(size_t(exp) + 1);
}

// Python's str.isprintable() for one code point: everything but C* and Z* (except space).
static bool printable(int32_t cp) {
    if (cp == ' ') return true;
    switch (utf8proc_category(cp)) {
        case UTF8PROC_CATEGORY_CC:
        case UTF8PROC_CATEGORY_CF:
        case UTF8PROC_CATEGORY_CS:
        case UTF8PROC_CATEGORY_CO:
        case UTF8PROC_CATEGORY_CN:
        case UTF8PROC_CATEGORY_ZS:
        case UTF8PROC_CATEGORY_ZL:
        case UTF8PROC_CATEGORY_ZP:
            return false;
        default:
            return true;
    }
}

static std::string strfmt_byte(uint8_t b) {
    char buf[8];
    std::snprintf(buf, sizeof(buf), "\\x%02x", b);
    return buf;
}

static std::string repr_string(std::string_view s) {
    char quote = '\'';
    if (s.find('\'') != std::string_view::npos && s.find('"') == std::string_view::npos) {
        quote = '"';
    }
    std::string out(1, quote);
    size_t pos = 0;
    while (pos < s.size()) {
        utf8proc_int32_t cp = 0;
        auto n = utf8proc_iterate(reinterpret_cast<const uint8_t*>(s.data()) + pos,
                                  utf8proc_ssize_t(s.size() - pos), &cp);
        if (n <= 0) {  // invalid UTF-8: Python would hold surrogate escapes; show the byte
            out += strfmt_byte(static_cast<uint8_t>(s[pos]));
            pos += 1;
            continue;
        }
        std::string_view ch = s.substr(pos, size_t(n));
        pos += size_t(n);
        if (cp == '\\' || cp == quote) {
            out += '\\';
            out += ch;
        } else if (cp == '\n') {
            out += "\\n";
        } else if (cp == '\r') {
            out += "\\r";
        } else if (cp == '\t') {
            out += "\\t";
        } else if (!printable(cp)) {
            char buf[16];
            if (cp < 0x100)
                std::snprintf(buf, sizeof(buf), "\\x%02x", unsigned(cp));
            else if (cp < 0x10000)
                std::snprintf(buf, sizeof(buf), "\\u%04x", unsigned(cp));
            else
                std::snprintf(buf, sizeof(buf), "\\U%08x", unsigned(cp));
            out += buf;
        } else {
            out += ch;
        }
    }
    return out + quote;
}

// Printing and tojson recurse into lists and dicts, and a value can hold itself (a namespace
// assigned to its own attribute): past this depth that is an error, not a stack overflow.
constexpr int kMaxValueNesting = 256;

namespace {
struct PrintDepth {
    static inline thread_local int depth = 0;
    PrintDepth() {
        if (++depth > kMaxValueNesting) {
            --depth;
            fail("value nests too deeply to print");
        }
    }
    ~PrintDepth() { --depth; }
    PrintDepth(const PrintDepth&) = delete;
    PrintDepth& operator=(const PrintDepth&) = delete;
};
}  // namespace

static std::string join_repr(const List& items) {
    const PrintDepth guard;
    std::string out;
    for (size_t k = 0; k < items.size(); ++k) {
        if (k) out += ", ";
        out += repr(items[k]);
    }
    return out;
}

static std::string repr_dict(const Dict& d) {
    const PrintDepth guard;
    std::string out = "{";
    bool first = true;
    for (const auto& [k, v] : d.items) {
        if (!first) out += ", ";
        first = false;
        out += repr_string(k) + ": " + repr(v);
    }
    return out + "}";
}

std::string repr(const Value& v) {
    switch (v.kind) {
        case Kind::String:
            return repr_string(v.s);
        case Kind::Undefined:
            return "Undefined";
        case Kind::List:
            return "[" + join_repr(*v.list) + "]";
        case Kind::Tuple:
            return "(" + join_repr(*v.list) + (v.list->size() == 1 ? ",)" : ")");
        default:
            return to_str(v);
    }
}

std::string to_str(const Value& v) {
    switch (v.kind) {
        case Kind::Undefined:
            return "";
        case Kind::None:
            return "None";
        case Kind::Bool:
            return v.b ? "True" : "False";
        case Kind::Int:
            return std::to_string(v.i);
        case Kind::Float:
            return repr_float(v.f);
        case Kind::String:
            return v.s;
        case Kind::List:
        case Kind::Tuple:
            return repr(v);
        case Kind::Dict:
            return repr_dict(*v.dict);
        case Kind::Namespace:
            return "<Namespace " + repr_dict(*v.dict) + ">";
        case Kind::Macro:
            return "<Macro>";
        case Kind::Builtin:
            return "<built-in function " + v.s + ">";
    }
    return "";
}

static void json_string(std::string_view s, bool ensure_ascii, std::string& out) {
    out += '"';
    size_t pos = 0;
    while (pos < s.size()) {
        unsigned char c = static_cast<unsigned char>(s[pos]);
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\b':
                out += "\\b";
                break;
            case '\f':
                out += "\\f";
                break;
            default:
                if (c < 0x20 || (ensure_ascii && c >= 0x80)) {
                    utf8proc_int32_t cp = c;
                    auto n = c < 0x80 ? 1
                                      : utf8proc_iterate(
                                            reinterpret_cast<const uint8_t*>(s.data()) + pos,
                                            utf8proc_ssize_t(s.size() - pos), &cp);
                    if (n <= 0) n = 1;
                    char buf[16];
                    if (cp >= 0x10000) {
                        unsigned u = unsigned(cp) - 0x10000;
                        std::snprintf(buf, sizeof(buf), "\\u%04x\\u%04x", 0xd800 + (u >> 10),
                                      0xdc00 + (u & 0x3ff));
                    } else {
                        std::snprintf(buf, sizeof(buf), "\\u%04x", unsigned(cp));
                    }
                    out += buf;
                    pos += size_t(n);
                    continue;
                }
                out += char(c);
        }
        pos += 1;
    }
    out += '"';
}

static void json_value(const Value& v, const JsonOptions& o, int depth, std::string& out);

static void json_newline(const JsonOptions& o, int depth, std::string& out) {
    if (!o.pretty) return;
    out += '\n';
    for (int k = 0; k < depth; ++k) out += o.indent;
}

static void json_items(const Value& v, const JsonOptions& o, int depth, std::string& out) {
    bool is_dict = v.kind == Kind::Dict || v.kind == Kind::Namespace;
    size_t n = is_dict ? v.dict->items.size() : v.list->size();
    out += is_dict ? '{' : '[';
    if (n == 0) {
        out += is_dict ? '}' : ']';
        return;
    }
    std::vector<size_t> order(n);
    for (size_t k = 0; k < n; ++k) order[k] = k;
    if (is_dict && o.sort_keys) {
        std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
            return v.dict->items[a].first < v.dict->items[b].first;
        });
    }
    for (size_t k = 0; k < n; ++k) {
        if (k) out += o.item_sep;
        json_newline(o, depth + 1, out);
        if (is_dict) {
            const auto& [key, item] = v.dict->items[order[k]];
            json_string(key, o.ensure_ascii, out);
            out += o.key_sep;
            json_value(item, o, depth + 1, out);
        } else {
            json_value((*v.list)[k], o, depth + 1, out);
        }
        if (out.size() > kMaxStringBytes) fail("tojson result too large");
    }
    json_newline(o, depth, out);
    out += is_dict ? '}' : ']';
}

static void json_value(const Value& v, const JsonOptions& o, int depth, std::string& out) {
    if (depth > kMaxValueNesting) fail("tojson: nesting too deep");
    switch (v.kind) {
        case Kind::None:
            out += "null";
            return;
        case Kind::Bool:
            out += v.b ? "true" : "false";
            return;
        case Kind::Int:
            out += std::to_string(v.i);
            return;
        case Kind::Float:
            if (std::isnan(v.f))
                out += "NaN";
            else if (std::isinf(v.f))
                out += v.f > 0 ? "Infinity" : "-Infinity";
            else
                out += repr_float(v.f);
            return;
        case Kind::String:
            json_string(v.s, o.ensure_ascii, out);
            return;
        case Kind::List:
        case Kind::Tuple:
        case Kind::Dict:
            json_items(v, o, depth, out);
            return;
        default:
            fail("Object of type " + type_name(v) + " is not JSON serializable");
    }
}

std::string repr_str(std::string_view s) { return repr_string(s); }

std::string to_json(const Value& v, const JsonOptions& options) {
    std::string out;
    json_value(v, options, 0, out);
    return out;
}

std::vector<std::string_view> split_code_points(std::string_view s) {
    std::vector<std::string_view> out;
    size_t pos = 0;
    while (pos < s.size()) {
        unsigned char c = static_cast<unsigned char>(s[pos]);
        size_t n = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
        n = std::min(n, s.size() - pos);
        for (size_t k = 1; k < n; ++k) {  // stop at a byte that is no continuation byte
            if ((static_cast<unsigned char>(s[pos + k]) & 0xc0) != 0x80) {
                n = k;
                break;
            }
        }
        out.push_back(s.substr(pos, n));
        pos += n;
    }
    return out;
}

size_t code_point_count(std::string_view s) {
    size_t n = 0;
    for (char c : s) n += (static_cast<unsigned char>(c) & 0xc0) != 0x80;
    return n;
}

}  // namespace hearth::text::tpl
