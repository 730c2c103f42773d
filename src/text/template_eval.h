// Internal interface between the chat-template evaluator (template_eval.cpp, template_expr.cpp)
// and its filters, tests and methods (template_filters.cpp, template_methods.cpp). Not public.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "text/template_ast.h"

namespace hearth::text::tpl {

// Call arguments: positional and keyword, in call order.
struct Args {
    std::vector<Value> pos;
    std::vector<std::pair<std::string, Value>> kw;

    // The argument at `index` or named `name`; null when neither was given.
    const Value* get(size_t index, const char* name) const;
};

// One variable scope: the template's top level, a macro call or one loop iteration.
struct Frame {
    std::vector<std::pair<std::string, Value>> vars;
    std::shared_ptr<Frame> parent;

    const Value* find(const std::string& name) const;
    void set(const std::string& name, Value value);
};

class Renderer {
   public:
    Renderer(const Program& program, const Value& context);
    ~Renderer();
    std::string run();
    // Namespaces are the only mutable containers, so the only way to build a reference
    // cycle (`{% set ns.x = ns %}`); the renderer empties them when it ends to break any.
    void track_namespace(const Value& ns) { namespaces_.push_back(ns.dict); }
    int line() const { return line_; }  // of the statement or expression evaluated last

    Value eval(const Expr& e);
    Value call(const Value& callee, Args args, int line);
    Value get_attr(const Value& obj, const std::string& name);
    Value get_item(const Value& obj, const Value& key);
    // Python iteration: list items, dict keys, string code points; undefined is empty.
    List iterate(const Value& v);

   private:
    enum class Flow { Normal, Break, Continue };

    Flow exec(const Body& body);
    Flow exec_node(const Node& n);
    Flow exec_for(const Node& n);
    void exec_set(const Node& n);
    void exec_call_block(const Node& n);
    std::string capture(const Body& body);
    Value call_macro(const Value& macro, Args args, const Value* caller);
    Value lookup(const std::string& name);
    Value eval_call(const Expr& e);
    Value eval_binary(const Expr& e);
    Value eval_slice(const Expr& e);
    Args eval_args(const Expr& e, size_t first);
    void step();

    const Program& program_;
    std::vector<std::shared_ptr<Dict>> namespaces_;
    std::shared_ptr<Frame> root_;
    std::shared_ptr<Frame> frame_;
    std::string* out_ = nullptr;
    size_t steps_ = 0;
    int depth_ = 0;
    int line_ = 0;
    friend struct DepthGuard;
};

// Counts evaluator recursion (expressions, bodies, macro calls) against kMaxDepth.
struct DepthGuard {
    static constexpr int kMaxDepth = 200;
    explicit DepthGuard(Renderer& r);
    ~DepthGuard();
    Renderer& r_;
};

// template_filters.cpp, template_methods.cpp
Value apply_filter(Renderer& r, const std::string& name, const Value& v, const Args& args);
bool apply_test(Renderer& r, const std::string& name, const Value& v, const Args& args);
// Calls a str/dict method; false when `obj` has no method `name` (then it is an attribute).
bool call_method(Renderer& r, const Value& obj, const std::string& name, const Args& args,
                 Value& out);
Value call_global(Renderer& r, const std::string& name, const Args& args);
bool is_global(const std::string& name);
Value arith(const std::string& op, const Value& a, const Value& b);
bool contains(const Value& container, const Value& item);
[[noreturn]] void fail_undefined(const Value& v);

// template_methods.cpp: Python str operations by code point.
std::string py_strip(std::string_view s, const Value* chars, bool left, bool right);
std::string py_upper(std::string_view s);
std::string py_lower(std::string_view s);
std::string py_capitalize(std::string_view s);
const std::string& str_arg(const Value* v, const char* what);

}  // namespace hearth::text::tpl
