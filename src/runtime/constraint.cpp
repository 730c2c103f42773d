// Matching a compiled grammar byte by byte, and a vocabulary trie walked with the match state.
// A state is the set of parse stacks still alive (as llama.cpp's GBNF matcher keeps them); stacks
// are hash-consed linked nodes and whole states are interned, so each (state, byte) transition
// is computed once per match and then read from a table: walking the trie costs a table lookup
// per node visited, and a subtree is skipped at its first byte that cannot follow.
#include "runtime/constraint.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <unordered_map>

#include "runtime/constraint_grammar.h"

namespace hearth::runtime {

class MatchAutomaton {
   public:
    static constexpr int32_t kDead = 0;    // the state with no stack left
    static constexpr int32_t kBottom = 0;  // stack node id of the empty stack (match complete)

    explicit MatchAutomaton(std::shared_ptr<const GrammarData> g) : g_(std::move(g)) {
        nodes_.push_back({-1, -1});  // kBottom
        intern_state({});            // kDead
        std::vector<int32_t> init;
        for (int32_t start : g_->rule_alts[g_->root]) expand(start, kBottom, init);
        initial_ = intern_state(std::move(init));
    }

    int32_t initial() const { return initial_; }
    bool complete(int32_t s) const { return !states_[s].empty() && states_[s][0] == kBottom; }

    int32_t next(int32_t s, uint8_t byte) {
        int32_t& t = trans_[size_t(s) * 256 + byte];
        if (t >= 0) return t;
        std::vector<int32_t> out;
        for (int32_t id : states_[s]) {
            if (id == kBottom) continue;
            const Node n = nodes_[id];
            if (GrammarData::has(g_->sets[g_->symbols[n.pos]], byte))
                expand(n.pos + 1, n.parent, out);
        }
        const int32_t r = intern_state(std::move(out));
        trans_[size_t(s) * 256 + byte] = r;  // trans_ may have grown: index again
        return r;
    }

    bool can_continue(int32_t s) const {
        for (int32_t id : states_[s])
            if (id != kBottom) return true;
        return false;
    }

    std::vector<uint8_t> next_bytes(int32_t s) const {
        ByteSet any{};
        for (int32_t id : states_[s]) {
            if (id == kBottom) continue;
            const ByteSet& b = g_->sets[g_->symbols[nodes_[id].pos]];
            for (int w = 0; w < 4; ++w) any[w] |= b[w];
        }
        std::vector<uint8_t> out;
        for (int b = 0; b < 256; ++b)
            if (GrammarData::has(any, uint8_t(b))) out.push_back(uint8_t(b));
        return out;
    }

   private:
    struct Node {
        int32_t pos;     // next symbol of this stack frame
        int32_t parent;  // the frame to return to; kBottom at the bottom
    };

    int32_t intern_node(int32_t pos, int32_t parent) {
        const uint64_t key = (uint64_t(uint32_t(pos)) << 32) | uint32_t(parent);
        auto [it, fresh] = node_ids_.emplace(key, int32_t(nodes_.size()));
        if (fresh) nodes_.push_back({pos, parent});
        return it->second;
    }

    // Adds to `out` the stacks whose top is a byte set, reached from symbol `pos` with `parent`
    // below it. Returning from a rule whose call was the last symbol of its alternative reuses
    // the caller's parent (a tail call), so right recursion keeps stacks, and states, bounded.
    void expand(int32_t pos, int32_t parent, std::vector<int32_t>& out) {
        const int32_t sym = g_->symbols[pos];
        if (sym >= 0) {
            out.push_back(intern_node(pos, parent));
        } else if (sym == GrammarData::kEnd) {
            if (parent == kBottom)
                out.push_back(kBottom);
            else
                expand(nodes_[parent].pos, nodes_[parent].parent, out);
        } else {
            const int32_t cont =
                g_->symbols[pos + 1] == GrammarData::kEnd ? parent : intern_node(pos + 1, parent);
            for (int32_t start : g_->rule_alts[-sym - 2]) expand(start, cont, out);
        }
    }

