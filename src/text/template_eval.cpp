// Evaluator of the chat-template engine: runs the tree of template_ast.h against a context with
// Jinja2's scoping (a fresh scope per loop iteration and macro call), Undefined semantics and
// sandbox limits (steps, depth, sizes). Expressions: template_expr.cpp; filters and tests:
// template_filters.cpp; methods and globals: template_methods.cpp.
#include "text/template_eval.h"

namespace hearth::text::tpl {

namespace {
// Real chat templates take ~100 steps per message; this allows ~20k messages.
constexpr size_t kMaxSteps = 2'000'000;
}  // namespace

DepthGuard::DepthGuard(Renderer& r) : r_(r) {
    if (++r_.depth_ > kMaxDepth) fail("template recursion too deep");
}
DepthGuard::~DepthGuard() { --r_.depth_; }

const Value* Args::get(size_t index, const char* name) const {
    if (index < pos.size()) return &pos[index];
    for (const auto& [k, v] : kw) {
        if (name && k == name) return &v;
    }
    return nullptr;
}

const Value* Frame::find(const std::string& name) const {
    for (const Frame* f = this; f; f = f->parent.get()) {
        for (const auto& [k, v] : f->vars) {
            if (k == name) return &v;
        }
    }
    return nullptr;
}

void Frame::set(const std::string& name, Value value) {
    for (auto& [k, v] : vars) {
        if (k == name) {
            v = std::move(value);
            return;
        }
    }
    vars.emplace_back(name, std::move(value));
}

void fail_undefined(const Value& v) { fail(v.s.empty() ? "value is undefined" : v.s); }

Renderer::Renderer(const Program& program, const Value& context) : program_(program) {
    root_ = std::make_shared<Frame>();
    if (context.is_mapping()) {
        for (const auto& [k, v] : context.dict->items) root_->set(k, v);
    }
    frame_ = root_;
}

Renderer::~Renderer() {
    for (auto& ns : namespaces_) ns->items.clear();
}

std::string Renderer::run() {
    std::string out;
    out_ = &out;
    exec(program_.body);
    return out;
}

void Renderer::step() {
    if (++steps_ > kMaxSteps) fail("template evaluation too long");
    if (out_->size() > kMaxStringBytes) fail("template output too large");
}

Renderer::Flow Renderer::exec(const Body& body) {
    DepthGuard g(*this);
    for (const Node& n : body) {
        Flow f = exec_node(n);
        if (f != Flow::Normal) return f;
    }
    return Flow::Normal;
}

Renderer::Flow Renderer::exec_node(const Node& n) {
    step();
    line_ = n.line;
    switch (n.kind) {
        case NodeKind::Text:
            *out_ += n.text;
            break;
        case NodeKind::Output:
            *out_ += to_str(eval(*n.expr));
            break;
        case NodeKind::If:
            for (size_t k = 0; k < n.branches.size(); ++k) {
                if (k >= n.conditions.size() || truthy(eval(*n.conditions[k]))) {
                    return exec(n.branches[k]);
                }
            }
            break;
        case NodeKind::For:
            return exec_for(n);
        case NodeKind::Set:
        case NodeKind::SetBlock:
            exec_set(n);
            break;
        case NodeKind::Macro: {
            Value m;
            m.kind = Kind::Macro;
            m.macro = n.macro.get();
            m.scope = frame_;
            frame_->set(n.macro->name, std::move(m));
            break;
        }
        case NodeKind::CallBlock:
            exec_call_block(n);
            break;
        case NodeKind::FilterBlock: {
            Value v = Value::string(capture(n.body));
            // The chain's innermost filter has no operand; feed it the block's text.
            std::vector<const Expr*> chain;
            for (const Expr* f = n.filter.get(); f; f = f->kids[0].get()) chain.push_back(f);
            for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
                v = apply_filter(*this, (*it)->name, v, eval_args(**it, 1));
            }
            *out_ += to_str(v);
            break;
        }
        case NodeKind::Break:
            return Flow::Break;
        case NodeKind::Continue:
            return Flow::Continue;
    }
    return Flow::Normal;
}

std::string Renderer::capture(const Body& body) {
    std::string buf;
    std::string* saved = out_;
    out_ = &buf;
    try {
        exec(body);
    } catch (...) {
        out_ = saved;
        throw;
    }
    out_ = saved;
    return buf;
}

