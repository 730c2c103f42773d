// The constraint matcher: hand-written strings accepted or rejected per schema keyword, bad
// schemas rejected at compile time, no dead ends (every reachable state can still complete), the
// vocabulary mask equal to token-by-token checks, and its speed on a 151k-token vocabulary.
#include "runtime/constraint.h"

#include <gtest/gtest.h>

#include <chrono>
#include <deque>
#include <random>
#include <unordered_set>

#include "gguf/reader.h"

namespace hearth::runtime {
namespace {

using ojson = nlohmann::ordered_json;

Constraint compile(const std::string& schema) {
    auto c = Constraint::json_schema(ojson::parse(schema));
    EXPECT_TRUE(c.ok()) << schema << ": " << c.message();
    return c.ok() ? std::move(c.value()) : Constraint::literal("");
}

// The whole text is a complete match.
bool matches(const Constraint& c, std::string_view text) {
    Matcher m(c);
    return m.accept(text) && m.complete();
}
// The text can start a match.
bool starts(const Constraint& c, std::string_view text) { return Matcher(c).accept(text); }

TEST(Constraint, Scalars) {
    const Constraint s = compile(R"({"type": "string"})");
    EXPECT_TRUE(matches(s, R"("abc")"));
    EXPECT_TRUE(matches(s, R"("a\"b\\c\n\u00e9")"));
    EXPECT_TRUE(matches(s, "\"h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80\""));
    EXPECT_TRUE(matches(s, R"(  "x")"));      // leading whitespace
    EXPECT_FALSE(matches(s, R"("\ud800")"));  // no surrogate escapes
    EXPECT_FALSE(starts(s, "\"\xff"));        // not UTF-8
    EXPECT_FALSE(starts(s, "\"\xc0\xaf"));    // overlong
    EXPECT_FALSE(starts(s, "\"a\nb"));        // raw control character
    EXPECT_FALSE(starts(s, "abc"));
    EXPECT_FALSE(matches(s, R"("abc)"));

    const Constraint i = compile(R"({"type": "integer"})");
    for (const char* ok : {"0", "-12", "1234567890123456"}) EXPECT_TRUE(matches(i, ok)) << ok;
    for (const char* bad : {"01", "1.5", "1e5", "+1", "12345678901234567", "-"})
        EXPECT_FALSE(matches(i, bad)) << bad;

    const Constraint n = compile(R"({"type": "number"})");
    for (const char* ok : {"0", "1.5", "-0.25e+10", "1E5", "3e-2"})
        EXPECT_TRUE(matches(n, ok)) << ok;
    for (const char* bad : {".5", "1.", "+1", "1e", "1e123", "0x1"})
        EXPECT_FALSE(matches(n, bad)) << bad;

    const Constraint b = compile(R"({"type": "boolean"})");
    EXPECT_TRUE(matches(b, "true"));
    EXPECT_TRUE(matches(b, "false"));
    EXPECT_FALSE(matches(b, "null"));
    EXPECT_TRUE(matches(compile(R"({"type": "null"})"), "null"));

    const Constraint pos = compile(R"({"type": "integer", "minimum": 1})");
    EXPECT_TRUE(matches(pos, "7"));
    EXPECT_FALSE(matches(pos, "0"));
    EXPECT_FALSE(matches(pos, "-3"));
    EXPECT_TRUE(matches(compile(R"({"type": "integer", "exclusiveMinimum": 0})"), "3"));
    EXPECT_FALSE(matches(compile(R"({"type": "integer", "exclusiveMinimum": 0})"), "0"));
    EXPECT_FALSE(matches(compile(R"({"type": "integer", "exclusiveMinimum": -1})"), "-1"));
    const Constraint nonneg = compile(R"({"type": "number", "minimum": 0})");
    EXPECT_TRUE(matches(nonneg, "0.5"));
    EXPECT_FALSE(matches(nonneg, "-0.5"));
}

TEST(Constraint, EnumConstTypeListsAndAlternatives) {
    const Constraint e = compile(R"({"enum": ["red", 1, null, {"a": [true]}]})");
    for (const char* ok : {R"("red")", "1", "null", R"({"a":[true]})"})
        EXPECT_TRUE(matches(e, ok)) << ok;
    EXPECT_FALSE(matches(e, R"("blue")"));
    EXPECT_FALSE(matches(e, "2"));
    // enum values of another type than the schema's are dropped
    const Constraint typed = compile(R"({"type": "string", "enum": ["a", 1]})");
    EXPECT_TRUE(matches(typed, R"("a")"));
    EXPECT_FALSE(matches(typed, "1"));
    EXPECT_TRUE(matches(compile(R"({"const": "only"})"), R"("only")"));
    EXPECT_FALSE(matches(compile(R"({"const": "only"})"), R"("other")"));

    const Constraint list = compile(R"({"type": ["string", "null"]})");
    EXPECT_TRUE(matches(list, R"("x")"));
    EXPECT_TRUE(matches(list, "null"));
    EXPECT_FALSE(matches(list, "1"));
    const Constraint nullable = compile(R"({"type": "integer", "nullable": true})");
    EXPECT_TRUE(matches(nullable, "null"));
    EXPECT_TRUE(matches(nullable, "5"));

    const Constraint any_of =
        compile(R"({"anyOf": [{"type": "integer"}, {"type": "string", "maxLength": 2}]})");
    EXPECT_TRUE(matches(any_of, "12"));
    EXPECT_TRUE(matches(any_of, R"("ab")"));
    EXPECT_FALSE(matches(any_of, R"("abc")"));
    EXPECT_FALSE(matches(any_of, "true"));
    const Constraint one_of = compile(R"({"oneOf": [{"type": "boolean"}, {"type": "null"}]})");
    EXPECT_TRUE(matches(one_of, "false"));
    EXPECT_TRUE(matches(one_of, "null"));
    // Ambiguous alternatives (two object shapes sharing a prefix) stay alive together.
    const Constraint shapes = compile(R"({"anyOf": [
        {"type": "object", "properties": {"k": {"const": 1}, "a": {"type": "integer"}}, "required": ["k", "a"]},
        {"type": "object", "properties": {"k": {"const": 1}, "b": {"type": "string"}}, "required": ["k", "b"]}]})");
    EXPECT_TRUE(matches(shapes, R"({"k": 1, "a": 2})"));
    EXPECT_TRUE(matches(shapes, R"({"k": 1, "b": "x"})"));
    EXPECT_FALSE(matches(shapes, R"({"k": 1, "b": 2})"));
}

TEST(Constraint, Objects) {
    const Constraint o = compile(R"({"type": "object", "properties": {
        "a": {"type": "integer"}, "b": {"type": "string"}, "c": {"type": "boolean"}}, "required": ["b"]})");
    EXPECT_TRUE(matches(o, R"({"b": "x"})"));
    EXPECT_TRUE(matches(o, R"({"a": 1, "b": "x"})"));
    EXPECT_TRUE(matches(o, R"({"a":1,"b":"x","c":true})"));
    EXPECT_TRUE(matches(o, R"({"b": "x", "c": false})"));
    EXPECT_TRUE(matches(o, "{\n  \"a\": 1,\n  \"b\": \"x\"\n}"));
    EXPECT_FALSE(matches(o, R"({"a": 1})"));  // b is required
    EXPECT_FALSE(matches(o, R"({})"));
    EXPECT_FALSE(matches(o, R"({"d": 1, "b": "x"})"));  // unknown property
    EXPECT_FALSE(matches(o, R"({"b": "x", "a": 1})"));  // declared order only
    EXPECT_FALSE(matches(o, R"({"a": 1,, "b": "x"})"));
    EXPECT_FALSE(matches(o, R"({"b": 1})"));