    struct VecHash {
        size_t operator()(const std::vector<int32_t>& v) const {
            uint64_t h = 1469598103934665603ull;
            for (int32_t x : v) h = (h ^ uint32_t(x)) * 1099511628211ull;
            return size_t(h);
        }
    };

    int32_t intern_state(std::vector<int32_t> ids) {
        std::sort(ids.begin(), ids.end());
        ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
        auto [it, fresh] = state_ids_.emplace(ids, int32_t(states_.size()));
        if (fresh) {
            states_.push_back(std::move(ids));
            trans_.resize(states_.size() * 256, -1);
        }
        return it->second;
    }

    std::shared_ptr<const GrammarData> g_;
    std::vector<Node> nodes_;
    std::unordered_map<uint64_t, int32_t> node_ids_;
    std::vector<std::vector<int32_t>> states_;  // sorted stack node ids
    std::unordered_map<std::vector<int32_t>, int32_t, VecHash> state_ids_;
    std::vector<int32_t> trans_;  // (state, byte) -> state; -1 not computed yet
    int32_t initial_ = 0;
};

// ---- Constraint ---------------------------------------------------------------------------

size_t Constraint::n_rules() const { return data_->rule_alts.size(); }

Result<Constraint> Constraint::json_schema(const nlohmann::ordered_json& schema) {
    GrammarBuilder b;
    auto value = compile_json_schema(b, schema);
    if (!value.ok()) return value.status();
    const int32_t root = b.rule({{GrammarBuilder::ref(b.ws()), GrammarBuilder::ref(*value)}});
    auto g = b.finish(root);
    if (!g.ok()) return g.status();
    return Constraint(std::move(g.value()));
}

Constraint Constraint::any_json_object() {
    auto c = json_schema(nlohmann::ordered_json{{"type", "object"}});
    HEARTH_CHECK(c.ok());
    return std::move(c.value());
}

Constraint Constraint::literal(std::string_view text) {
    GrammarBuilder b;
    auto g = b.finish(b.rule({b.lit(text)}));
    HEARTH_CHECK(g.ok());
    return Constraint(std::move(g.value()));
}

Result<Constraint> Constraint::tool_calls(std::span<const Tool> tools, bool allow_several) {
    if (tools.empty()) return error("tool_calls: no tools to choose from");
    GrammarBuilder b;
    const int32_t call = b.new_rule();
    for (const Tool& t : tools) {
        if (t.name.empty()) return error("tool_calls: a tool has an empty name");
        const nlohmann::ordered_json schema =
            t.parameters.is_null() ? nlohmann::ordered_json{{"type", "object"}} : t.parameters;
        auto args = compile_json_schema(b, schema);
        if (!args.ok()) return error("tool '" + t.name + "' parameters: " + args.message());
        const std::string head =
            "<tool_call>\n{\"name\": " + nlohmann::ordered_json(t.name).dump() +
            ", \"arguments\": ";
        b.add(call, b.cat({b.lit(head), {GrammarBuilder::ref(*args)}, b.lit("}\n</tool_call>")}));
    }
    const int32_t root =
        b.repeat({GrammarBuilder::ref(call)}, b.lit("\n"), 1, allow_several ? -1 : 1);
    auto g = b.finish(root);
    if (!g.ok()) return g.status();
    return Constraint(std::move(g.value()));
}

Constraint Constraint::after_text_until(std::string_view stop) const {
    HEARTH_CHECK(!stop.empty());
    auto g = std::make_shared<GrammarData>(*data_);
    auto add_rule = [&](const std::vector<std::vector<int32_t>>& alts) {
        g->rule_alts.emplace_back();
        for (const auto& alt : alts) {
            g->rule_alts.back().push_back(int32_t(g->symbols.size()));
            g->symbols.insert(g->symbols.end(), alt.begin(), alt.end());
            g->symbols.push_back(GrammarData::kEnd);
        }
        return int32_t(g->rule_alts.size() - 1);
    };
    auto add_set = [&](const ByteSet& s) {
        g->sets.push_back(s);
        return int32_t(g->sets.size() - 1);
    };
    // After stop: whitespace, then the old root.
    ByteSet space{};
    for (uint8_t b : {' ', '\t', '\n'}) space[b >> 6] |= uint64_t{1} << (b & 63);
    const int32_t space_set = add_set(space);
    int32_t after = add_rule({{GrammarBuilder::ref(g->root)}});
    for (int k = 0; k < kMaxWhitespace; ++k)
        after =
            add_rule({{GrammarBuilder::ref(data_->root)}, {space_set, GrammarBuilder::ref(after)}});
    // Free text as the KMP automaton of stop: rule k = "k bytes of stop matched".
    const size_t m = stop.size();
    std::vector<size_t> fail(m + 1, 0);
    for (size_t i = 1, k = 0; i < m; ++i) {
        while (k > 0 && stop[i] != stop[k]) k = fail[k];
        if (stop[i] == stop[k]) ++k;
        fail[i + 1] = k;
    }
    const int32_t first = int32_t(g->rule_alts.size());
    for (size_t k = 0; k < m; ++k) {
        std::vector<ByteSet> to(m + 1, ByteSet{});  // bytes leading to each next state
        for (int c = 0; c < 256; ++c) {
            size_t j = k;
            while (j > 0 && uint8_t(stop[j]) != c) j = fail[j];
            if (uint8_t(stop[j]) == c) ++j;
            to[j][c >> 6] |= uint64_t{1} << (c & 63);
        }
        std::vector<std::vector<int32_t>> alts;
        for (size_t j = 0; j <= m; ++j) {
            if (to[j] == ByteSet{}) continue;
            const int32_t next = j == m ? after : first + int32_t(j);
            alts.push_back({add_set(to[j]), GrammarBuilder::ref(next)});
        }
        const int32_t rule = add_rule(alts);
        HEARTH_CHECK(rule == first + int32_t(k));
    }
    g->root = first;
    return Constraint(std::move(g));
}

// ---- Matcher ------------------------------------------------------------------------------

Matcher::Matcher(const Constraint& constraint)
    : automaton_(std::make_shared<MatchAutomaton>(constraint.grammar())),
      state_(automaton_->initial()) {}

bool Matcher::accept(std::string_view bytes) {
    int32_t s = state_;
    for (char c : bytes) {
        s = automaton_->next(s, uint8_t(c));
        if (s == MatchAutomaton::kDead) return false;
    }
    state_ = s;
    return true;
}

bool Matcher::can_accept(std::string_view bytes) const {
    Matcher copy = *this;
    return copy.accept(bytes);
}

bool Matcher::complete() const { return automaton_->complete(state_); }
bool Matcher::can_continue() const { return automaton_->can_continue(state_); }
std::vector<uint8_t> Matcher::next_bytes() const { return automaton_->next_bytes(state_); }

// ---- TokenIndex ---------------------------------------------------------------------------

std::shared_ptr<const TokenIndex> TokenIndex::build(const text::Tokenizer& tokenizer) {
    const int32_t n = tokenizer.n_vocab();
    std::vector<std::string> pieces(n);
    std::vector<bool> eog(n);
    for (int32_t id = 0; id < n; ++id) {
        pieces[id] = tokenizer.token_to_piece(id, false);
        eog[id] = tokenizer.is_eog(id);
    }
    return build(pieces, eog);
}

std::shared_ptr<const TokenIndex> TokenIndex::build(const std::vector<std::string>& pieces,
                                                    const std::vector<bool>& eog) {
    auto idx = std::make_shared<TokenIndex>();
    idx->pieces_ = pieces;
    idx->eog_ = eog;
    idx->eog_.resize(pieces.size(), false);
    std::vector<int32_t> order;
    for (int32_t id = 0; id < int32_t(pieces.size()); ++id)
        if (!pieces[id].empty() && !idx->eog_[id] && pieces[id].size() < 65535) order.push_back(id);
    std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
        return pieces[a] != pieces[b] ? pieces[a] < pieces[b] : a < b;
    });
    // Sorted pieces give the preorder directly: keep the path to the last piece, pop to the
    // common prefix with the next one (closing those subtrees), push the rest.
    auto& nodes = idx->nodes_;
    nodes.push_back({0, 0, 0, 0, 0});
    std::vector<uint32_t> path = {0};
    std::string_view prev;
    for (int32_t id : order) {
        const std::string_view p = pieces[id];
        size_t lcp = 0;
        while (lcp < p.size() && lcp < prev.size() && p[lcp] == prev[lcp]) ++lcp;
        while (path.size() > lcp + 1) {
            nodes[path.back()].skip = uint32_t(nodes.size());
            path.pop_back();
        }
        for (size_t d = lcp; d < p.size(); ++d) {
            const uint32_t at = uint32_t(idx->tokens_.size());
            nodes.push_back({0, at, at, uint16_t(d + 1), uint8_t(p[d])});
            path.push_back(uint32_t(nodes.size() - 1));
        }
        Node& end = nodes[path.back()];
        if (end.token_end != idx->tokens_.size())
            end.token_begin = end.token_end = uint32_t(idx->tokens_.size());
        idx->tokens_.push_back(id);
        ++end.token_end;
        idx->max_depth_ = std::max<uint16_t>(idx->max_depth_, uint16_t(p.size()));
        prev = p;
    }
    for (uint32_t k : path) nodes[k].skip = uint32_t(nodes.size());
    return idx;
}

