// Values of the chat-template engine (a Jinja2 subset): Python-like none/bool/int/float/str,
// lists, tuples, ordered dicts and namespaces, with Python's str(), repr() and json.dumps()
// spellings. Evaluation lives in template_eval.cpp; this file only models and prints values.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hearth::text::tpl {

// Raised anywhere inside the engine and caught at the ChatTemplate boundary (template.cpp), so
// that the many failure points of an interpreter need no Status plumbing; never escapes it.
struct TemplateError : std::runtime_error {
    using std::runtime_error::runtime_error;
};
[[noreturn]] void fail(const std::string& message);

// Caps that keep hostile templates from exhausting memory.
inline constexpr size_t kMaxStringBytes = 64u << 20;
inline constexpr size_t kMaxListItems = 1u << 20;

struct Value;
using List = std::vector<Value>;
struct Dict;
struct MacroNode;

enum class Kind : uint8_t {
    Undefined,
    None,
    Bool,
    Int,
    Float,
    String,
    List,
    Tuple,
    Dict,
    Namespace,
    Macro,
    Builtin,
};

struct Value {
    Kind kind = Kind::Undefined;
    bool b = false;              // Bool; for String: marked safe (Jinja2 Markup)
    int64_t i = 0;               // Int
    double f = 0;                // Float
    std::string s;               // String; Undefined: hint used in error messages; Builtin: name
    std::shared_ptr<List> list;  // List, Tuple
    std::shared_ptr<Dict> dict;  // Dict, Namespace (shared, so namespace attributes mutate)
    const MacroNode* macro = nullptr;
    std::weak_ptr<void> scope;  // Macro: the frame it was defined in (weak: frames hold macros)

    static Value undefined(std::string hint = {}) {
        Value v;
        v.s = std::move(hint);
        return v;
    }
    static Value none() { return with_kind(Kind::None); }
    static Value boolean(bool x) {
        Value v = with_kind(Kind::Bool);
        v.b = x;
        return v;
    }
    static Value integer(int64_t x) {
        Value v = with_kind(Kind::Int);
        v.i = x;
        return v;
    }
    static Value floating(double x) {
        Value v = with_kind(Kind::Float);
        v.f = x;
        return v;
    }
    static Value string(std::string x, bool safe = false);
    static Value make_list(List items, Kind kind = Kind::List);
    static Value make_dict(Kind kind = Kind::Dict);
    static Value builtin(std::string name) {
        Value v = with_kind(Kind::Builtin);
        v.s = std::move(name);
        return v;
    }

    bool is_undefined() const { return kind == Kind::Undefined; }
    bool is_none() const { return kind == Kind::None; }
    bool is_string() const { return kind == Kind::String; }
    bool is_number() const {
        return kind == Kind::Int || kind == Kind::Float || kind == Kind::Bool;
    }
    bool is_sequence() const { return kind == Kind::List || kind == Kind::Tuple; }
    bool is_mapping() const { return kind == Kind::Dict; }

   private:
    static Value with_kind(Kind k) {
        Value v;
        v.kind = k;
        return v;
    }
};

// Insertion-ordered string-keyed mapping (JSON objects keep the client's key order).
struct Dict {
    std::vector<std::pair<std::string, Value>> items;
    const Value* find(std::string_view key) const;
    void set(const std::string& key, Value value);
};

Value from_json(const nlohmann::ordered_json& j);

bool truthy(const Value& v);
bool equal(const Value& a, const Value& b);
// Python's <: numbers with numbers, strings with strings, sequences element-wise.
bool less(const Value& a, const Value& b);
std::string type_name(const Value& v);

std::string to_str(const Value& v);  // Python str(); undefined gives ""
std::string repr(const Value& v);    // Python repr()
std::string repr_float(double x);    // Python float repr: 1.0, 1e+20, 0.30000000000000004
std::string repr_str(std::string_view s);

struct JsonOptions {
    bool pretty = false;  // Python indent is not None: newline + indent before each item
    std::string indent;
    std::string item_sep = ", ";
    std::string key_sep = ": ";
    bool sort_keys = false;
    bool ensure_ascii = false;
};
// Python json.dumps(v, ensure_ascii=False, ...) as transformers' tojson filter calls it.
std::string to_json(const Value& v, const JsonOptions& options);

// Code-point helpers: Python indexes strings by code point, not byte.
std::vector<std::string_view> split_code_points(std::string_view s);
size_t code_point_count(std::string_view s);

}  // namespace hearth::text::tpl
