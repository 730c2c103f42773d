// GrammarBuilder: rules as alternatives of symbol runs, byte sets deduplicated, and the checks
// that make every state of the finished grammar able to complete.
#include "runtime/constraint_grammar.h"

#include <functional>

#include "runtime/constraint.h"

namespace hearth::runtime {

int32_t GrammarBuilder::new_rule() {
    rules_.emplace_back();
    return static_cast<int32_t>(rules_.size() - 1);
}

void GrammarBuilder::add(int32_t rule, Seq alt) { rules_[rule].push_back(std::move(alt)); }

int32_t GrammarBuilder::rule(std::vector<Seq> alts) {
    const int32_t r = new_rule();
    rules_[r] = std::move(alts);
    return r;
}

int32_t GrammarBuilder::set(const ByteSet& s) {
    auto [it, fresh] = set_ids_.emplace(s, static_cast<int32_t>(sets_.size()));
    if (fresh) sets_.push_back(s);
    return it->second;
}

int32_t GrammarBuilder::range(uint8_t lo, uint8_t hi) {
    ByteSet s{};
    for (int b = lo; b <= hi; ++b) s[b >> 6] |= uint64_t{1} << (b & 63);
    return set(s);
}

GrammarBuilder::Seq GrammarBuilder::lit(std::string_view text) {
    Seq out;
    for (char c : text) out.push_back(range(uint8_t(c), uint8_t(c)));
    return out;
}

GrammarBuilder::Seq GrammarBuilder::cat(std::initializer_list<Seq> parts) {
    Seq out;
    for (const Seq& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

int32_t GrammarBuilder::ws() {
    if (ws_rule_ >= 0) return ws_rule_;
    ByteSet s{};
    for (uint8_t b : {' ', '\t', '\n'}) s[b >> 6] |= uint64_t{1} << (b & 63);
    const int32_t space = set(s);
    int32_t r = rule({{}});  // ws_0: nothing
    for (int k = 1; k <= Constraint::kMaxWhitespace; ++k) r = rule({{}, {space, ref(r)}});
    return ws_rule_ = r;
}

int32_t GrammarBuilder::repeat(const Seq& elem, const Seq& sep, int64_t min, int64_t max) {
    if (max == 0) return rule({{}});
    // tail: up to `left` more "sep elem" (unbounded: a self-referencing rule).
    int32_t tail;
    const int64_t first = std::max<int64_t>(min, 1);
    if (max < 0) {
        tail = new_rule();
        add(tail, {});
        add(tail, cat({sep, elem, {ref(tail)}}));
    } else {
        tail = rule({{}});
        for (int64_t left = 1; left <= max - first; ++left)
            tail = rule({{}, cat({sep, elem, {ref(tail)}})});
    }
    Seq body = elem;
    for (int64_t i = 1; i < first; ++i) body = cat({body, sep, elem});
    body.push_back(ref(tail));
    if (min == 0) return rule({{}, body});
    return rule({body});
}

bool GrammarBuilder::prune_unproductive(int32_t root) {
    const size_t n = rules_.size();
    std::vector<bool> productive(n, false);
    auto alt_ok = [&](const Seq& alt) {
        for (int32_t s : alt)
            if (s < 0 && !productive[-s - 2]) return false;
        return true;
    };
    for (bool changed = true; changed;) {
        changed = false;
        for (size_t r = 0; r < n; ++r) {
            if (productive[r]) continue;
            for (const Seq& alt : rules_[r]) {
                if (alt_ok(alt)) {
                    productive[r] = changed = true;
                    break;
                }
            }
        }
    }
    if (!productive[root]) return false;
    for (auto& alts : rules_) std::erase_if(alts, [&](const Seq& a) { return !alt_ok(a); });
    return true;
}

bool GrammarBuilder::left_recursive() const {
    const size_t n = rules_.size();
    std::vector<bool> nullable(n, false);
    for (bool changed = true; changed;) {
        changed = false;
        for (size_t r = 0; r < n; ++r) {
            if (nullable[r]) continue;
            for (const Seq& alt : rules_[r]) {
                bool all = true;
                for (int32_t s : alt) all = all && s < 0 && nullable[-s - 2];
                if (all) {
                    nullable[r] = changed = true;
                    break;
                }
            }
        }
    }
    // A rule reachable from itself through nullable prefixes would expand forever.
    std::vector<int8_t> mark(n, 0);  // 0 new, 1 on the path, 2 done
    std::function<bool(size_t)> cyclic = [&](size_t r) {
        if (mark[r] != 0) return mark[r] == 1;
        mark[r] = 1;
        for (const Seq& alt : rules_[r]) {
            for (int32_t s : alt) {
                if (s >= 0) break;
                if (cyclic(size_t(-s - 2))) return true;
                if (!nullable[-s - 2]) break;
            }
        }
        mark[r] = 2;
        return false;
    };
    for (size_t r = 0; r < n; ++r)
        if (cyclic(r)) return true;
    return false;
}

Result<std::shared_ptr<const GrammarData>> GrammarBuilder::finish(int32_t root) {
    // Alternatives that use a rule deriving no finite text could never finish: drop them.
    if (!prune_unproductive(root)) return error("the schema admits no finite value");
    if (left_recursive()) return error("the schema refers to itself before any text ($ref cycle)");
    const size_t n = rules_.size();
    auto g = std::make_shared<GrammarData>();
    g->sets = sets_;
    g->root = root;
    g->rule_alts.resize(n);
    for (size_t r = 0; r < n; ++r) {
        for (const Seq& alt : rules_[r]) {
            g->rule_alts[r].push_back(static_cast<int32_t>(g->symbols.size()));
            g->symbols.insert(g->symbols.end(), alt.begin(), alt.end());
            g->symbols.push_back(GrammarData::kEnd);
        }
    }
    return std::shared_ptr<const GrammarData>(std::move(g));
}

}  // namespace hearth::runtime