    const Constraint map =
        compile(R"({"type": "object", "additionalProperties": {"type": "integer"}})");
    EXPECT_TRUE(matches(map, R"({"x": 1, "y": 2})"));
    EXPECT_TRUE(matches(map, R"({})"));
    EXPECT_FALSE(matches(map, R"({"x": "s"})"));
    const Constraint closed = compile(R"({"type": "object", "additionalProperties": false})");
    EXPECT_TRUE(matches(closed, "{}"));
    EXPECT_FALSE(starts(closed, R"({")"));
    // required names without a property schema take additionalProperties' schema
    const Constraint req =
        compile(R"({"required": ["id"], "additionalProperties": {"type": "integer"}})");
    EXPECT_TRUE(matches(req, R"({"id": 3})"));
    EXPECT_FALSE(matches(req, R"({})"));

    const Constraint all_of = compile(R"({"allOf": [
        {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]},
        {"properties": {"b": {"type": "string"}}, "required": ["b"]}]})");
    EXPECT_TRUE(matches(all_of, R"({"a": 1, "b": "x"})"));
    EXPECT_FALSE(matches(all_of, R"({"a": 1})"));
    const Constraint tight =
        compile(R"({"allOf": [{"type": "string", "maxLength": 2, "enum": ["a", "bb", "ccc"]},
        {"maxLength": 5, "enum": ["bb", "ccc", "d"]}]})");
    EXPECT_TRUE(matches(tight, R"("bb")"));
    EXPECT_FALSE(matches(tight, R"("a")"));    // not in both enums
    EXPECT_FALSE(matches(tight, R"("ccc")"));  // longer than the tighter maxLength
}