static void bind_targets(Frame& f, const std::vector<std::string>& names, const Value& item,
                         Renderer& r) {
    if (names.size() == 1) {
        f.set(names[0], item);
        return;
    }
    List parts = r.iterate(item);
    if (parts.size() != names.size()) {
        fail(parts.size() < names.size() ? "not enough values to unpack"
                                         : "too many values to unpack");
    }
    for (size_t k = 0; k < names.size(); ++k) f.set(names[k], parts[k]);
}

static Value loop_object(const List& items, size_t k) {
    Value loop = Value::make_dict();
    Dict& d = *loop.dict;
    int64_t n = int64_t(items.size());
    int64_t i = int64_t(k);
    d.set("index0", Value::integer(i));
    d.set("index", Value::integer(i + 1));
    d.set("revindex0", Value::integer(n - i - 1));
    d.set("revindex", Value::integer(n - i));
    d.set("first", Value::boolean(i == 0));
    d.set("last", Value::boolean(i == n - 1));
    d.set("length", Value::integer(n));
    d.set("depth", Value::integer(1));
    d.set("depth0", Value::integer(0));
    d.set("previtem", k > 0 ? items[k - 1] : Value::undefined("there is no previous item"));
    d.set("nextitem",
          k + 1 < items.size() ? items[k + 1] : Value::undefined("there is no next item"));
    return loop;
}

Renderer::Flow Renderer::exec_for(const Node& n) {
    List items = iterate(eval(*n.expr));
    std::shared_ptr<Frame> outer = frame_;
    if (n.filter) {
        List kept;
        for (const Value& item : items) {
            step();
            frame_ = std::make_shared<Frame>();
            frame_->parent = outer;
            bind_targets(*frame_, n.targets, item, *this);
            bool keep = truthy(eval(*n.filter));
            frame_ = outer;
            if (keep) kept.push_back(item);
        }
        items = std::move(kept);
    }
    if (items.empty()) return exec(n.else_body);
    struct Restore {
        std::shared_ptr<Frame>& slot;
        std::shared_ptr<Frame> saved;
        ~Restore() { slot = saved; }
    } restore{frame_, outer};
    for (size_t k = 0; k < items.size(); ++k) {
        step();
        frame_ = std::make_shared<Frame>();
        frame_->parent = outer;
        bind_targets(*frame_, n.targets, items[k], *this);
        frame_->set("loop", loop_object(items, k));
        if (exec(n.body) == Flow::Break) break;
    }
    return Flow::Normal;
}

void Renderer::exec_set(const Node& n) {
    Value v;
    if (n.kind == NodeKind::SetBlock) {
        v = Value::string(capture(n.body));
        std::vector<const Expr*> chain;
        for (const Expr* f = n.filter.get(); f; f = f->kids[0].get()) chain.push_back(f);
        for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
            v = apply_filter(*this, (*it)->name, v, eval_args(**it, 1));
        }
    } else {
        v = eval(*n.expr);
    }
    if (n.targets.size() == 1 && n.targets[0].find('.') != std::string::npos) {
        const std::string& t = n.targets[0];
        std::string ns_name = t.substr(0, t.find('.'));
        const Value* ns = frame_->find(ns_name);
        if (!ns || ns->kind != Kind::Namespace) {
            fail("cannot assign attribute on non-namespace object");
        }
        ns->dict->set(t.substr(t.find('.') + 1), std::move(v));
        return;
    }
    if (n.targets.size() == 1) {
        frame_->set(n.targets[0], std::move(v));
        return;
    }
    bind_targets(*frame_, n.targets, v, *this);
}

void Renderer::exec_call_block(const Node& n) {
    Value caller;
    caller.kind = Kind::Macro;
    caller.macro = n.macro.get();
    caller.scope = frame_;
    const Expr& c = *n.expr;
    Value callee;
    if (c.kids[0]->kind == ExprKind::Attr) {
        callee = get_attr(eval(*c.kids[0]->kids[0]), c.kids[0]->name);
    } else {
        callee = eval(*c.kids[0]);
    }
    if (callee.kind != Kind::Macro) fail("{% call %} needs a macro");
    *out_ += to_str(call_macro(callee, eval_args(c, 1), &caller));
}

