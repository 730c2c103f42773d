// Parser of the chat-template engine: Jinja2's statement and expression grammar (precedence as
// in jinja2/parser.py) into the tree of template_ast.h. Evaluates nothing. Not supported:
// extends/block/include/import, {% raw %}, *args/**kwargs in calls, recursive loops.
#include "text/template_ast.h"

namespace hearth::text::tpl {
namespace {

constexpr int kMaxParseDepth = 100;

[[noreturn]] void syntax_error(int line, const std::string& what) {
    fail("line " + std::to_string(line) + ": " + what);
}

ExprPtr make(ExprKind kind, int line, std::string name = {}) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->line = line;
    e->name = std::move(name);
    return e;
}

// Expressions of one {{ }} or {% %} tag.
class ExprParser {
   public:
    ExprParser(const std::vector<Token>& toks, int line) : toks_(toks), line_(line) {}

    bool done() const { return pos_ >= toks_.size(); }
    int line() const { return done() ? line_ : toks_[pos_].line; }
    bool is_op(std::string_view op, size_t ahead = 0) const {
        return pos_ + ahead < toks_.size() && toks_[pos_ + ahead].type == TokType::Op &&
               toks_[pos_ + ahead].text == op;
    }
    bool is_name(std::string_view name, size_t ahead = 0) const {
        return pos_ + ahead < toks_.size() && toks_[pos_ + ahead].type == TokType::Name &&
               toks_[pos_ + ahead].text == name;
    }
    void expect_op(std::string_view op) {
        if (!is_op(op)) fail_here("expected '" + std::string(op) + "'");
        ++pos_;
    }
    std::string expect_name() {
        if (done() || toks_[pos_].type != TokType::Name) fail_here("expected a name");
        return toks_[pos_++].text;
    }
    void expect_end() {
        if (!done()) fail_here("unexpected '" + toks_[pos_].text + "'");
    }
    [[noreturn]] void fail_here(const std::string& what) const {
        syntax_error(line(), what + (done() ? " at end of tag" : ""));
    }
    bool accept_op(std::string_view op) {
        if (!is_op(op)) return false;
        ++pos_;
        return true;
    }
    bool accept_name(std::string_view name) {
        if (!is_name(name)) return false;
        ++pos_;
        return true;
    }

    // Jinja2 parse_tuple: "a, b" without parentheses is a tuple.
    ExprPtr tuple(bool with_condexpr = true) {
        int line0 = line();
        ExprPtr first = expression(with_condexpr);
        if (!is_op(",")) return first;
        auto t = make(ExprKind::TupleLit, line0);
        t->kids.push_back(std::move(first));
        while (accept_op(",")) {
            if (done() || is_op(")") || is_name("in") || is_op("=")) break;
            t->kids.push_back(expression(with_condexpr));
        }
        return t;
    }

    ExprPtr expression(bool with_condexpr = true) {
        Guard g(this);
        ExprPtr e = or_expr();
        if (!with_condexpr) return e;
        while (is_name("if")) {
            int l = line();
            ++pos_;
            auto c = make(ExprKind::Cond, l);
            c->kids.push_back(std::move(e));
            c->kids.push_back(or_expr());
            c->kids.push_back(accept_name("else") ? expression() : nullptr);
            e = std::move(c);
        }
        return e;
    }

   private:
    struct Guard {
        explicit Guard(ExprParser* p) : p_(p) {
            if (++p_->depth_ > kMaxParseDepth) p_->fail_here("expression nested too deeply");
        }
        ~Guard() { --p_->depth_; }
        ExprParser* p_;
    };

    ExprPtr binary(std::string op, ExprPtr a, ExprPtr b, int l) {
        auto e = make(ExprKind::Binary, l, std::move(op));
        e->kids.push_back(std::move(a));
        e->kids.push_back(std::move(b));
        return e;
    }

    ExprPtr or_expr() {
        ExprPtr e = and_expr();
        while (is_name("or")) {
            int l = line();
            ++pos_;
            e = binary("or", std::move(e), and_expr(), l);
        }
        return e;
    }
    ExprPtr and_expr() {
        ExprPtr e = not_expr();
        while (is_name("and")) {
            int l = line();
            ++pos_;
            e = binary("and", std::move(e), not_expr(), l);
        }
        return e;
    }
    ExprPtr not_expr() {
        Guard g(this);
        if (is_name("not")) {
            auto e = make(ExprKind::Unary, line(), "not");
            ++pos_;
            e->kids.push_back(not_expr());
            return e;
        }
        return compare();
    }