TEST(Constraint, ArraysStringsAndWhitespace) {
    const Constraint a =
        compile(R"({"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": 3})");
    EXPECT_FALSE(matches(a, "[]"));
    EXPECT_TRUE(matches(a, "[1]"));
    EXPECT_TRUE(matches(a, "[1, 2,3 ]"));
    EXPECT_FALSE(matches(a, "[1,2,3,4]"));
    EXPECT_FALSE(matches(a, "[1,]"));
    EXPECT_TRUE(matches(compile(R"({"type": "array"})"), R"([1, "a", null, {"x": []}])"));

    const Constraint s = compile(R"({"type": "string", "minLength": 2, "maxLength": 3})");
    EXPECT_FALSE(matches(s, R"("a")"));
    EXPECT_TRUE(matches(s, R"("ab")"));
    EXPECT_TRUE(matches(s, "\"\xc3\xa9\xe2\x82\xac\""));  // two code points
    EXPECT_TRUE(matches(s, R"("\n\tx")"));
    EXPECT_FALSE(matches(s, R"("abcd")"));

    const Constraint any = compile("{}");
    EXPECT_TRUE(matches(any, R"({"a": [1, {"b": null}], "c": "d"})"));
    EXPECT_TRUE(matches(any, "[]"));
    EXPECT_TRUE(matches(any, "-1.5e3"));
    const std::string spaces(Constraint::kMaxWhitespace, ' ');
    EXPECT_TRUE(matches(any, "{" + spaces + "}"));
    EXPECT_FALSE(starts(any, "{" + spaces + " "));  // whitespace is bounded
    EXPECT_TRUE(matches(Constraint::any_json_object(), R"({"k": [1, 2]})"));
    EXPECT_FALSE(starts(Constraint::any_json_object(), "["));
}

TEST(Constraint, RefsAndRecursion) {
    const Constraint defs =
        compile(R"({"$defs": {"p": {"type": "object", "properties": {"x": {"type": "number"}},
        "required": ["x"]}}, "type": "array", "items": {"$ref": "#/$defs/p"}})");
    EXPECT_TRUE(matches(defs, R"([{"x": 1}, {"x": 2.5}])"));
    EXPECT_FALSE(matches(defs, R"([{"y": 1}])"));
    const Constraint old =
        compile(R"({"definitions": {"c": {"enum": ["r", "g"]}}, "$ref": "#/definitions/c"})");
    EXPECT_TRUE(matches(old, R"("g")"));
    const Constraint tree = compile(R"({"$defs": {"node": {"type": "object", "properties": {
        "v": {"type": "integer"}, "kids": {"type": "array", "items": {"$ref": "#/$defs/node"}}},
        "required": ["v"]}}, "$ref": "#/$defs/node"})");
    EXPECT_TRUE(
        matches(tree, R"({"v": 1, "kids": [{"v": 2}, {"v": 3, "kids": [{"v": 4, "kids": []}]}]})"));
    EXPECT_FALSE(matches(tree, R"({"v": 1, "kids": [{"kids": []}]})"));
}

