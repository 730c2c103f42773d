// Filters ("x|tojson") and tests ("x is mapping") of the chat-template engine, with
// Jinja2 3.1's semantics (jinja2/filters.py, jinja2/tests.py) and transformers' tojson.
// Generators (map, select, unique, reverse) produce lists; nobody prints a generator.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <optional>

#include "text/template_eval.h"

namespace hearth::text::tpl {

namespace {

bool flag(const Value* v, bool dflt) { return v ? truthy(*v) : dflt; }

// "a.b.0" attribute paths, as Jinja2's make_attrgetter resolves them.
Value attr_path(Renderer& r, const Value& item, const std::string& path) {
    Value v = item;
    size_t pos = 0;
    while (pos <= path.size()) {
        size_t dot = path.find('.', pos);
        std::string part =
            path.substr(pos, dot == std::string::npos ? std::string::npos : dot - pos);
        bool digits = !part.empty() && std::all_of(part.begin(), part.end(), ::isdigit);
        if (v.is_undefined()) return v;
        v = digits ? r.get_item(v, Value::integer(std::atoll(part.c_str())))
                   : r.get_item(v, Value::string(part));
        if (dot == std::string::npos) break;
        pos = dot + 1;
    }
    return v;
}

Args tail_args(const Args& a, size_t from) {
    Args out;
    for (size_t k = from; k < a.pos.size(); ++k) out.pos.push_back(a.pos[k]);
    out.kw = a.kw;
    return out;
}

Value sort_key(const Value& v, bool case_sensitive) {
    if (!case_sensitive && v.is_string()) return Value::string(py_lower(v.s));
    return v;
}

Value do_sort(Renderer& r, const Value& v, const Args& a) {
    List items = r.iterate(v);
    bool reverse = flag(a.get(0, "reverse"), false);
    bool cs = flag(a.get(1, "case_sensitive"), false);
    const Value* attr = a.get(2, "attribute");
    std::vector<std::pair<Value, Value>> keyed;
    for (const Value& x : items) {
        Value k = attr && attr->is_string() ? attr_path(r, x, attr->s) : x;
        keyed.emplace_back(sort_key(k, cs), x);
    }
    std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& p, const auto& q) {
        return reverse ? less(q.first, p.first) : less(p.first, q.first);
    });
    List out;
    for (auto& [k, x] : keyed) out.push_back(std::move(x));
    return Value::make_list(std::move(out));
}

Value do_unique(Renderer& r, const Value& v, const Args& a) {
    bool cs = flag(a.get(0, "case_sensitive"), false);
    const Value* attr = a.get(1, "attribute");
    List out, seen;
    for (const Value& x : r.iterate(v)) {
        Value k = sort_key(attr && attr->is_string() ? attr_path(r, x, attr->s) : x, cs);
        bool dup = false;
        for (const Value& s : seen) dup = dup || equal(s, k);
        if (!dup) {
            seen.push_back(k);
            out.push_back(x);
        }
    }
    return Value::make_list(std::move(out));
}

Value do_map(Renderer& r, const Value& v, const Args& a) {
    List out;
    const Value* attr = nullptr;
    const Value* dflt = nullptr;
    for (const auto& [k, x] : a.kw) {
        if (k == "attribute") attr = &x;
        if (k == "default") dflt = &x;
    }
    for (const Value& x : r.iterate(v)) {
        if (attr) {
            Value y = attr_path(r, x, str_arg(attr, "map attribute"));
            out.push_back(y.is_undefined() && dflt ? *dflt : y);
        } else {
            const std::string& f = str_arg(a.get(0, nullptr), "map filter name");
            out.push_back(apply_filter(r, f, x, tail_args(a, 1)));
        }
    }
    return Value::make_list(std::move(out));
}