    // a < b < c means (a < b) and (b < c), as in Python.
    ExprPtr compare() {
        ExprPtr lhs = math1();
        ExprPtr result;
        static const char* const kOps[] = {"==", "!=", "<=", ">=", "<", ">"};
        while (true) {
            int l = line();
            std::string op;
            for (const char* o : kOps) {
                if (is_op(o)) op = o;
            }
            if (!op.empty()) {
                ++pos_;
            } else if (is_name("in")) {
                ++pos_;
                op = "in";
            } else if (is_name("not") && is_name("in", 1)) {
                pos_ += 2;
                op = "not in";
            } else {
                break;
            }
            ExprPtr rhs = math1();
            ExprPtr next_lhs = clone_simple(*rhs);
            ExprPtr cmp = binary(op, std::move(lhs), std::move(rhs), l);
            result = result ? binary("and", std::move(result), std::move(cmp), l) : std::move(cmp);
            lhs = std::move(next_lhs);
        }
        return result ? std::move(result) : std::move(lhs);
    }

    // Chained comparisons use their middle operand twice.
    ExprPtr clone_simple(const Expr& e) {
        auto c = std::make_unique<Expr>();
        c->kind = e.kind;
        c->line = e.line;
        c->name = e.name;
        c->negated = e.negated;
        c->literal = e.literal;
        for (const auto& k : e.kids) c->kids.push_back(k ? clone_simple(*k) : nullptr);
        for (const auto& [n, k] : e.kwargs) c->kwargs.emplace_back(n, clone_simple(*k));
        return c;
    }

    ExprPtr math1() {
        ExprPtr e = concat();
        while (is_op("+") || is_op("-")) {
            int l = line();
            std::string op = toks_[pos_++].text;
            e = binary(op, std::move(e), concat(), l);
        }
        return e;
    }
    ExprPtr concat() {
        ExprPtr e = math2();
        while (is_op("~")) {
            int l = line();
            ++pos_;
            e = binary("~", std::move(e), math2(), l);
        }
        return e;
    }
    ExprPtr math2() {
        ExprPtr e = power();
        while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
            int l = line();
            std::string op = toks_[pos_++].text;
            e = binary(op, std::move(e), power(), l);
        }
        return e;
    }
    ExprPtr power() {
        ExprPtr e = unary(true);
        while (is_op("**")) {
            int l = line();
            ++pos_;
            e = binary("**", std::move(e), unary(true), l);
        }
        return e;
    }

    ExprPtr unary(bool with_filter) {
        Guard g(this);
        ExprPtr e;
        if (is_op("-") || is_op("+")) {
            e = make(ExprKind::Unary, line(), toks_[pos_++].text);
            e->kids.push_back(unary(false));
        } else {
            e = primary();
        }
        e = postfix(std::move(e));
        return with_filter ? filter_expr(std::move(e)) : std::move(e);
    }

    ExprPtr primary() {
        if (done()) fail_here("expected an expression");
        const Token& t = toks_[pos_];
        int l = t.line;
        if (t.type == TokType::Name) {
            ++pos_;
            auto e = make(ExprKind::Literal, l);
            if (t.text == "true" || t.text == "True")
                e->literal = Value::boolean(true);
            else if (t.text == "false" || t.text == "False")
                e->literal = Value::boolean(false);
            else if (t.text == "none" || t.text == "None")
                e->literal = Value::none();
            else
                return make(ExprKind::Name, l, t.text);
            return e;
        }
        if (t.type == TokType::String) {
            std::string s;
            while (!done() && toks_[pos_].type == TokType::String) s += toks_[pos_++].text;
            auto e = make(ExprKind::Literal, l);
            e->literal = Value::string(std::move(s));
            return e;
        }
        if (t.type == TokType::Int || t.type == TokType::Float) {
            ++pos_;
            auto e = make(ExprKind::Literal, l);
            e->literal = t.number;
            return e;
        }
        if (accept_op("(")) return paren(l);
        if (accept_op("[")) return list_literal(l);
        if (accept_op("{")) return dict_literal(l);
        fail_here("unexpected '" + t.text + "'");
    }

    ExprPtr paren(int l) {
        if (accept_op(")")) return make(ExprKind::TupleLit, l);
        ExprPtr first = expression();
        if (accept_op(")")) return first;
        auto t = make(ExprKind::TupleLit, l);
        t->kids.push_back(std::move(first));
        while (accept_op(",")) {
            if (is_op(")")) break;
            t->kids.push_back(expression());
        }
        expect_op(")");
        return t;
    }