TEST(Constraint, BadSchemasAreErrors) {
    for (const char* bad : {
             R"({"not": {"type": "string"}})",
             R"({"type": "integer", "minimum": 5})",
             R"({"type": "integer", "minimum": -5})",
             R"({"type": "number", "exclusiveMinimum": 0})",
             R"({"type": "number", "maximum": 5})",
             R"({"type": "integer", "multipleOf": 2})",
             R"({"type": "array", "uniqueItems": true})",
             R"({"type": "array", "items": [{"type": "string"}]})",
             R"({"type": "array", "minItems": 3, "maxItems": 2})",
             R"({"type": "array", "maxItems": 1000000000})",
             R"({"$ref": "#/$defs/missing"})",
             R"({"$ref": "https://example.com/schema.json"})",
             R"({"$ref": "#"})",
             R"({"$defs": {"n": {"type": "object", "properties": {"c": {"$ref": "#/$defs/n"}},
                 "required": ["c"]}}, "$ref": "#/$defs/n"})",
             R"({"type": "frob"})",
             R"({"type": "string", "enum": [1, 2]})",
             R"({"type": "object", "required": ["a"], "additionalProperties": false})",
             R"({"allOf": [{"type": "string"}, {"type": "integer"}]})",
             R"({"anyOf": []})",
             "false",
             "[1]",
         }) {
        auto c = Constraint::json_schema(ojson::parse(bad));
        EXPECT_FALSE(c.ok()) << bad;
        if (!c.ok()) {
            EXPECT_FALSE(c.message().empty());
        }
    }
    // Keywords of the wrong JSON type never throw: each schema compiles or gives an error.
    for (const char* odd : {
             R"({"nullable": "yes", "type": "string"})",
             R"({"required": 5})",
             R"({"properties": [], "type": "object"})",
             R"({"type": "array", "items": 3})",
             R"({"type": "array", "minItems": "2"})",
             R"({"enum": 3})",
             R"({"$ref": 5})",
             R"({"anyOf": {}})",
             R"({"type": 5})",
             R"({"type": "string", "maxLength": -1})",
             R"({"type": "integer", "minimum": "0"})",
             R"({"allOf": [1]})",
             R"({"$ref": "#/$defs/a~"})",
             R"({"properties": {"a": 1}})",
         }) {
        auto c = Constraint::json_schema(ojson::parse(odd));
        if (c.ok()) {
            EXPECT_TRUE(Matcher(*c).can_continue()) << odd;
        }
    }
    // Ignored on purpose: pattern and format (documented), annotations.
    EXPECT_TRUE(
        Constraint::json_schema(
            ojson::parse(
                R"({"type": "string", "pattern": "^a", "format": "date", "description": "d", "title": "t"})"))
            .ok());
    auto msg = Constraint::json_schema(ojson::parse(R"({"properties": {"a": {"not": {}}}})"));
    ASSERT_FALSE(msg.ok());
    EXPECT_NE(msg.message().find("properties.a"), std::string::npos) << msg.message();
}

