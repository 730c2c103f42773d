// Constrained decoding: a byte-level grammar of literals and JSON values shaped by a JSON Schema
// subset, compiled once, matched with a cheap copyable state, and applied to a logits row through
// a byte trie of the vocabulary. Does not sample and does not know chat templates.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "text/tokenizer.h"

namespace hearth::runtime {

struct GrammarData;    // the compiled grammar (constraint_grammar.h)
class MatchAutomaton;  // per-match cache of interned states and byte transitions

// A compiled grammar; immutable, cheap to copy, safe to share across threads.
//
// JSON Schema subset: type (one or a list), nullable, const, enum, anyOf, oneOf (treated as
// anyOf), allOf (merged: properties, required, type intersected), $ref to any "#/..." pointer
// (recursion allowed), object (properties, required, additionalProperties), array (items,
// minItems, maxItems), string (minLength, maxLength), number and integer (JSON syntax, at most
// 16 integer and 16 fraction digits; minimum 0/1 for integers and 0 for numbers), boolean, null,
// {} or true for any value. Objects emit their properties in declared order (required ones always,
// optional ones may be skipped) and no others when properties are given. pattern and format are
// ignored. Keywords that would make the output invalid if ignored (other minimum/maximum forms,
// multipleOf, uniqueItems, not, if, prefixItems, patternProperties, ...) are compile errors.
// Between JSON tokens at most kMaxWhitespace whitespace bytes are allowed; strings without
// maxLength and nesting stay unbounded (the token budget bounds them).
class Constraint {
   public:
    static constexpr int kMaxWhitespace = 20;

    // Any JSON value valid against `schema` (with optional leading whitespace).
    static Result<Constraint> json_schema(const nlohmann::ordered_json& schema);
    // Any JSON object (response_format json_object).
    static Constraint any_json_object();

    struct Tool {
        std::string name;
        nlohmann::ordered_json parameters;  // JSON Schema of the arguments; null: any object
    };
    // <tool_call>\n{"name": "NAME", "arguments": ARGS}\n</tool_call> where NAME is one of the
    // tools' names and ARGS follows that tool's schema; with allow_several, one or more such
    // blocks separated by "\n". Errors name the tool whose schema is bad.
    static Result<Constraint> tool_calls(std::span<const Tool> tools, bool allow_several);

    // A fixed text (tests, and prefixes such as "<think>\n\n</think>\n\n" a caller may want).
    static Constraint literal(std::string_view text);

    // This grammar after free text that runs to the first `stop` and up to kMaxWhitespace
    // whitespace bytes: for a prompt that leaves the model reasoning, stop = "</think>".
    Constraint after_text_until(std::string_view stop) const;

    const std::shared_ptr<const GrammarData>& grammar() const { return data_; }
    size_t n_rules() const;

   private:
    explicit Constraint(std::shared_ptr<const GrammarData> data) : data_(std::move(data)) {}
    std::shared_ptr<const GrammarData> data_;
};

// Where a match stands: a state id plus a shared pointer to the match's cache of states and
// transitions, so copies are cheap. The cache is not thread-safe: a Matcher and its copies
// belong to one thread (one request).
class Matcher {
   public:
    explicit Matcher(const Constraint& constraint);

    // Advances over bytes; false (and the state unchanged) when they cannot continue the match.
    bool accept(std::string_view bytes);
    // Whether accept(bytes) would succeed, without advancing.
    bool can_accept(std::string_view bytes) const;
    // The bytes so far form a complete match (generation may end here).
    bool complete() const;
    // Some byte can still extend the match.
    bool can_continue() const;
    // Bytes that can come next (for tests and random walks).
    std::vector<uint8_t> next_bytes() const;
    // Equal ids, equal states (within this match and its copies); for searches in tests.
    int32_t state_id() const { return state_; }

   private:
    friend class TokenMatcher;
    std::shared_ptr<MatchAutomaton> automaton_;
    int32_t state_;
};

// A byte trie of a tokenizer's vocabulary (token pieces as generation emits them), built once
// per tokenizer and read-only afterwards: share it across requests and threads.
class TokenIndex {
   public:
    static std::shared_ptr<const TokenIndex> build(const text::Tokenizer& tokenizer);
    // From explicit pieces (tests, synthetic vocabularies); eog[i] marks end-of-generation ids.
    static std::shared_ptr<const TokenIndex> build(const std::vector<std::string>& pieces,
                                                   const std::vector<bool>& eog);

    int32_t n_vocab() const { return static_cast<int32_t>(pieces_.size()); }
    bool is_eog(int32_t id) const { return eog_[id]; }
    const std::string& piece(int32_t id) const { return pieces_[id]; }

   private:
    friend class TokenMatcher;
    // Preorder layout: a node's children follow it; skip is the index just past its subtree.
    struct Node {
        uint32_t skip;
        uint32_t token_begin;  // range in tokens_ of the ids whose piece ends at this node
        uint32_t token_end;
        uint16_t depth;  // bytes from the root (the root is depth 0)
        uint8_t byte;    // the edge into this node
    };
    std::vector<std::string> pieces_;
    std::vector<bool> eog_;
    std::vector<Node> nodes_;
    std::vector<int32_t> tokens_;
    uint16_t max_depth_ = 0;
};

// Token-level matching for one generation. The cheap path is allows(): sample first, and mask()
// (a walk of the trie that skips every subtree at its first byte that cannot follow) only when
// the drawn token is rejected; generate() does exactly that.
class TokenMatcher {
   public:
    TokenMatcher(const Constraint& constraint, std::shared_ptr<const TokenIndex> index);

    // Whether the token may come next: an end-of-generation token only when the match is
    // complete; any other token when its bytes continue the match (empty pieces never).
    bool allows(int32_t token) const;
    // Sets every disallowed logit to -INFINITY (ids past the tokenizer's vocabulary included, for
    // models with a padded output row); returns how many tokens stay allowed.
    int32_t mask(std::span<float> logits) const;
    // Advances over a token; false when it is not allowed (the state is unchanged).
    bool accept(int32_t token);
    bool complete() const { return matcher_.complete(); }
    bool can_continue() const { return matcher_.can_continue(); }

   private:
    Matcher matcher_;
    std::shared_ptr<const TokenIndex> index_;
    mutable std::vector<int32_t> walk_;     // state per trie depth during mask()
    mutable std::vector<uint8_t> allowed_;  // (n_vocab) scratch of mask()
};

}  // namespace hearth::runtime