    ExprPtr list_literal(int l) {
        auto e = make(ExprKind::ListLit, l);
        while (!is_op("]")) {
            if (!e->kids.empty()) expect_op(",");
            if (is_op("]")) break;
            e->kids.push_back(expression());
        }
        expect_op("]");
        return e;
    }

    ExprPtr dict_literal(int l) {
        auto e = make(ExprKind::DictLit, l);
        while (!is_op("}")) {
            if (!e->kids.empty()) expect_op(",");
            if (is_op("}")) break;
            e->kids.push_back(expression());
            expect_op(":");
            e->kids.push_back(expression());
        }
        expect_op("}");
        return e;
    }

    ExprPtr postfix(ExprPtr e) {
        while (true) {
            int l = line();
            if (accept_op(".")) {
                if (!done() && toks_[pos_].type == TokType::Int) {
                    auto item = make(ExprKind::Item, l);
                    item->kids.push_back(std::move(e));
                    auto idx = make(ExprKind::Literal, l);
                    idx->literal = toks_[pos_++].number;
                    item->kids.push_back(std::move(idx));
                    e = std::move(item);
                    continue;
                }
                auto a = make(ExprKind::Attr, l, expect_name());
                a->kids.push_back(std::move(e));
                e = std::move(a);
            } else if (accept_op("[")) {
                e = subscript(std::move(e), l);
            } else if (is_op("(")) {
                e = call(std::move(e));
            } else {
                return e;
            }
        }
    }

    ExprPtr subscript(ExprPtr obj, int l) {
        ExprPtr parts[3];
        int n = 0;
        bool is_slice = false;
        while (true) {
            if (!is_op(":") && !is_op("]")) parts[n] = n == 0 && !is_slice ? tuple() : expression();
            if (accept_op(":")) {
                is_slice = true;
                if (++n > 2) fail_here("too many ':' in slice");
                continue;
            }
            break;
        }
        expect_op("]");
        if (!is_slice) {
            if (!parts[0]) fail_here("expected a subscript");
            auto e = make(ExprKind::Item, l);
            e->kids.push_back(std::move(obj));
            e->kids.push_back(std::move(parts[0]));
            return e;
        }
        auto e = make(ExprKind::Slice, l);
        e->kids.push_back(std::move(obj));
        for (auto& p : parts) e->kids.push_back(std::move(p));
        return e;
    }

    void call_args(Expr& e) {
        expect_op("(");
        while (!is_op(")")) {
            if (args_seen_ > 0) expect_op(",");
            if (is_op(")")) break;
            ++args_seen_;
            if (!done() && toks_[pos_].type == TokType::Name && is_op("=", 1)) {
                std::string key = toks_[pos_].text;
                pos_ += 2;
                e.kwargs.emplace_back(key, expression());
            } else {
                if (!e.kwargs.empty()) fail_here("positional argument after keyword argument");
                e.kids.push_back(expression());
            }
        }
        expect_op(")");
    }

    ExprPtr call(ExprPtr callee) {
        auto e = make(ExprKind::Call, line());
        e->kids.push_back(std::move(callee));
        int saved = args_seen_;
        args_seen_ = 0;
        call_args(*e);
        args_seen_ = saved;
        return e;
    }

   public:
    // "|name(args)" chains, "is [not] test" and calls on their results (parse_filter_expr).
    ExprPtr filter_expr(ExprPtr e) {
        while (true) {
            if (is_op("|")) {
                ++pos_;
                e = filter(std::move(e));
            } else if (is_name("is")) {
                e = test(std::move(e));
            } else if (is_op("(")) {
                e = call(std::move(e));
            } else {
                return e;
            }
        }
    }

    ExprPtr filter(ExprPtr operand) {
        int l = line();
        std::string name = expect_name();
        while (is_op(".") && pos_ + 1 < toks_.size() && toks_[pos_ + 1].type == TokType::Name) {
            name += "." + toks_[pos_ + 1].text;
            pos_ += 2;
        }
        auto f = make(ExprKind::Filter, l, name);
        f->kids.push_back(std::move(operand));
        if (is_op("(")) {
            int saved = args_seen_;
            args_seen_ = 0;
            call_args(*f);
            args_seen_ = saved;
        }
        return f;
    }

   private:
    ExprPtr test(ExprPtr operand) {
        int l = line();
        ++pos_;  // "is"
        auto t = make(ExprKind::Test, l);
        t->negated = accept_name("not");
        t->name = expect_name();
        t->kids.push_back(std::move(operand));
        if (is_op("(")) {
            int saved = args_seen_;
            args_seen_ = 0;
            call_args(*t);
            args_seen_ = saved;
        } else if (!done() && !is_name("else") && !is_name("or") && !is_name("and") &&
                   (toks_[pos_].type != TokType::Op || is_op("[") || is_op("{"))) {
            if (is_name("is")) fail_here("you cannot chain multiple tests with is");
            t->kids.push_back(postfix(primary()));
        }
        return t;
    }