TEST(Constraint, ToolCalls) {
    const std::vector<Constraint::Tool> tools = {
        {"get_weather",
         ojson::parse(R"({"type": "object", "properties": {"city": {"type": "string"}},
                                         "required": ["city"]})")},
        {"add", ojson::parse(R"({"type": "object", "properties": {"a": {"type": "integer"},
                                 "b": {"type": "integer"}}, "required": ["a", "b"]})")},
    };
    auto one = Constraint::tool_calls(tools, false);
    ASSERT_TRUE(one.ok()) << one.message();
    const std::string w =
        "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": "
        "\"Oslo\"}}\n</tool_call>";
    const std::string a =
        "<tool_call>\n{\"name\": \"add\", \"arguments\": {\"a\": 1, \"b\": 2}}\n</tool_call>";
    EXPECT_TRUE(matches(*one, w));
    EXPECT_TRUE(matches(*one, a));
    EXPECT_FALSE(matches(*one, w + "\n" + a));  // one call only
    EXPECT_FALSE(starts(*one, "<tool_call>\n{\"name\": \"sub\""));
    // Arguments follow the chosen tool's schema, not the other's.
    EXPECT_FALSE(starts(*one, "<tool_call>\n{\"name\": \"add\", \"arguments\": {\"city\""));
    EXPECT_FALSE(starts(*one, "Sure! <tool_call>"));
    auto several = Constraint::tool_calls(tools, true);
    ASSERT_TRUE(several.ok());
    EXPECT_TRUE(matches(*several, w + "\n" + a + "\n" + w));
    EXPECT_TRUE(matches(*several, a));

    std::vector<Constraint::Tool> bad = {
        {"f", ojson::parse(R"({"type": "integer", "maximum": 3})")}};
    auto e = Constraint::tool_calls(bad, false);
    ASSERT_FALSE(e.ok());
    EXPECT_NE(e.message().find("tool 'f'"), std::string::npos) << e.message();
    EXPECT_FALSE(Constraint::tool_calls({}, false).ok());
    // No parameters: any object.
    std::vector<Constraint::Tool> bare = {{"ping", ojson()}};
    EXPECT_TRUE(matches(*Constraint::tool_calls(bare, false),
                        "<tool_call>\n{\"name\": \"ping\", \"arguments\": {}}\n</tool_call>"));
}

TEST(Constraint, FreeTextBeforeTheConstrainedPart) {
    const Constraint c = compile(R"({"type": "object", "properties": {"a": {"type": "integer"}},
        "required": ["a"]})")
                             .after_text_until("</think>");
    EXPECT_TRUE(matches(c, "Let me think. <b>a</b> </thi </think>\n\n{\"a\": 1}"));
    EXPECT_TRUE(matches(c, "<</think>{\"a\": 2}"));  // overlapping prefix of the stop text
    EXPECT_TRUE(matches(c, "</think>{\"a\": 3}"));
    EXPECT_FALSE(starts(c, "x</think>\n\nSure"));
    EXPECT_FALSE(matches(c, "no stop {\"a\": 1}"));
    EXPECT_FALSE(
        starts(c, "a</think>" + std::string(2 * Constraint::kMaxWhitespace + 1,
                                            ' ')));  // bounded (the JSON root allows its own)
    Matcher m(c);
    EXPECT_TRUE(m.accept("thinking, no end yet {\"a\": 1}"));
    EXPECT_FALSE(m.complete());
    EXPECT_TRUE(m.accept("</think>"));
    EXPECT_FALSE(m.accept("</think>"));  // the first stop ends the free text
    auto tools = Constraint::tool_calls(
        std::vector<Constraint::Tool>{{"f", ojson::parse(R"({"type": "object"})")}}, false);
    ASSERT_TRUE(tools.ok());
    EXPECT_TRUE(
        matches(tools->after_text_until("</think>"),
                "hmm</think>\n\n<tool_call>\n{\"name\": \"f\", \"arguments\": {}}\n</tool_call>"));
}

// Shortest completion from m by breadth-first search over bytes; false if none is found.
bool can_complete(const Matcher& start, size_t max_visits) {
    std::deque<std::pair<Matcher, int>> queue = {{start, 0}};
    std::unordered_set<int32_t> seen;
    for (size_t visits = 0; !queue.empty() && visits < max_visits; ++visits) {
        auto [m, depth] = queue.front();
        queue.pop_front();
        if (m.complete()) return true;
        if (!seen.insert(m.state_id()).second) continue;
        for (uint8_t b : m.next_bytes()) {
            Matcher next = m;
            EXPECT_TRUE(next.accept(std::string(1, char(b))));
            queue.push_back({next, depth + 1});
        }
    }
    return false;
}

