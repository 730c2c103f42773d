// The compiled form of a Constraint (a context-free grammar over bytes) and the builder the
// schema compiler writes it with. Internal to runtime/constraint*.cpp.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace hearth::runtime {

using ByteSet = std::array<uint64_t, 4>;  // bit b set: byte b matches

// Rules are lists of alternatives; an alternative is a run of symbols in `symbols` ending in
// kEnd. A symbol >= 0 is an index into `sets` (one byte from that set), kEnd ends the
// alternative, and s <= -2 refers to rule -s - 2. Every rule derives some finite text and none is
// left-recursive (GrammarBuilder::finish checks both), so every reachable state can complete.
struct GrammarData {
    static constexpr int32_t kEnd = -1;
    std::vector<int32_t> symbols;
    std::vector<ByteSet> sets;
    std::vector<std::vector<int32_t>> rule_alts;  // start positions in symbols, per rule
    int32_t root = 0;

    static bool has(const ByteSet& s, uint8_t b) { return (s[b >> 6] >> (b & 63)) & 1; }
};

class GrammarBuilder {
   public:
    using Seq = std::vector<int32_t>;

    static int32_t ref(int32_t rule) { return -rule - 2; }
    int32_t new_rule();
    void add(int32_t rule, Seq alt);
    int32_t rule(std::vector<Seq> alts);  // a new rule with these alternatives

    int32_t set(const ByteSet& s);
    int32_t range(uint8_t lo, uint8_t hi);
    Seq lit(std::string_view text);
    static Seq cat(std::initializer_list<Seq> parts);

    // Up to kMaxWhitespace bytes of ' ', '\t', '\n' (one shared rule).
    int32_t ws();
    // elem (sep elem)* with a count in [min, max]; max < 0: unbounded.
    int32_t repeat(const Seq& elem, const Seq& sep, int64_t min, int64_t max);

    // Drops alternatives that can never finish, then checks the root still derives something
    // and that no rule can reach itself before consuming a byte.
    Result<std::shared_ptr<const GrammarData>> finish(int32_t root);

   private:
    bool prune_unproductive(int32_t root);  // false: the root derives nothing finite
    bool left_recursive() const;

    std::vector<std::vector<Seq>> rules_;
    std::vector<ByteSet> sets_;
    std::map<ByteSet, int32_t> set_ids_;
    int32_t ws_rule_ = -1;
};

// Adds the rules for JSON values valid against `schema` ($refs resolve inside it) to b; returns
// the rule. Errors name the schema location ("properties.a.items: ...").
Result<int32_t> compile_json_schema(GrammarBuilder& b, const nlohmann::ordered_json& schema);

}  // namespace hearth::runtime
