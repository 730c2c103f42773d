// Constrained generation end to end on the golden qwen3 model (random weights: unconstrained, its
// output is noise): at temperature 1, every output under a schema parses and validates, checked
// by a small validator written here, independent of the matcher; forced tool calls parse with
// the chat output parser into an allowed name with valid arguments.
#include <gtest/gtest.h>

#include "runtime/constraint.h"
#include "runtime/engine.h"
#include "runtime/generate.h"
#include "text/chat_output.h"

namespace hearth::runtime {
namespace {

using ojson = nlohmann::ordered_json;

size_t utf8_length(const std::string& s) {
    size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80;
    return n;
}

// Validates v against the keywords the tests use; an independent reading of JSON Schema.
bool valid(const ojson& v, const ojson& s, const ojson& root) {
    if (s.is_boolean()) return s.get<bool>();
    if (s.contains("$ref")) {
        const std::string ref = s["$ref"];
        return valid(v, root.at(ojson::json_pointer(ref.substr(1))), root);
    }
    if (s.contains("type")) {
        const ojson types = s["type"].is_array() ? s["type"] : ojson::array({s["type"]});
        bool any = false;
        for (const auto& t : types) {
            const std::string n = t;
            any = any || (n == "object" && v.is_object()) || (n == "array" && v.is_array()) ||
                  (n == "string" && v.is_string()) || (n == "boolean" && v.is_boolean()) ||
                  (n == "null" && v.is_null()) || (n == "number" && v.is_number()) ||
                  (n == "integer" && v.is_number_integer());
        }
        if (!any) return false;
    }
    if (s.contains("const") && v != s["const"]) return false;
    if (s.contains("enum") && std::find(s["enum"].begin(), s["enum"].end(), v) == s["enum"].end())
        return false;
    if (s.contains("anyOf")) {
        bool any = false;
        for (const auto& sub : s["anyOf"]) any = any || valid(v, sub, root);
        if (!any) return false;
    }
    if (s.contains("allOf"))
        for (const auto& sub : s["allOf"])
            if (!valid(v, sub, root)) return false;
    if (v.is_number() && s.contains("minimum") && v.get<double>() < s["minimum"].get<double>())
        return false;
    if (v.is_string()) {
        const size_t n = utf8_length(v.get<std::string>());
        if (s.contains("minLength") && n < s["minLength"].get<size_t>()) return false;
        if (s.contains("maxLength") && n > s["maxLength"].get<size_t>()) return false;
    }
    if (v.is_array()) {
        if (s.contains("minItems") && v.size() < s["minItems"].get<size_t>()) return false;
        if (s.contains("maxItems") && v.size() > s["maxItems"].get<size_t>()) return false;
        if (s.contains("items"))
            for (const auto& x : v)
                if (!valid(x, s["items"], root)) return false;
    }
    if (v.is_object()) {
        if (s.contains("required"))
            for (const auto& r : s["required"])
                if (!v.contains(r.get<std::string>())) return false;
        for (const auto& [k, x] : v.items()) {
            if (s.contains("properties") && s["properties"].contains(k)) {
                if (!valid(x, s["properties"][k], root)) return false;
            } else if (s.contains("additionalProperties") &&
                       !valid(x, s["additionalProperties"], root)) {
                return false;
            }
        }
    }
    return true;
}

class ConstrainedGeneration : public ::testing::Test {
   protected:
    static void SetUpTestSuite() {
        auto e =
            load_engine(std::string(HEARTH_TEST_DATA) + "/golden/qwen3/qwen3-Q8_0.gguf", 2, true);
        ASSERT_TRUE(e.ok()) << e.message();
        engine_ = new Engine(std::move(e.value()));
        index_ = TokenIndex::build(*engine_->tokenizer);
    }
    static void TearDownTestSuite() {
        delete engine_;
        engine_ = nullptr;
        index_.reset();
    }

    static std::string run(const Constraint& c, uint64_t seed, GenerateStats* stats_out = nullptr) {
        const auto prompt =
            engine_->tokenizer->encode("<|im_start|>user\nGive me JSON<|im_end|>\n", true);
        auto state = engine_->model->new_state(2048);
        GenerateParams p;
        p.n_predict = 1500;
        p.sampling.temperature = 1.0f;
        p.sampling.seed = seed;
        p.constraint = std::make_shared<const Constraint>(c);
        p.token_index = index_;
        std::string text;
        auto st = generate(*engine_->model, *state, *engine_->tokenizer, prompt, p,
                           [&](std::string_view s) {
                               text += s;
                               return true;
                           });
        EXPECT_TRUE(st.ok()) << st.message();
        if (st.ok()) {
            if (!stats_out) {  // callers that pass stats judge completeness themselves
                EXPECT_TRUE(st->constraint_complete) << "seed " << seed << ": " << text;
                EXPECT_TRUE(st->stopped_by_eog);
            }
            if (stats_out) *stats_out = *st;
        }
        return text;
    }