// select/reject/selectattr/rejectattr.
Value do_select(Renderer& r, const Value& v, const Args& a, bool attr, bool keep) {
    List out;
    size_t first = attr ? 1 : 0;
    const std::string* test = a.pos.size() > first ? &str_arg(&a.pos[first], "test name") : nullptr;
    Args targs = tail_args(a, first + 1);
    for (const Value& x : r.iterate(v)) {
        Value subject = attr ? attr_path(r, x, str_arg(a.get(0, nullptr), "attribute")) : x;
        bool ok = test ? apply_test(r, *test, subject, targs) : truthy(subject);
        if (ok == keep) out.push_back(x);
    }
    return Value::make_list(std::move(out));
}

Value do_tojson(const Value& v, const Args& a) {
    // transformers: tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)
    JsonOptions o;
    o.ensure_ascii = flag(a.get(0, "ensure_ascii"), false);
    const Value* indent = a.get(1, "indent");
    if (indent && !indent->is_none()) {
        o.pretty = true;
        o.item_sep = ",";
        if (indent->is_string())
            o.indent = indent->s;
        else if (indent->kind == Kind::Int)
            o.indent = std::string(size_t(std::clamp<int64_t>(indent->i, 0, 64)), ' ');
        else
            fail("tojson: indent must be an integer or a string");
    }
    const Value* seps = a.get(2, "separators");
    if (seps && !seps->is_none()) {
        if (!seps->is_sequence() || seps->list->size() != 2)
            fail("tojson: separators must be a pair");
        o.item_sep = str_arg(&(*seps->list)[0], "separators");
        o.key_sep = str_arg(&(*seps->list)[1], "separators");
    }
    o.sort_keys = flag(a.get(3, "sort_keys"), false);
    return Value::string(to_json(v, o));
}

Value do_round(const Value& v, const Args& a) {
    if (!v.is_number()) fail("round: expected a number");
    const Value* p = a.get(0, "precision");
    int64_t precision = p && p->kind == Kind::Int ? p->i : 0;
    std::string method =
        a.get(1, "method") ? str_arg(a.get(1, "method"), "round method") : "common";
    double x = v.kind == Kind::Float ? v.f : double(v.kind == Kind::Bool ? v.b : v.i);
    if (method == "common") {
        if (v.kind != Kind::Float) return Value::integer(int64_t(x));
        // Python's round(): correctly rounded decimal, half to even (as printf does).
        char buf[512];
        std::snprintf(buf, sizeof(buf), "%.*f", int(std::clamp<int64_t>(precision, 0, 300)), x);
        return Value::floating(precision >= 0 ? std::strtod(buf, nullptr) : x);
    }
    double scale = std::pow(10.0, double(precision));
    if (method == "floor") return Value::floating(std::floor(x * scale) / scale);
    if (method == "ceil") return Value::floating(std::ceil(x * scale) / scale);
    fail("method must be common, ceil or floor");
}

Value do_int(const Value& v, const Args& a) {
    const Value* d = a.get(0, "default");
    Value dflt = d ? *d : Value::integer(0);
    if (v.kind == Kind::Int) return v;
    if (v.kind == Kind::Bool) return Value::integer(v.b);
    if (v.kind == Kind::Float) {
        if (!std::isfinite(v.f) || std::fabs(v.f) >= 9.2e18) return dflt;
        return Value::integer(int64_t(v.f));
    }
    if (v.is_string()) {
        std::string s = py_strip(v.s, nullptr, true, true);
        char* end = nullptr;
        errno = 0;
        long long i = std::strtoll(s.c_str(), &end, 10);
        if (!s.empty() && *end == 0 && errno == 0) return Value::integer(i);
        double f = std::strtod(s.c_str(), &end);
        if (!s.empty() && *end == 0 && std::isfinite(f) && std::fabs(f) < 9.2e18) {
            return Value::integer(int64_t(f));
        }
    }
    return dflt;
}

Value do_float(const Value& v, const Args& a) {
    const Value* d = a.get(0, "default");
    if (v.kind == Kind::Float) return v;
    if (v.kind == Kind::Int || v.kind == Kind::Bool)
        return Value::floating(v.kind == Kind::Bool ? v.b : double(v.i));
    if (v.is_string()) {
        std::string s = py_strip(v.s, nullptr, true, true);
        char* end = nullptr;
        double f = std::strtod(s.c_str(), &end);
        if (!s.empty() && *end == 0) return Value::floating(f);
    }
    return d ? *d : Value::floating(0.0);
}