// ---- TokenMatcher -------------------------------------------------------------------------

TokenMatcher::TokenMatcher(const Constraint& constraint, std::shared_ptr<const TokenIndex> index)
    : matcher_(constraint), index_(std::move(index)), walk_(index_->max_depth_ + 1u) {}

bool TokenMatcher::allows(int32_t token) const {
    if (token < 0 || token >= index_->n_vocab()) return false;
    if (index_->is_eog(token)) return matcher_.complete();
    const std::string& p = index_->piece(token);
    return !p.empty() && matcher_.can_accept(p);
}

bool TokenMatcher::accept(int32_t token) {
    if (!allows(token)) return false;
    if (index_->is_eog(token)) return true;
    return matcher_.accept(index_->piece(token));
}

int32_t TokenMatcher::mask(std::span<float> logits) const {
    const TokenIndex& idx = *index_;
    MatchAutomaton& a = *matcher_.automaton_;
    allowed_.assign(logits.size(), 0);
    walk_[0] = matcher_.state_;
    const auto& nodes = idx.nodes_;
    for (size_t k = 1; k < nodes.size();) {
        const TokenIndex::Node& n = nodes[k];
        const int32_t s = a.next(walk_[n.depth - 1], n.byte);
        if (s == MatchAutomaton::kDead) {
            k = n.skip;
            continue;
        }
        walk_[n.depth] = s;
        for (uint32_t t = n.token_begin; t < n.token_end; ++t) allowed_[idx.tokens_[t]] = 1;
        ++k;
    }
    if (matcher_.complete()) {
        for (int32_t id = 0; id < idx.n_vocab(); ++id)
            if (idx.is_eog(id)) allowed_[id] = 1;
    }
    int32_t n_allowed = 0;
    for (size_t i = 0; i < logits.size(); ++i) {
        if (allowed_[i])
            ++n_allowed;
        else
            logits[i] = -INFINITY;
    }
    return n_allowed;
}

}  // namespace hearth::runtime