    const std::vector<Token>& toks_;
    int line_;
    size_t pos_ = 0;
    int depth_ = 0;
    int args_seen_ = 0;
};

// Statements: walks the segments, one block tag at a time.
class StmtParser {
   public:
    explicit StmtParser(std::vector<Segment> segs) : segs_(std::move(segs)) {}

    Body parse_all() {
        std::string found;
        Body body = parse_body({}, found);
        if (!found.empty()) syntax_error(segs_[cur_].line, "unexpected '" + found + "'");
        return body;
    }

   private:
    // Parses nodes until a block tag named in `ends` (left unconsumed at cur_, its name in
    // `found`) or the end of input (found empty).
    Body parse_body(std::initializer_list<std::string_view> ends, std::string& found) {
        if (++depth_ > kMaxParseDepth) syntax_error(line(), "blocks nested too deeply");
        Body body;
        found.clear();
        while (cur_ < segs_.size()) {
            Segment& seg = segs_[cur_];
            if (seg.type == SegType::Text) {
                body.push_back(text_node(seg));
                ++cur_;
            } else if (seg.type == SegType::Var) {
                body.push_back(output_node(seg));
                ++cur_;
            } else {
                if (seg.tokens.empty() || seg.tokens[0].type != TokType::Name) {
                    syntax_error(seg.line, "expected a tag name");
                }
                const std::string& name = seg.tokens[0].text;
                for (auto e : ends) {
                    if (name == e) {
                        found = name;
                        --depth_;
                        return body;
                    }
                }
                body.push_back(statement(name));
            }
        }
        --depth_;
        return body;
    }

    int line() const { return cur_ < segs_.size() ? segs_[cur_].line : 0; }

    Node node(NodeKind kind) {
        Node n;
        n.kind = kind;
        n.line = line();
        return n;
    }

    Node text_node(Segment& seg) {
        Node n = node(NodeKind::Text);
        n.text = std::move(seg.text);
        return n;
    }

    Node output_node(const Segment& seg) {
        ExprParser p(seg.tokens, seg.line);
        Node n = node(NodeKind::Output);
        n.expr = p.tuple();
        p.expect_end();
        return n;
    }

    // Parses the tag at cur_ (whose first token is `name`), consuming it and its body.
    Node statement(const std::string& name) {
        if (name == "if") return if_node();
        if (name == "for") return for_node();
        if (name == "set") return set_node();
        if (name == "macro") return macro_node();
        if (name == "call") return call_node();
        if (name == "filter") return filter_node();
        if (name == "break" || name == "continue") {
            if (loop_depth_ == 0) syntax_error(line(), "'" + name + "' outside loop");
            Node n = node(name == "break" ? NodeKind::Break : NodeKind::Continue);
            tag_parser().expect_end();
            ++cur_;
            return n;
        }
        syntax_error(line(), "unknown tag '" + name + "'");
    }

    // A parser positioned after the tag name of the segment at cur_.
    ExprParser tag_parser() {
        ExprParser p(segs_[cur_].tokens, segs_[cur_].line);
        p.expect_name();
        return p;
    }

    void end_tag(const std::string& found, const char* want) {
        if (found != want) syntax_error(line(), std::string("missing '") + want + "'");
        tag_parser().expect_end();
        ++cur_;
    }

    Node if_node() {
        Node n = node(NodeKind::If);
        std::string found = "if";
        while (found == "if" || found == "elif") {
            ExprParser p = tag_parser();
            n.conditions.push_back(p.tuple());
            p.expect_end();
            ++cur_;
            n.branches.push_back(parse_body({"elif", "else", "endif"}, found));
        }
        if (found == "else") {
            tag_parser().expect_end();
            ++cur_;
            n.branches.push_back(parse_body({"endif"}, found));
        }
        end_tag(found, "endif");
        return n;
    }

    std::vector<std::string> targets(ExprParser& p) {
        std::vector<std::string> names;
        bool paren = p.accept_op("(");
        do {
            if (p.is_name("in") || p.is_op("=") || p.is_op(")")) break;
            names.push_back(p.expect_name());
            if (p.is_op(".") && names.size() == 1) {
                p.expect_op(".");
                names.back() += "." + p.expect_name();
            }
        } while (p.accept_op(","));
        if (paren) p.expect_op(")");
        if (names.empty()) p.fail_here("expected an assignment target");
        return names;
    }