TEST(Constraint, NoDeadEnds) {
    const std::vector<std::string> schemas = {
        "{}",
        R"({"type": "object", "properties": {"a": {"type": "array", "items": {"type": "string"},
            "minItems": 2, "maxItems": 4}, "b": {"enum": ["x", "yy", 3]}, "c": {"type": "number"}},
            "required": ["a", "c"]})",
        R"({"$defs": {"n": {"type": "object", "properties": {"v": {"type": "integer"}, "k": {"type": "array",
            "items": {"$ref": "#/$defs/n"}}}, "required": ["v", "k"]}}, "$ref": "#/$defs/n"})",
        R"({"anyOf": [{"type": "string", "minLength": 3, "maxLength": 5}, {"type": "integer", "minimum": 1},
            {"type": "object", "properties": {"q": {"type": ["boolean", "null"]}}, "required": ["q"]}]})",
    };
    std::mt19937 rng(5);
    for (const std::string& text : schemas) {
        const Constraint c = compile(text);
        for (int walk = 0; walk < 40; ++walk) {
            Matcher m(c);
            const int steps = int(rng() % 120);
            for (int i = 0; i < steps && m.can_continue(); ++i) {
                const auto next = m.next_bytes();
                ASSERT_FALSE(next.empty());
                // Prefer structure over string filler so walks go deep.
                uint8_t b = next[rng() % next.size()];
                for (uint8_t x : next)
                    if (std::string_view("{[\"],}:0123456789tfn").find(char(x)) !=
                            std::string_view::npos &&
                        rng() % 3 == 0)
                        b = x;
                ASSERT_TRUE(m.accept(std::string(1, char(b))));
            }
            EXPECT_TRUE(can_complete(m, 200000)) << text << " after walk " << walk;
        }
    }
}

// Pieces shaped like a byte-level BPE vocabulary: every byte, then words with and without a
// leading space, punctuation runs, digits, whitespace runs and multi-byte characters.
std::vector<std::string> synthetic_vocab(size_t n) {
    std::vector<std::string> v;
    for (int b = 0; b < 256; ++b) v.push_back(std::string(1, char(b)));
    std::mt19937 rng(11);
    const std::string letters = "etaoinshrdlcumwfgypbvkjxqz";
    const std::vector<std::string> punct = {"\"", "\":", "\",", "{\"", "},", "\":\"", "[", "]",
                                            "\n", "  ",  "\\n", ".",   ", ", "()",    "=>"};
    const std::vector<std::string> utf8 = {"\xc3\xa9", "\xe4\xb8\xad", "\xe6\x96\x87", "\xd0\xb0",
                                           "\xf0\x9f\x98\x80"};
    while (v.size() < n) {
        std::string p;
        switch (rng() % 8) {
            case 0:
                p = std::to_string(rng() % 1000);
                break;
            case 1:
                p = std::string(1 + rng() % 16, rng() % 2 ? ' ' : '\n');
                break;
            case 2:
                p = punct[rng() % punct.size()] + punct[rng() % punct.size()];
                break;
            case 3:
                for (int i = 0; i < 1 + int(rng() % 3); ++i) p += utf8[rng() % utf8.size()];
                break;
            default:
                if (rng() % 2) p = " ";
                for (int i = 0, len = 2 + int(rng() % 8); i < len; ++i) p += letters[rng() % 26];
                if (rng() % 6 == 0) p += punct[rng() % punct.size()];
        }
        v.push_back(p);
    }
    return v;
}

