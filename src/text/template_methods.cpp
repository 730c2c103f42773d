// Tests ("is defined"), str/dict methods ("x.startswith()") and globals (range, namespace,
// raise_exception, strftime_now) of the chat-template engine, with Python's semantics.
// List/dict mutators are refused as in Jinja2's ImmutableSandboxedEnvironment.
#include <utf8proc.h>

#include <ctime>

#include "text/template_eval.h"

namespace hearth::text::tpl {

namespace {

int32_t decode(std::string_view cp) {
    utf8proc_int32_t c = 0;
    auto n = utf8proc_iterate(reinterpret_cast<const uint8_t*>(cp.data()),
                              utf8proc_ssize_t(cp.size()), &c);
    return n > 0 ? c : -1;
}

std::string encode(int32_t cp) {
    uint8_t buf[4];
    auto n = utf8proc_encode_char(cp, buf);
    return std::string(reinterpret_cast<char*>(buf), size_t(n));
}

// Python's str.isspace() for one code point.
bool py_space(int32_t c) {
    return (c >= 9 && c <= 13) || (c >= 28 && c <= 32) || c == 0x85 || c == 0xa0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f ||
           c == 0x205f || c == 0x3000;
}

std::string map_case(std::string_view s, bool upper) {
    std::string out;
    for (auto cp : split_code_points(s)) {
        int32_t c = decode(cp);
        if (c < 0) {
            out += cp;
        } else if (c < 0x80) {
            out += char(upper ? std::toupper(c) : std::tolower(c));
        } else {
            out += encode(upper ? utf8proc_toupper(c) : utf8proc_tolower(c));
        }
    }
    return out;
}

bool cased_letter(int32_t c) {
    if (c < 0) return false;
    auto cat = utf8proc_category(c);
    return cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LL ||
           cat == UTF8PROC_CATEGORY_LT;
}

// Python's str.title(): a letter after a cased letter is lowered, else raised.
std::string py_title(std::string_view s) {
    std::string out;
    bool prev_cased = false;
    for (auto cp : split_code_points(s)) {
        int32_t c = decode(cp);
        out += prev_cased ? py_lower(cp) : py_upper(cp);
        prev_cased = cased_letter(c);
    }
    return out;
}

List py_split(const std::string& s, const Value* sep, int64_t maxsplit) {
    List out;
    if (!sep || sep->is_none()) {  // runs of whitespace, no empty strings
        auto cps = split_code_points(s);
        size_t k = 0;
        while (k < cps.size()) {
            while (k < cps.size() && py_space(decode(cps[k]))) ++k;
            if (k >= cps.size()) break;
            std::string word;
            if (maxsplit >= 0 && int64_t(out.size()) == maxsplit) {
                for (; k < cps.size(); ++k) word += cps[k];
                std::string w = py_strip(word, nullptr, false, true);
                out.push_back(Value::string(w));
                break;
            }
            while (k < cps.size() && !py_space(decode(cps[k]))) word += cps[k++];
            out.push_back(Value::string(std::move(word)));
        }
        return out;
    }
    const std::string& d = str_arg(sep, "split separator");
    if (d.empty()) fail("empty separator");
    size_t pos = 0;
    while (maxsplit < 0 || int64_t(out.size()) < maxsplit) {
        size_t hit = s.find(d, pos);
        if (hit == std::string::npos) break;
        out.push_back(Value::string(s.substr(pos, hit - pos)));
        pos = hit + d.size();
    }
    out.push_back(Value::string(s.substr(pos)));
    return out;
}

std::string py_replace(const std::string& s, const std::string& from, const std::string& to,
                       int64_t count) {
    std::string out;
    if (from.empty()) {  // inserts `to` around every code point
        auto cps = split_code_points(s);
        int64_t n = 0;
        for (auto cp : cps) {
            if (count < 0 || n++ < count) out += to;
            out += cp;
            if (out.size() > kMaxStringBytes) fail("string result too large");
        }
        if (count < 0 || n < count) out += to;
        return out;
    }
    size_t pos = 0;
    int64_t n = 0;
    while (count < 0 || n < count) {
        size_t hit = s.find(from, pos);
        if (hit == std::string::npos) break;
        out.append(s, pos, hit - pos);
        out += to;
        if (out.size() > kMaxStringBytes) fail("string result too large");
        pos = hit + from.size();
        ++n;
    }
    out.append(s, pos, std::string::npos);
    return out;
}

bool affix_match(const std::string& s, const Value& affix, bool prefix) {
    auto one = [&](const Value& a) {
        const std::string& x = str_arg(&a, prefix ? "startswith arg" : "endswith arg");
        if (x.size() > s.size()) return false;
        return prefix ? s.compare(0, x.size(), x) == 0
                      : s.compare(s.size() - x.size(), x.size(), x) == 0;
    };
    if (affix.kind == Kind::Tuple) {
        for (const Value& a : *affix.list) {
            if (one(a)) return true;
        }
        return false;
    }
    return one(affix);
}

// str.format with "{}", "{0}" and "{name}" fields (no format specs).
std::string py_format(const std::string& fmt, const Args& args) {
    std::string out;
    size_t auto_index = 0;
    for (size_t k = 0; k < fmt.size(); ++k) {
        char c = fmt[k];
        if ((c == '{' || c == '}') && k + 1 < fmt.size() && fmt[k + 1] == c) {
            out += c;
            ++k;
            continue;
        }
        if (c != '{') {
            out += c;
            continue;
        }
        size_t end = fmt.find('}', k);
        if (end == std::string::npos) fail("Single '{' encountered in format string");
        std::string field = fmt.substr(k + 1, end - k - 1);
        const Value* v = nullptr;
        if (field.empty()) {
            v = auto_index < args.pos.size() ? &args.pos[auto_index++] : nullptr;
        } else if (std::isdigit(static_cast<unsigned char>(field[0]))) {
            size_t idx = size_t(std::atoi(field.c_str()));
            v = idx < args.pos.size() ? &args.pos[idx] : nullptr;
        } else {
            v = args.get(SIZE_MAX, field.c_str());
        }
        if (!v) fail("format: replacement field '" + field + "' has no argument");
        out += to_str(*v);
        k = end;
    }
    return out;
}

bool string_method(const Value& obj, const std::string& name, const Args& a, Value& out) {
    const std::string& s = obj.s;
    auto arg = [&](size_t k, const char* n) { return a.get(k, n); };
    auto int_arg = [&](size_t k, const char* n, int64_t dflt) {
        const Value* v = arg(k, n);
        if (!v || v->is_none()) return dflt;
        if (v->kind != Kind::Int) fail(std::string(n) + " must be an integer");
        return v->i;
    };
    if (name == "startswith" || name == "endswith") {
        const Value* x = arg(0, nullptr);
        if (!x) fail(name + "() takes at least 1 argument");
        out = Value::boolean(affix_match(s, *x, name == "startswith"));
    } else if (name == "strip" || name == "lstrip" || name == "rstrip") {
        out = Value::string(py_strip(s, arg(0, "chars"), name != "rstrip", name != "lstrip"));
    } else if (name == "split") {
        out = Value::make_list(py_split(s, arg(0, "sep"), int_arg(1, "maxsplit", -1)));
    } else if (name == "upper" || name == "lower") {
        out = Value::string(name == "upper" ? py_upper(s) : py_lower(s));
    } else if (name == "title" || name == "capitalize") {
        out = Value::string(name == "title" ? py_title(s) : py_capitalize(s));
    } else if (name == "replace") {
        if (!arg(0, nullptr) || !arg(1, nullptr)) fail("replace() takes at least 2 arguments");
        out =
            Value::string(py_replace(s, str_arg(arg(0, nullptr), "replace"),
                                     str_arg(arg(1, nullptr), "replace"), int_arg(2, "count", -1)));
    } else if (name == "format") {
        out = Value::string(py_format(s, a));
    } else if (name == "find" || name == "count") {
        const std::string& x = str_arg(arg(0, nullptr), name.c_str());
        if (name == "find") {
            size_t hit = s.find(x);
            out = Value::integer(
                hit == std::string::npos ? -1 : int64_t(code_point_count(s.substr(0, hit))));
        } else {
            int64_t n = 0;
            if (x.empty()) n = int64_t(code_point_count(s)) + 1;
            for (size_t p = 0; !x.empty() && (p = s.find(x, p)) != std::string::npos; p += x.size())
                ++n;
            out = Value::integer(n);
        }
    } else if (name == "isdigit" || name == "isspace" || name == "isalpha" || name == "isalnum") {
        bool ok = !s.empty();
        for (auto cp : split_code_points(s)) {
            int32_t c = decode(cp);
            if (name == "isspace")
                ok = ok && py_space(c);
            else if (name == "isdigit")
                ok = ok && c >= '0' && c <= '9';
            else if (name == "isalpha")
                ok = ok && c >= 0 && utf8proc_category(c) >= UTF8PROC_CATEGORY_LU &&
                     utf8proc_category(c) <= UTF8PROC_CATEGORY_LO;
            else
                ok = ok && c >= 0 && utf8proc_category(c) >= UTF8PROC_CATEGORY_LU &&
                     utf8proc_category(c) <= UTF8PROC_CATEGORY_NO;
        }
        out = Value::boolean(ok);
    } else {
        return false;
    }
    return true;
}

bool dict_method(const Value& obj, const std::string& name, const Args& a, Value& out) {
    const Dict& d = *obj.dict;
    if (name == "items") {
        List items;
        for (const auto& [k, v] : d.items)
            items.push_back(Value::make_list({Value::string(k), v}, Kind::Tuple));
        out = Value::make_list(std::move(items));
    } else if (name == "keys" || name == "values") {
        List items;
        for (const auto& [k, v] : d.items) items.push_back(name == "keys" ? Value::string(k) : v);
        out = Value::make_list(std::move(items));
    } else if (name == "get") {
        const Value* key = a.get(0, nullptr);
        if (!key) fail("get expected at least 1 argument");
        const Value* v = key->is_string() ? d.find(key->s) : nullptr;
        const Value* dflt = a.get(1, nullptr);
        out = v ? *v : dflt ? *dflt : Value::none();
    } else {
        return false;
    }
    return true;
}

bool is_mutator(const std::string& name) {
    static const char* const kNames[] = {"append",  "extend", "insert",  "pop",    "remove",
                                         "clear",   "sort",   "reverse", "update", "setdefault",
                                         "popitem", "add",    "discard"};
    for (const char* n : kNames) {
        if (name == n) return true;
    }
    return false;
}

}  // namespace

const std::string& str_arg(const Value* v, const char* what) {
    if (!v || !v->is_string()) fail(std::string(what) + ": expected a string argument");
    return v->s;
}

std::string py_strip(std::string_view s, const Value* chars, bool left, bool right) {
    auto cps = split_code_points(s);
    std::vector<std::string_view> set;
    bool whitespace = !chars || chars->is_none();
    if (!whitespace) set = split_code_points(str_arg(chars, "strip chars"));
    auto strip_this = [&](std::string_view cp) {
        if (whitespace) return py_space(decode(cp));
        for (auto c : set) {
            if (c == cp) return true;
        }
        return false;
    };
    size_t b = 0, e = cps.size();
    while (left && b < e && strip_this(cps[b])) ++b;
    while (right && e > b && strip_this(cps[e - 1])) --e;
    std::string out;
    for (size_t k = b; k < e; ++k) out += cps[k];
    return out;
}

std::string py_upper(std::string_view s) { return map_case(s, true); }
std::string py_lower(std::string_view s) { return map_case(s, false); }

std::string py_capitalize(std::string_view s) {
    auto cps = split_code_points(s);
    if (cps.empty()) return "";
    std::string out = py_upper(cps[0]);
    for (size_t k = 1; k < cps.size(); ++k) out += py_lower(cps[k]);
    return out;
}

bool call_method(Renderer& r, const Value& obj, const std::string& name, const Args& args,
                 Value& out) {
    if (obj.is_string()) return string_method(obj, name, args, out);
    if (obj.kind == Kind::Dict) {
        if (dict_method(obj, name, args, out)) return true;
    }
    if ((obj.is_sequence() || obj.kind == Kind::Dict) && is_mutator(name)) {
        fail("access to attribute '" + name + "' of '" + type_name(obj) + "' object is unsafe.");
    }
    return false;
}

bool is_global(const std::string& name) {
    return name == "range" || name == "namespace" || name == "dict" || name == "raise_exception" ||
           name == "strftime_now";
}

static Value range(const Args& a) {
    int64_t v[3] = {0, 0, 1};
    if (a.pos.empty() || a.pos.size() > 3) fail("range expected 1 to 3 arguments");
    for (size_t k = 0; k < a.pos.size(); ++k) {
        if (a.pos[k].kind != Kind::Int && a.pos[k].kind != Kind::Bool)
            fail("range() needs integers");
    }
    auto iv = [&](size_t k) {
        return a.pos[k].kind == Kind::Bool ? int64_t(a.pos[k].b) : a.pos[k].i;
    };
    if (a.pos.size() == 1)
        v[1] = iv(0);
    else
        v[0] = iv(0), v[1] = iv(1);
    if (a.pos.size() == 3) v[2] = iv(2);
    if (v[2] == 0) fail("range() arg 3 must not be zero");
    List out;
    for (int64_t i = v[0]; v[2] > 0 ? i < v[1] : i > v[1]; i += v[2]) {
        // Jinja2's sandbox refuses ranges over MAX_RANGE items.
        if (out.size() >= 100000)
            fail("Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
        out.push_back(Value::integer(i));
    }
    return Value::make_list(std::move(out));
}

Value call_global(Renderer& r, const std::string& name, const Args& a) {
    if (name == "raise_exception") {
        const Value* m = a.get(0, "message");
        fail(m ? to_str(*m) : "raise_exception called");
    }
    if (name == "range") return range(a);
    if (name == "namespace" || name == "dict") {
        Value ns = Value::make_dict(name == "dict" ? Kind::Dict : Kind::Namespace);
        for (const Value& p : a.pos) {
            if (!p.is_mapping()) fail(name + "() positional argument must be a mapping");
            for (const auto& [k, v] : p.dict->items) ns.dict->set(k, v);
        }
        for (const auto& [k, v] : a.kw) ns.dict->set(k, v);
        if (name == "namespace") r.track_namespace(ns);
        return ns;
    }
    if (name == "strftime_now") {
        const std::string& fmt = str_arg(a.get(0, "format"), "strftime_now");
        std::time_t now = std::time(nullptr);
        std::tm tm{};
        localtime_r(&now, &tm);
        char buf[512];
        size_t n = fmt.size() < 200 ? std::strftime(buf, sizeof(buf), fmt.c_str(), &tm) : 0;
        return Value::string(std::string(buf, n));
    }
    fail("'" + name + "' is not callable");
}

}  // namespace hearth::text::tpl
