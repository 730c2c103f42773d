// Syntax tree and lexer/parser entry points of the chat-template engine (a Jinja2 subset).
// The lexer applies Jinja2's whitespace rules (trim_blocks, lstrip_blocks, "-"/"+" markers);
// the parser builds the tree. Neither evaluates anything (see template_eval.cpp).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "text/template_value.h"

namespace hearth::text::tpl {

// ---- lexer ----

enum class TokType { Name, String, Int, Float, Op };

struct Token {
    TokType type;
    std::string text;  // name, operator, or decoded string literal
    Value number;      // Int/Float
    int line;
};

enum class SegType { Text, Var, Block };

struct Segment {
    SegType type;
    std::string text;           // Text
    std::vector<Token> tokens;  // Var, Block
    int line;
};

// Splits a template into text, {{ }} and {% %} segments (comments dropped), exactly as Jinja2's
// lexer does with trim_blocks and lstrip_blocks on. Throws TemplateError with the line.
std::vector<Segment> lex(std::string_view source);

// ---- expressions ----

enum class ExprKind {
    Literal,
    Name,
    ListLit,
    TupleLit,
    DictLit,  // kids: key0, value0, key1, value1, ...
    Attr,     // kids[0].name
    Item,     // kids[0][kids[1]]
    Slice,    // kids[0][kids[1]:kids[2]:kids[3]], absent parts null
    Call,     // kids[0](kids[1..], kwargs)
    Filter,   // kids[0]|name(kids[1..], kwargs); kids[0] null inside {% filter %} / set blocks
    Test,     // kids[0] is [not] name(kids[1..])
    Unary,    // op kids[0]: "-", "+", "not"
    Binary,   // kids[0] op kids[1]
    Cond,     // kids[0] if kids[1] else kids[2] (kids[2] may be null)
};

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
    ExprKind kind;
    int line = 0;
    std::string name;      // Name, Attr, Filter, Test, Unary/Binary operator
    bool negated = false;  // Test: "is not"
    Value literal;
    std::vector<ExprPtr> kids;
    std::vector<std::pair<std::string, ExprPtr>> kwargs;
};

// ---- statements ----

struct Node;
using Body = std::vector<Node>;

struct MacroNode {
    std::string name;
    std::vector<std::string> params;
    std::vector<ExprPtr> defaults;  // one per param, null when none
    Body body;
    int line = 0;
};

enum class NodeKind {
    Text,
    Output,
    If,
    For,
    Set,
    SetBlock,
    Macro,
    CallBlock,
    FilterBlock,
    Break,
    Continue
};

struct Node {
    NodeKind kind;
    int line = 0;
    std::string text;                  // Text
    ExprPtr expr;                      // Output, Set value, For iterable, CallBlock call
    ExprPtr filter;                    // For "if" filter; SetBlock/FilterBlock filter chain
    std::vector<ExprPtr> conditions;   // If: one per branch; the else branch has none
    std::vector<Body> branches;        // If
    std::vector<std::string> targets;  // For/Set names; Set "ns.attr" targets keep the dot
    Body body, else_body;              // For, SetBlock, FilterBlock
    std::unique_ptr<MacroNode> macro;  // Macro; CallBlock (the caller body)
};

struct Program {
    Body body;
};

// Parses a whole template. Throws TemplateError("line N: ...") on syntax errors.
std::unique_ptr<Program> parse_program(std::string_view source);

}  // namespace hearth::text::tpl