Value first_or_last(Renderer& r, const Value& v, bool first) {
    List items = r.iterate(v);
    if (items.empty())
        return Value::undefined(first ? "No first item, sequence was empty."
                                      : "No last item, sequence was empty.");
    return first ? items.front() : items.back();
}

Value do_length(const Value& v) {
    switch (v.kind) {
        case Kind::Undefined:
            return Value::integer(0);
        case Kind::String:
            return Value::integer(int64_t(code_point_count(v.s)));
        case Kind::List:
        case Kind::Tuple:
            return Value::integer(int64_t(v.list->size()));
        case Kind::Dict:
            return Value::integer(int64_t(v.dict->items.size()));
        default:
            fail("object of type '" + type_name(v) + "' has no len()");
    }
}

Value do_items(const Value& v) {
    if (v.is_undefined()) return Value::make_list({});
    if (!v.is_mapping()) fail("Can only get item pairs from a mapping.");
    List out;
    for (const auto& [k, x] : v.dict->items)
        out.push_back(Value::make_list({Value::string(k), x}, Kind::Tuple));
    return Value::make_list(std::move(out));
}

Value do_join(Renderer& r, const Value& v, const Args& a) {
    const Value* sep = a.get(0, "d");
    const Value* attr = a.get(1, "attribute");
    std::string out;
    bool first = true;
    for (const Value& x : r.iterate(v)) {
        if (!first) out += sep ? to_str(*sep) : "";
        first = false;
        out += to_str(attr && attr->is_string() ? attr_path(r, x, attr->s) : x);
        if (out.size() > kMaxStringBytes) fail("join result too large");
    }
    return Value::string(std::move(out));
}

Value do_title(const std::string& s) {
    // Jinja2's do_title: split on runs of [-\s({[<], then capitalize each piece.
    std::string out, piece;
    auto is_sep = [](char c) {
        return c == '-' || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
               c == '\v' || c == '(' || c == '{' || c == '[' || c == '<';
    };
    size_t k = 0;
    while (k < s.size()) {
        size_t e = k;
        bool sep = is_sep(s[k]);
        while (e < s.size() && is_sep(s[e]) == sep) ++e;
        std::string part = s.substr(k, e - k);
        auto cps = split_code_points(part);
        out += py_upper(cps[0]);
        for (size_t j = 1; j < cps.size(); ++j) out += py_lower(cps[j]);
        k = e;
    }
    return Value::string(out);
}

Value do_indent(const Value& v, const Args& a) {
    const Value* w = a.get(0, "width");
    std::string pad =
        w && w->is_string()
            ? w->s
            : std::string(size_t(w && w->kind == Kind::Int ? std::clamp<int64_t>(w->i, 0, 256) : 4),
                          ' ');
    bool first = flag(a.get(1, "first"), false);
    bool blank = flag(a.get(2, "blank"), false);
    std::string s = to_str(v), out;
    size_t pos = 0;
    bool is_first = true;
    while (true) {
        size_t nl = s.find('\n', pos);
        std::string line = s.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
        bool indent = is_first ? first : (blank || !line.empty());
        if (indent) out += pad;
        out += line;
        if (nl == std::string::npos) break;
        out += '\n';
        pos = nl + 1;
        is_first = false;
    }
    return Value::string(out);
}