    Node for_node() {
        Node n = node(NodeKind::For);
        ExprParser p = tag_parser();
        n.targets = targets(p);
        for (const auto& t : n.targets) {
            if (t.find('.') != std::string::npos) p.fail_here("can't assign to attribute in for");
        }
        if (!p.accept_name("in")) p.fail_here("expected 'in'");
        n.expr = p.tuple(false);
        if (p.accept_name("if")) n.filter = p.expression();
        if (p.is_name("recursive")) p.fail_here("recursive loops are not supported");
        p.expect_end();
        ++cur_;
        std::string found;
        ++loop_depth_;
        n.body = parse_body({"else", "endfor"}, found);
        --loop_depth_;
        if (found == "else") {
            tag_parser().expect_end();
            ++cur_;
            n.else_body = parse_body({"endfor"}, found);
        }
        end_tag(found, "endfor");
        return n;
    }

    Node set_node() {
        ExprParser p = tag_parser();
        std::vector<std::string> names = targets(p);
        if (p.accept_op("=")) {
            Node n = node(NodeKind::Set);
            n.targets = std::move(names);
            n.expr = p.tuple();
            p.expect_end();
            ++cur_;
            return n;
        }
        Node n = node(NodeKind::SetBlock);
        if (names.size() != 1 || names[0].find('.') != std::string::npos)
            p.fail_here("expected '='");
        n.targets = std::move(names);
        if (p.is_op("|")) n.filter = filter_chain(p);
        p.expect_end();
        ++cur_;
        std::string found;
        int saved = loop_depth_;
        n.body = parse_body({"endset"}, found);
        loop_depth_ = saved;
        end_tag(found, "endset");
        return n;
    }

    // "| f1(args) | f2" with no operand: applied to a block's output.
    ExprPtr filter_chain(ExprParser& p) {
        ExprPtr chain;
        while (p.accept_op("|")) chain = p.filter(std::move(chain));
        return chain;
    }

    void macro_params(ExprParser& p, MacroNode& m) {
        p.expect_op("(");
        while (!p.is_op(")")) {
            if (!m.params.empty()) p.expect_op(",");
            if (p.is_op(")")) break;
            m.params.push_back(p.expect_name());
            m.defaults.push_back(p.accept_op("=") ? p.expression() : nullptr);
        }
        p.expect_op(")");
    }

    Node macro_node() {
        Node n = node(NodeKind::Macro);
        n.macro = std::make_unique<MacroNode>();
        ExprParser p = tag_parser();
        n.macro->name = p.expect_name();
        n.macro->line = n.line;
        macro_params(p, *n.macro);
        p.expect_end();
        ++cur_;
        std::string found;
        int saved = loop_depth_;
        loop_depth_ = 0;
        n.macro->body = parse_body({"endmacro"}, found);
        loop_depth_ = saved;
        end_tag(found, "endmacro");
        return n;
    }

    Node call_node() {
        Node n = node(NodeKind::CallBlock);
        n.macro = std::make_unique<MacroNode>();
        n.macro->name = "caller";
        n.macro->line = n.line;
        ExprParser p = tag_parser();
        if (p.is_op("(")) macro_params(p, *n.macro);
        n.expr = p.expression();
        if (n.expr->kind != ExprKind::Call) p.fail_here("expected a call");
        p.expect_end();
        ++cur_;
        std::string found;
        int saved = loop_depth_;
        loop_depth_ = 0;
        n.macro->body = parse_body({"endcall"}, found);
        loop_depth_ = saved;
        end_tag(found, "endcall");
        return n;
    }

    Node filter_node() {
        Node n = node(NodeKind::FilterBlock);
        ExprParser p = tag_parser();
        ExprPtr chain = p.filter(nullptr);
        while (p.accept_op("|")) chain = p.filter(std::move(chain));
        n.filter = std::move(chain);
        p.expect_end();
        ++cur_;
        std::string found;
        n.body = parse_body({"endfilter"}, found);
        end_tag(found, "endfilter");
        return n;
    }

    std::vector<Segment> segs_;
    size_t cur_ = 0;
    int depth_ = 0;
    int loop_depth_ = 0;
};

}  // namespace

std::unique_ptr<Program> parse_program(std::string_view source) {
    auto program = std::make_unique<Program>();
    program->body = StmtParser(lex(source)).parse_all();
    return program;
}

}  // namespace hearth::text::tpl
