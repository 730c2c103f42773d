// Expression evaluation of the chat-template engine: names, literals, attribute/item access,
// slices, calls, and Python's operator semantics (int/float arithmetic, str/list concatenation,
// Jinja2 Markup's escaping "+"). Statements are in template_eval.cpp.
#include <cmath>

#include "text/template_eval.h"

namespace hearth::text::tpl {

namespace {

bool is_int(const Value& v) { return v.kind == Kind::Int || v.kind == Kind::Bool; }
int64_t int_of(const Value& v) { return v.kind == Kind::Bool ? int64_t(v.b) : v.i; }
double num_of(const Value& v) { return v.kind == Kind::Float ? v.f : double(int_of(v)); }

[[noreturn]] void type_error(const std::string& op, const Value& a, const Value& b) {
    if (a.is_undefined()) fail_undefined(a);
    if (b.is_undefined()) fail_undefined(b);
    fail("unsupported operand type(s) for " + op + ": '" + type_name(a) + "' and '" + type_name(b) +
         "'");
}

std::string html_escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&#34;";
                break;
            case '\'':
                out += "&#39;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

Value repeat(const Value& seq, int64_t n) {
    if (n <= 0) return seq.is_string() ? Value::string("") : Value::make_list({}, seq.kind);
    size_t unit = seq.is_string() ? seq.s.size() : seq.list->size();
    if (unit && size_t(n) > kMaxStringBytes / unit) fail("repeated sequence too large");
    if (seq.is_string()) {
        std::string out;
        out.reserve(unit * size_t(n));
        for (int64_t k = 0; k < n; ++k) out += seq.s;
        return Value::string(std::move(out), seq.b);
    }
    List out;
    for (int64_t k = 0; k < n; ++k) out.insert(out.end(), seq.list->begin(), seq.list->end());
    return Value::make_list(std::move(out), seq.kind);
}

Value int_arith(const std::string& op, int64_t x, int64_t y) {
    int64_t r = 0;
    bool overflow = false;
    if (op == "+")
        overflow = __builtin_add_overflow(x, y, &r);
    else if (op == "-")
        overflow = __builtin_sub_overflow(x, y, &r);
    else if (op == "*")
        overflow = __builtin_mul_overflow(x, y, &r);
    else if (op == "//" || op == "%") {
        if (y == 0) fail("integer division or modulo by zero");
        if (x == INT64_MIN && y == -1) fail("integer overflow");
        int64_t q = x / y, m = x % y;
        if (m != 0 && ((m < 0) != (y < 0))) {
            q -= 1;
            m += y;
        }
        r = op == "//" ? q : m;
    } else if (op == "**") {
        if (y < 0) return Value::floating(std::pow(double(x), double(y)));
        r = 1;
        for (int64_t k = 0; k < y && !overflow; ++k) overflow = __builtin_mul_overflow(r, x, &r);
    }
    if (overflow) fail("integer overflow");
    return Value::integer(r);
}

Value float_arith(const std::string& op, double x, double y) {
    if (op == "+") return Value::floating(x + y);
    if (op == "-") return Value::floating(x - y);
    if (op == "*") return Value::floating(x * y);
    if (op == "/") {
        if (y == 0) fail("division by zero");
        return Value::floating(x / y);
    }
    if (op == "//" || op == "%") {
        if (y == 0) fail("float divmod()");
        double m = std::fmod(x, y);
        if (m != 0 && ((m < 0) != (y < 0))) m += y;
        if (op == "%") return Value::floating(m);
        double div = (x - m) / y;  // CPython's float_floor_div
        double fl = std::floor(div);
        if (div - fl > 0.5) fl += 1;
        return Value::floating(fl);
    }
    return Value::floating(std::pow(x, y));  // "**"
}

}  // namespace

Value arith(const std::string& op, const Value& a, const Value& b) {
    if (a.is_number() && b.is_number()) {
        if (op == "/") return float_arith(op, num_of(a), num_of(b));
        if (is_int(a) && is_int(b)) return int_arith(op, int_of(a), int_of(b));
        return float_arith(op, num_of(a), num_of(b));
    }
    if (op == "+" && a.is_string() && b.is_string()) {
        if (a.b || b.b) {  // Markup + str escapes the plain side (markupsafe)
            return Value::string((a.b ? a.s : html_escape(a.s)) + (b.b ? b.s : html_escape(b.s)),
                                 true);
        }
        if (a.s.size() + b.s.size() > kMaxStringBytes) fail("string result too large");
        return Value::string(a.s + b.s);
    }
    if (op == "+" && a.is_sequence() && b.is_sequence() && a.kind == b.kind) {
        List out = *a.list;
        out.insert(out.end(), b.list->begin(), b.list->end());
        return Value::make_list(std::move(out), a.kind);
    }
    if (op == "*" && (a.is_string() || a.is_sequence()) && is_int(b)) return repeat(a, int_of(b));
    if (op == "*" && (b.is_string() || b.is_sequence()) && is_int(a)) return repeat(b, int_of(a));
    type_error(op, a, b);
}

bool contains(const Value& container, const Value& item) {
    switch (container.kind) {
        case Kind::Undefined:
            return false;
        case Kind::String:
            if (!item.is_string()) fail("'in <string>' requires string as left operand");
            return container.s.find(item.s) != std::string::npos;
        case Kind::List:
        case Kind::Tuple:
            for (const Value& v : *container.list) {
                if (equal(v, item)) return true;
            }
            return false;
        case Kind::Dict:
            return item.is_string() && container.dict->find(item.s) != nullptr;
        default:
            fail("argument of type '" + type_name(container) + "' is not iterable");
    }
}

Args Renderer::eval_args(const Expr& e, size_t first) {
    Args args;
    for (size_t k = first; k < e.kids.size(); ++k) args.pos.push_back(eval(*e.kids[k]));
    for (const auto& [name, x] : e.kwargs) args.kw.emplace_back(name, eval(*x));
    return args;
}

Value Renderer::eval_call(const Expr& e) {
    const Expr& callee = *e.kids[0];
    if (callee.kind == ExprKind::Attr) {
        Value obj = eval(*callee.kids[0]);
        if (obj.is_undefined()) fail_undefined(obj);
        Args args = eval_args(e, 1);
        Value out;
        if (call_method(*this, obj, callee.name, args, out)) return out;
        return call(get_attr(obj, callee.name), std::move(args), e.line);
    }
    Value fn = eval(callee);
    return call(fn, eval_args(e, 1), e.line);
}

Value Renderer::eval_binary(const Expr& e) {
    const std::string& op = e.name;
    Value a = eval(*e.kids[0]);
    if (op == "and") return truthy(a) ? eval(*e.kids[1]) : a;
    if (op == "or") return truthy(a) ? a : eval(*e.kids[1]);
    Value b = eval(*e.kids[1]);
    if (op == "==") return Value::boolean(equal(a, b));
    if (op == "!=") return Value::boolean(!equal(a, b));
    if (op == "~") return Value::string(to_str(a) + to_str(b));
    if (op == "in") return Value::boolean(contains(b, a));
    if (op == "not in") return Value::boolean(!contains(b, a));
    if (op == "<" || op == ">" || op == "<=" || op == ">=") {
        if (a.is_undefined()) fail_undefined(a);
        if (b.is_undefined()) fail_undefined(b);
        if (op == "<") return Value::boolean(less(a, b));
        if (op == ">") return Value::boolean(less(b, a));
        if (op == "<=") return Value::boolean(!less(b, a));
        return Value::boolean(!less(a, b));
    }
    return arith(op, a, b);
}

static int64_t slice_index(const Value* v, const char* what) {
    if (v->kind == Kind::Int || v->kind == Kind::Bool) return int_of(*v);
    fail(std::string("slice indices must be integers or None (") + what + ")");
}

Value Renderer::eval_slice(const Expr& e) {
    Value obj = eval(*e.kids[0]);
    if (obj.is_undefined()) fail_undefined(obj);
    Value parts[3];
    for (int k = 0; k < 3; ++k) parts[k] = e.kids[k + 1] ? eval(*e.kids[k + 1]) : Value::none();
    int64_t step = parts[2].is_none() ? 1 : slice_index(&parts[2], "step");
    if (step == 0) fail("slice step cannot be zero");
    std::vector<std::string_view> cps;
    if (obj.is_string())
        cps = split_code_points(obj.s);
    else if (!obj.is_sequence())
        fail("'" + type_name(obj) + "' object is not subscriptable");
    int64_t n = obj.is_string() ? int64_t(cps.size()) : int64_t(obj.list->size());
    auto adjust = [&](const Value& v, int64_t dflt) {
        if (v.is_none()) return dflt;
        int64_t i = slice_index(&v, "bound");
        if (i < 0) {
            i += n;
            if (i < 0) i = step < 0 ? -1 : 0;
        } else if (i >= n) {
            i = step < 0 ? n - 1 : n;
        }
        return i;
    };
    int64_t start = adjust(parts[0], step < 0 ? n - 1 : 0);
    int64_t stop = adjust(parts[1], step < 0 ? -1 : n);
    std::string s;
    List items;
    for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
        if (obj.is_string())
            s += cps[size_t(i)];
        else
            items.push_back((*obj.list)[size_t(i)]);
    }
    if (obj.is_string()) return Value::string(std::move(s));
    return Value::make_list(std::move(items), obj.kind);
}