// Keyword arguments each filter accepts (Python raises TypeError on any other).
void check_kwargs(const std::string& name, const Args& a) {
    static const std::vector<std::pair<std::string, std::vector<std::string>>> kAllowed = {
        {"tojson", {"ensure_ascii", "indent", "separators", "sort_keys"}},
        {"default", {"default_value", "boolean"}},
        {"d", {"default_value", "boolean"}},
        {"join", {"d", "attribute"}},
        {"trim", {"chars"}},
        {"map", {"attribute", "default"}},
        {"sort", {"reverse", "case_sensitive", "attribute"}},
        {"unique", {"case_sensitive", "attribute"}},
        {"round", {"precision", "method"}},
        {"int", {"default", "base"}},
        {"float", {"default"}},
        {"replace", {"old", "new", "count"}},
        {"indent", {"width", "first", "blank"}},
        {"min", {"case_sensitive", "attribute"}},
        {"max", {"case_sensitive", "attribute"}},
        {"sum", {"attribute", "start"}},
        {"dictsort", {"case_sensitive", "by", "reverse"}},
        {"attr", {"name"}},
    };
    if (a.kw.empty() || name == "select" || name == "reject" || name == "selectattr" ||
        name == "rejectattr") {
        return;
    }
    for (const auto& [filter, names] : kAllowed) {
        if (filter != name) continue;
        for (const auto& [k, v] : a.kw) {
            if (std::find(names.begin(), names.end(), k) == names.end()) {
                fail(name + "() got an unexpected keyword argument '" + k + "'");
            }
        }
        return;
    }
    fail(name + "() got an unexpected keyword argument '" + a.kw[0].first + "'");
}

std::optional<Value> text_filter(Renderer& r, const std::string& name, const Value& v,
                                 const Args& a) {
    if (name == "safe") return Value::string(to_str(v), true);
    if (name == "string") return v.is_string() ? v : Value::string(to_str(v));
    if (name == "trim")
        return Value::string(py_strip(to_str(v), a.get(0, "chars"), true, true),
                             v.is_string() && v.b);
    if (name == "upper") return Value::string(py_upper(to_str(v)));
    if (name == "lower") return Value::string(py_lower(to_str(v)));
    if (name == "capitalize") return Value::string(py_capitalize(to_str(v)));
    if (name == "title") return do_title(to_str(v));
    if (name == "default" || name == "d") {
        const Value* d = a.get(0, "default_value");
        bool use = v.is_undefined() || (flag(a.get(1, "boolean"), false) && !truthy(v));
        return use ? (d ? *d : Value::string("")) : v;
    }
    if (name == "replace") {
        Value out;
        Args ma = a;
        Value s = Value::string(to_str(v));
        if (!call_method(r, s, "replace", ma, out)) fail("replace failed");
        return out;
    }
    if (name == "indent") return do_indent(v, a);
    if (name == "escape" || name == "e") {
        if (v.is_string() && v.b) return v;
        Value plain = Value::string(to_str(v));
        return arith("+", Value::string("", true), plain);
    }
    return std::nullopt;
}

std::optional<Value> number_filter(Renderer& r, const std::string& name, const Value& v,
                                   const Args& a) {
    if (name == "int") return do_int(v, a);
    if (name == "float") return do_float(v, a);
    if (name == "abs") {
        if (v.kind == Kind::Float) return Value::floating(std::fabs(v.f));
        if (v.kind == Kind::Int && v.i != INT64_MIN) return Value::integer(std::llabs(v.i));
        if (v.kind == Kind::Bool) return Value::integer(v.b);
        fail("bad operand type for abs(): '" + type_name(v) + "'");
    }
    if (name == "round") return do_round(v, a);
    if (name == "min" || name == "max") {
        Args sa;
        sa.kw.emplace_back("case_sensitive",
                           Value::boolean(flag(a.get(0, "case_sensitive"), false)));
        if (const Value* attr = a.get(1, "attribute")) sa.kw.emplace_back("attribute", *attr);
        Value sorted = do_sort(r, v, sa);
        if (sorted.list->empty())
            return Value::undefined("No aggregated item, sequence was empty.");
        return name == "min" ? sorted.list->front() : sorted.list->back();
    }
    if (name == "sum") {
        const Value* attr = a.get(0, "attribute");
        const Value* start = a.get(1, "start");
        Value total = start ? *start : Value::integer(0);
        for (const Value& x : r.iterate(v))
            total = arith("+", total, attr && attr->is_string() ? attr_path(r, x, attr->s) : x);
        return total;
    }
    return std::nullopt;
}

}  // namespace