    static Engine* engine_;
    static std::shared_ptr<const TokenIndex> index_;
};

Engine* ConstrainedGeneration::engine_ = nullptr;
std::shared_ptr<const TokenIndex> ConstrainedGeneration::index_;

TEST_F(ConstrainedGeneration, OutputsValidateAgainstTheirSchemas) {
    const std::vector<std::string> schemas = {
        R"({"type": "object", "properties": {"name": {"type": "string", "maxLength": 12},
            "age": {"type": "integer", "minimum": 0}, "ok": {"type": "boolean"}}, "required": ["name", "age"]})",
        R"({"type": "array", "items": {"enum": ["red", "green", 7, null]}, "minItems": 2, "maxItems": 5})",
        R"({"type": "object", "properties": {"point": {"$ref": "#/$defs/p"}, "tags": {"type": "array",
            "items": {"type": "string", "maxLength": 4}, "maxItems": 3}}, "required": ["point"],
            "$defs": {"p": {"type": "object", "properties": {"x": {"type": "number"}, "y": {"type": "number"}},
            "required": ["x", "y"]}}})",
        R"({"anyOf": [{"type": "integer"}, {"type": "object", "properties": {"v": {"type": ["string", "null"],
            "maxLength": 6}}, "required": ["v"]}]})",
        R"({"type": "array", "items": {"type": "integer"}, "maxItems": 4})",
        R"({"allOf": [{"type": "object", "properties": {"a": {"const": "x"}}, "required": ["a"]},
            {"properties": {"b": {"type": "string", "minLength": 1, "maxLength": 3}}, "required": ["b"]}]})",
    };
    int64_t masked = 0;
    for (const std::string& text : schemas) {
        const ojson schema = ojson::parse(text);
        auto c = Constraint::json_schema(schema);
        ASSERT_TRUE(c.ok()) << c.message();
        for (uint64_t seed = 1; seed <= 4; ++seed) {
            GenerateStats st;
            const std::string out = run(*c, seed, &st);
            masked += st.n_masked;
            EXPECT_TRUE(st.constraint_complete && st.stopped_by_eog)
                << text << " seed " << seed << ": " << out;
            const ojson v = ojson::parse(out, nullptr, false);
            ASSERT_FALSE(v.is_discarded()) << text << " seed " << seed << ": " << out;
            EXPECT_TRUE(valid(v, schema, schema)) << text << " seed " << seed << ": " << out;
        }
    }
    EXPECT_GT(masked, 0);  // the constraint did the work, not luck
    // json_object mode: an object. Free-form keys and strings let a random model ramble past
    // the token budget, so only the outputs that completed are parsed (at least some must;
    // which seeds complete changes with the last bits of the logits, so enough are tried).
    int n_complete = 0;
    for (uint64_t seed = 1; seed <= 16; ++seed) {
        GenerateStats st;
        const std::string out = run(Constraint::any_json_object(), seed, &st);
        if (!st.constraint_complete) continue;
        ++n_complete;
        const ojson v = ojson::parse(out, nullptr, false);
        EXPECT_TRUE(v.is_object()) << out;
    }
    EXPECT_GT(n_complete, 0);
}

TEST_F(ConstrainedGeneration, ForcedToolCallsParseIntoAllowedCalls) {
    const std::vector<Constraint::Tool> tools = {
        {"get_weather", ojson::parse(R"({"type": "object", "properties": {"city": {"type": "string",
            "maxLength": 10}, "unit": {"enum": ["c", "f"]}}, "required": ["city"]})")},
        {"add", ojson::parse(R"({"type": "object", "properties": {"a": {"type": "integer"},
            "b": {"type": "integer"}}, "required": ["a", "b"]})")},
    };
    for (bool several : {false, true}) {
        auto c = Constraint::tool_calls(tools, several);
        ASSERT_TRUE(c.ok()) << c.message();
        for (uint64_t seed = 1; seed <= 4; ++seed) {
            const std::string out = run(*c, seed);
            text::ChatOutputParser parser({});
            auto events = parser.feed(out);
            for (auto& e : parser.finish()) events.push_back(e);
            std::vector<std::pair<std::string, std::string>> calls;  // name, arguments
            for (const auto& e : events) {
                // Only the line breaks between calls may come out as content.
                if (e.kind == text::ChatEvent::Kind::Content) {
                    EXPECT_EQ(e.text.find_first_not_of(" \n"), std::string::npos)
                        << "[" << e.text << "] in " << out;
                }
                if (e.kind == text::ChatEvent::Kind::ToolCallStart) calls.push_back({e.text, ""});
                if (e.kind == text::ChatEvent::Kind::ToolCallArgs) calls.back().second += e.text;
            }
            ASSERT_FALSE(calls.empty()) << out;
            if (!several) {
                EXPECT_EQ(calls.size(), 1u) << out;
            }
            for (const auto& [name, args] : calls) {
                auto tool = std::find_if(tools.begin(), tools.end(),
                                         [&](const auto& t) { return t.name == name; });
                ASSERT_NE(tool, tools.end()) << name;
                const ojson v = ojson::parse(args, nullptr, false);
                ASSERT_FALSE(v.is_discarded()) << args;
                EXPECT_TRUE(valid(v, tool->parameters, tool->parameters)) << name << " " << args;
            }
        }
    }
}

}  // namespace
}  // namespace hearth::runtime