static Value unary(const std::string& op, const Value& v) {
    if (op == "not") return Value::boolean(!truthy(v));
    if (v.is_undefined()) fail_undefined(v);
    if (!v.is_number()) fail("bad operand type for unary " + op + ": '" + type_name(v) + "'");
    if (op == "+") return v.kind == Kind::Bool ? Value::integer(v.b) : v;
    if (v.kind == Kind::Float) return Value::floating(-v.f);
    int64_t i = int_of(v);
    if (i == INT64_MIN) fail("integer overflow");
    return Value::integer(-i);
}

Value Renderer::eval(const Expr& e) {
    DepthGuard g(*this);
    step();
    line_ = e.line;
    switch (e.kind) {
        case ExprKind::Literal:
            return e.literal;
        case ExprKind::Name:
            return lookup(e.name);
        case ExprKind::ListLit:
        case ExprKind::TupleLit: {
            List items;
            for (const auto& k : e.kids) items.push_back(eval(*k));
            return Value::make_list(std::move(items),
                                    e.kind == ExprKind::ListLit ? Kind::List : Kind::Tuple);
        }
        case ExprKind::DictLit: {
            Value d = Value::make_dict();
            for (size_t k = 0; k + 1 < e.kids.size(); k += 2) {
                Value key = eval(*e.kids[k]);
                d.dict->set(key.is_string() ? key.s : to_str(key), eval(*e.kids[k + 1]));
            }
            return d;
        }
        case ExprKind::Attr:
            return get_attr(eval(*e.kids[0]), e.name);
        case ExprKind::Item: {
            Value obj = eval(*e.kids[0]);
            return get_item(obj, eval(*e.kids[1]));
        }
        case ExprKind::Slice:
            return eval_slice(e);
        case ExprKind::Call:
            return eval_call(e);
        case ExprKind::Filter:
            return apply_filter(*this, e.name, eval(*e.kids[0]), eval_args(e, 1));
        case ExprKind::Test: {
            bool r = apply_test(*this, e.name, eval(*e.kids[0]), eval_args(e, 1));
            return Value::boolean(r != e.negated);
        }
        case ExprKind::Unary:
            return unary(e.name, eval(*e.kids[0]));
        case ExprKind::Binary:
            return eval_binary(e);
        case ExprKind::Cond:
            if (truthy(eval(*e.kids[1]))) return eval(*e.kids[0]);
            if (e.kids[2]) return eval(*e.kids[2]);
            return Value::undefined(
                "the inline if-expression evaluated to false and no else "
                "section was defined");
    }
    return Value::undefined();
}

}  // namespace hearth::text::tpl