Value apply_filter(Renderer& r, const std::string& name, const Value& v, const Args& a) {
    check_kwargs(name, a);
    if (name == "tojson") return do_tojson(v, a);
    if (auto out = text_filter(r, name, v, a)) return *out;
    if (auto out = number_filter(r, name, v, a)) return *out;
    if (name == "length" || name == "count") return do_length(v);
    if (name == "items") return do_items(v);
    if (name == "list") return Value::make_list(r.iterate(v));
    if (name == "first" || name == "last") return first_or_last(r, v, name == "first");
    if (name == "join") return do_join(r, v, a);
    if (name == "map") return do_map(r, v, a);
    if (name == "select" || name == "reject") return do_select(r, v, a, false, name == "select");
    if (name == "selectattr" || name == "rejectattr")
        return do_select(r, v, a, true, name == "selectattr");
    if (name == "sort") return do_sort(r, v, a);
    if (name == "unique") return do_unique(r, v, a);
    if (name == "reverse") {
        if (v.is_string()) {
            auto cps = split_code_points(v.s);
            std::string out;
            for (auto it = cps.rbegin(); it != cps.rend(); ++it) out += *it;
            return Value::string(out);
        }
        List items = r.iterate(v);
        std::reverse(items.begin(), items.end());
        return Value::make_list(std::move(items));
    }
    if (name == "attr") return r.get_attr(v, str_arg(a.get(0, "name"), "attr"));
    if (name == "dictsort") {
        Value items = do_items(v);
        Args sa;
        sa.kw.emplace_back("case_sensitive",
                           Value::boolean(flag(a.get(0, "case_sensitive"), false)));
        return do_sort(r, items, sa);
    }
    fail("no filter named '" + name + "'");
}

bool apply_test(Renderer& r, const std::string& name, const Value& v, const Args& a) {
    const Value* arg = a.get(0, nullptr);
    auto need = [&]() -> const Value& {
        if (!arg) fail("test '" + name + "' needs an argument");
        return *arg;
    };
    if (name == "defined") return !v.is_undefined();
    if (name == "undefined") return v.is_undefined();
    if (name == "none") return v.is_none();
    if (name == "boolean") return v.kind == Kind::Bool;
    if (name == "true") return v.kind == Kind::Bool && v.b;
    if (name == "false") return v.kind == Kind::Bool && !v.b;
    if (name == "integer") return v.kind == Kind::Int;
    if (name == "float") return v.kind == Kind::Float;
    if (name == "number") return v.is_number();
    if (name == "string") return v.is_string();
    if (name == "mapping") return v.kind == Kind::Dict;
    if (name == "iterable" || name == "sequence") {
        return v.is_undefined() || v.is_string() || v.is_sequence() || v.kind == Kind::Dict;
    }
    if (name == "callable") return v.kind == Kind::Macro || v.kind == Kind::Builtin;
    if (name == "odd" || name == "even") {
        if (v.kind != Kind::Int) fail("test '" + name + "' needs an integer");
        return (v.i % 2 != 0) == (name == "odd");
    }
    if (name == "divisibleby") {
        const Value& d = need();
        if (v.kind != Kind::Int || d.kind != Kind::Int || d.i == 0)
            fail("divisibleby needs nonzero integers");
        return v.i % d.i == 0;
    }
    if (name == "eq" || name == "equalto" || name == "==") return equal(v, need());
    if (name == "ne" || name == "!=") return !equal(v, need());
    if (name == "lt" || name == "lessthan" || name == "<") return less(v, need());
    if (name == "gt" || name == "greaterthan" || name == ">") return less(need(), v);
    if (name == "le" || name == "<=") return !less(need(), v);
    if (name == "ge" || name == ">=") return !less(v, need());
    if (name == "in") return contains(need(), v);
    if (name == "sameas") return equal(v, need()) && v.kind == need().kind;
    if (name == "lower") return v.is_string() && py_lower(v.s) == v.s;
    if (name == "upper") return v.is_string() && py_upper(v.s) == v.s;
    if (name == "escaped") return v.is_string() && v.b;
    fail("no test named '" + name + "'");
}

}  // namespace hearth::text::tpl