Value Renderer::call_macro(const Value& macro, Args args, const Value* caller) {
    DepthGuard g(*this);
    const MacroNode& m = *macro.macro;
    auto scope = std::static_pointer_cast<Frame>(macro.scope.lock());
    auto frame = std::make_shared<Frame>();
    frame->parent = scope ? scope : root_;
    std::shared_ptr<Frame> saved = frame_;
    frame_ = frame;
    struct Restore {
        std::shared_ptr<Frame>& slot;
        std::shared_ptr<Frame> saved;
        ~Restore() { slot = saved; }
    } restore{frame_, saved};
    for (const auto& [k, v] : args.kw) {
        bool known = false;
        for (const auto& p : m.params) known = known || p == k;
        if (!known) fail("macro '" + m.name + "' takes no keyword argument '" + k + "'");
    }
    List varargs;
    for (size_t k = m.params.size(); k < args.pos.size(); ++k) varargs.push_back(args.pos[k]);
    for (size_t k = 0; k < m.params.size(); ++k) {
        const Value* a = args.get(k, m.params[k].c_str());
        if (a)
            frame->set(m.params[k], *a);
        else if (m.defaults[k])
            frame->set(m.params[k], eval(*m.defaults[k]));
        else
            frame->set(m.params[k],
                       Value::undefined("parameter '" + m.params[k] + "' was not provided"));
    }
    frame->set("varargs", Value::make_list(std::move(varargs), Kind::Tuple));
    if (caller) frame->set("caller", *caller);
    return Value::string(capture(m.body));
}

Value Renderer::call(const Value& callee, Args args, int line) {
    if (callee.kind == Kind::Macro) return call_macro(callee, std::move(args), nullptr);
    if (callee.kind == Kind::Builtin) return call_global(*this, callee.s, args);
    if (callee.is_undefined()) fail_undefined(callee);
    fail("'" + type_name(callee) + "' object is not callable");
}

Value Renderer::lookup(const std::string& name) {
    if (const Value* v = frame_->find(name)) return *v;
    if (is_global(name)) return Value::builtin(name);
    return Value::undefined("'" + name + "' is undefined");
}

static std::string object_desc(const Value& obj) {
    if (obj.is_none()) return "None";
    return "'" + type_name(obj) + " object'";
}

Value Renderer::get_attr(const Value& obj, const std::string& name) {
    if (obj.is_undefined()) fail_undefined(obj);
    if (obj.kind == Kind::Dict || obj.kind == Kind::Namespace) {
        if (const Value* v = obj.dict->find(name)) return *v;
    }
    return Value::undefined(object_desc(obj) + " has no attribute '" + name + "'");
}

Value Renderer::get_item(const Value& obj, const Value& key) {
    if (obj.is_undefined()) fail_undefined(obj);
    if (key.is_string()) {
        if (obj.kind == Kind::Dict || obj.kind == Kind::Namespace) {
            if (const Value* v = obj.dict->find(key.s)) return *v;
        }
        return Value::undefined(object_desc(obj) + " has no attribute '" + key.s + "'");
    }
    if ((key.kind == Kind::Int || key.kind == Kind::Bool) &&
        (obj.is_sequence() || obj.is_string())) {
        int64_t i = key.kind == Kind::Bool ? key.b : key.i;
        if (obj.is_string()) {
            auto cps = split_code_points(obj.s);
            int64_t n = int64_t(cps.size());
            if (i < 0) i += n;
            if (i >= 0 && i < n) return Value::string(std::string(cps[size_t(i)]));
        } else {
            int64_t n = int64_t(obj.list->size());
            if (i < 0) i += n;
            if (i >= 0 && i < n) return (*obj.list)[size_t(i)];
        }
    }
    return Value::undefined(object_desc(obj) + " has no element " + repr(key));
}

List Renderer::iterate(const Value& v) {
    switch (v.kind) {
        case Kind::Undefined:
            return {};
        case Kind::List:
        case Kind::Tuple:
            return *v.list;
        case Kind::Dict: {
            List keys;
            for (const auto& [k, x] : v.dict->items) keys.push_back(Value::string(k));
            return keys;
        }
        case Kind::String: {
            List chars;
            for (auto cp : split_code_points(v.s)) chars.push_back(Value::string(std::string(cp)));
            return chars;
        }
        default:
            fail("'" + type_name(v) + "' object is not iterable");
    }
}

}  // namespace hearth::text::tpl