TEST(TokenMatcher, MaskAgreesWithAllowsAndIsFast) {
    const auto pieces = synthetic_vocab(151643);
    std::vector<bool> eog(pieces.size() + 3, false);
    std::vector<std::string> all = pieces;
    for (const char* special : {"", "", ""}) all.push_back(special);  // control tokens: no piece
    eog[all.size() - 1] = true;
    const auto t_build = std::chrono::steady_clock::now();
    const auto index = TokenIndex::build(all, eog);
    const double build_ms =
        1000.0 * std::chrono::duration<double>(std::chrono::steady_clock::now() - t_build).count();
    const Constraint c = compile(R"({"type": "object", "properties": {"name": {"type": "string"},
        "n": {"type": "integer"}, "tags": {"type": "array", "items": {"enum": ["a", "bc"]}}},
        "required": ["name", "n", "tags"]})");
    TokenMatcher tm(c, index);
    const std::string out =
        "{\"name\": \"Ada \xc3\xa9 Lovelace\", \"n\": 1815, \"tags\": [\"a\", \"bc\"]}";
    std::vector<float> logits(all.size());
    double seconds = 0, slowest = 0;
    int n_masks = 0;
    size_t pos = 0;
    std::mt19937 rng(3);
    while (true) {
        std::fill(logits.begin(), logits.end(), 0.0f);
        const auto t0 = std::chrono::steady_clock::now();
        const int32_t n_allowed = tm.mask(logits);
        const double dt =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        seconds += dt;
        slowest = std::max(slowest, dt);
        ++n_masks;
        int32_t counted = 0;
        for (int32_t id = 0; id < int32_t(all.size()); ++id) {
            const bool allowed = logits[id] == 0.0f;
            counted += allowed;
            if (allowed != tm.allows(id))
                FAIL() << "token " << id << " '" << all[id] << "' at byte " << pos;
        }
        EXPECT_EQ(counted, n_allowed);
        if (pos == out.size()) {
            EXPECT_TRUE(tm.complete());
            EXPECT_EQ(n_allowed, 1);  // only end of generation
            EXPECT_TRUE(tm.allows(int32_t(all.size() - 1)));
            break;
        }
        EXPECT_FALSE(tm.allows(int32_t(all.size() - 1)));
        // Advance by the longest single-byte-or-more piece that matches the text (greedy).
        int32_t best = -1;
        for (int32_t id = 0; id < int32_t(pieces.size()); ++id) {
            const std::string& p = pieces[id];
            if (!p.empty() && out.compare(pos, p.size(), p) == 0 &&
                (best < 0 || p.size() > pieces[best].size()))
                best = id;
        }
        ASSERT_GE(best, 0);
        ASSERT_TRUE(tm.accept(best)) << "'" << pieces[best] << "' at byte " << pos;
        pos += pieces[best].size();
    }
    std::printf(
        "mask over a %zu-token vocabulary: %.3f ms per token on average, %.3f ms at most "
        "(%d masks); trie built in %.0f ms\n",
        all.size(), 1000.0 * seconds / n_masks, 1000.0 * slowest, n_masks, build_ms);
}

// A real SentencePiece vocabulary (byte-fallback tokens, "▁" for spaces): the trie walk agrees
// with token-by-token checks in every state along a document.
TEST(TokenMatcher, RealVocabularyMaskAgreesWithAllows) {
    const std::string path =
        std::string(HEARTH_SHARED_DIR) + "/golden/tokenizer/llama-spm/ggml-vocab-llama-spm.gguf";
    auto reader = gguf::Reader::open(path);
    if (!reader.ok()) GTEST_SKIP() << "no " << path;
    auto tok = text::Tokenizer::from_gguf(*reader);
    ASSERT_TRUE(tok.ok()) << tok.message();
    const auto index = TokenIndex::build(*tok);
    const Constraint c = compile(R"({"type": "object", "properties": {"title": {"type": "string"},
        "year": {"type": "integer"}}, "required": ["title", "year"]})");
    TokenMatcher tm(c, index);
    const std::string out = "{\"title\": \"Caf\xc3\xa9 \\\"Z\\\"\", \"year\": 1999}";
    std::vector<float> logits(tok->n_vocab());
    for (size_t pos = 0;;) {
        std::fill(logits.begin(), logits.end(), 0.0f);
        tm.mask(logits);
        for (int32_t id = 0; id < tok->n_vocab(); ++id)
            ASSERT_EQ(logits[id] == 0.0f, tm.allows(id)) << "token " << id << " at byte " << pos;
        if (pos == out.size()) break;
        // Advance by the longest allowed piece that the document continues with.
        int32_t best = -1;
        for (int32_t id = 0; id < tok->n_vocab(); ++id) {
            const std::string& p = index->piece(id);
            if (!p.empty() && out.compare(pos, p.size(), p) == 0 && tm.allows(id) &&
                (best < 0 || p.size() > index->piece(best).size()))
                best = id;
        }
        ASSERT_GE(best, 0) << "at byte " << pos;
        ASSERT_TRUE(tm.accept(best));
        pos += index->piece(best).size();
    }
    EXPECT_TRUE(tm.complete());
}

}  // namespace
}  // namespace hearth::runtime
