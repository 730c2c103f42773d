// runtime/chat.h: message normalization and its errors, rendering through the built-in and the
// Qwen3.6 templates, prefix stability across turns (what the prefix cache depends on), the
// parser options, and ChatReply built from parser events. Byte-for-byte comparisons of the
// built-in templates with Python Jinja2 live in tests/text/template_oracle.sh.
#include "runtime/chat.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "runtime/chat_templates.h"
#include "tiny_model.h"

namespace hearth::runtime {
namespace {

const text::Tokenizer& tokenizer() {
    static const auto reader = gguf::Reader::open(HEARTH_TEST_DATA "/golden/qwen3/qwen3-Q8_0.gguf");
    static const auto tok = text::Tokenizer::from_gguf(*reader);
    HEARTH_CHECK(tok.ok());
    return *tok;
}

ojson parse(const char* text) { return ojson::parse(text); }

std::string normalize_error(const char* messages) {
    auto r = normalize_messages(parse(messages));
    return r.ok() ? "(no error)" : r.message();
}

TEST(NormalizeMessages, Shapes) {
    auto r = normalize_messages(parse(R"([
        {"role": "developer", "content": [{"type": "text", "text": "Be "},
                                          {"type": "input_text", "text": "brief."}]},
        {"role": "user", "content": "hi", "name": "ann"},
        {"role": "assistant", "content": null, "reasoning_content": null, "tool_calls": [
            {"id": "c1", "type": "function",
             "function": {"name": "f", "arguments": "{\"a\": [1, 2]}"}},
            {"id": "c2", "type": "function", "function": {"name": "g", "arguments": "[1]"}},
            {"id": "c3", "type": "function", "function": {"name": "h", "arguments": ""}},
            {"id": "c4", "type": "function", "function": {"name": "k"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": [{"type": "output_text", "text": "ok"}]},
        {"role": "assistant"}])"));
    ASSERT_TRUE(r.ok()) << r.message();
    const ojson& m = *r;
    EXPECT_EQ(m[0]["role"], "system");
    EXPECT_EQ(m[0]["content"], "Be brief.");
    EXPECT_EQ(m[1]["name"], "ann");  // other fields pass through
    EXPECT_EQ(m[2]["content"], "");
    EXPECT_FALSE(m[2].contains("reasoning_content"));
    const ojson& calls = m[2]["tool_calls"];
    EXPECT_EQ(calls[0]["function"]["arguments"], parse(R"({"a": [1, 2]})"));
    EXPECT_EQ(calls[1]["function"]["arguments"], "[1]");  // not an object: kept as text
    EXPECT_EQ(calls[2]["function"]["arguments"], ojson::object());
    EXPECT_EQ(calls[3]["function"]["arguments"], ojson::object());
    EXPECT_EQ(m[3]["content"], "ok");
    EXPECT_EQ(m[4]["content"], "");
}

TEST(NormalizeMessages, Errors) {
    EXPECT_EQ(normalize_error(R"({"role": "user"})"), "messages: expected an array, got object");
    EXPECT_EQ(normalize_error("[]"), "messages: the array is empty");
    EXPECT_EQ(normalize_error(R"([{"role": "user", "content": "a"}, "b"])"),
              "messages[1]: expected an object, got string");
    EXPECT_EQ(normalize_error(R"([{"content": "a"}])"), "messages[0].role: expected a string");
    EXPECT_EQ(normalize_error(R"([{"role": "user", "content": "a"}, {"role": "robot"}])"),
              "messages[1].role: unknown role 'robot' (system, developer, user, assistant, tool)");
    EXPECT_EQ(normalize_error(R"([{"role": "user", "content": 5}])"),
              "messages[0].content: expected a string or an array of text parts, got number");
    EXPECT_EQ(
        normalize_error(R"([{"role": "user", "content": [{"type": "text", "text": "a"},
                                 {"type": "image_url", "image_url": {"url": "x"}}]}])"),
        "messages[0].content[1]: unsupported content part type 'image_url' (only text parts)");
    EXPECT_EQ(normalize_error(R"([{"role": "user", "content": [{"type": "text"}]}])"),
              "messages[0].content[0].text: expected a string");
    EXPECT_EQ(normalize_error(R"([{"role": "user", "content": "a"},
                                 {"role": "assistant", "tool_calls": {"name": "f"}}])"),
              "messages[1].tool_calls: expected an array, got object");
    EXPECT_EQ(normalize_error(R"([{"role": "user", "content": "a"},
                                 {"role": "assistant", "tool_calls": [{"function": {}}]}])"),
              "messages[1].tool_calls[0].function.name: expected a string");
    EXPECT_EQ(normalize_error(R"([{"role": "assistant", "reasoning_content": 3}])"),
              "messages[0].reasoning_content: expected a string, got number");
}

ChatFormat format_from(const std::string& source) {
    auto f = ChatFormat::from_source(source, tokenizer());
    HEARTH_CHECK(f.ok());
    return std::move(f.value());
}

TEST(ChatFormat, BuiltinTemplates) {
    for (const char* arch : {"qwen2", "qwen3", "qwen3moe", "qwen35", "qwen35moe", "llama"}) {
        const std::string src = builtin_chat_template(arch);
        ASSERT_FALSE(src.empty()) << arch;
        EXPECT_TRUE(text::ChatTemplate::parse(src).ok()) << arch;
    }
    EXPECT_EQ(builtin_chat_template("gpt2"), "");

    const ojson msgs =
        parse(R"([{"role": "system", "content": "S"}, {"role": "user", "content": "U"}])");
    auto qwen3 = format_from(builtin_chat_template("qwen3"));
    EXPECT_EQ(
        *qwen3.render(msgs, nullptr, {}),
        "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n");
    EXPECT_EQ(*qwen3.render(msgs, nullptr, {.enable_thinking = false}),
              "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n"
              "<|im_start|>assistant\n<think>\n\n</think>\n\n");
    auto qwen35 = format_from(builtin_chat_template("qwen35"));
    EXPECT_TRUE(qwen35.render(msgs, nullptr, {})->ends_with("<|im_start|>assistant\n<think>\n"));
    auto llama = format_from(builtin_chat_template("llama"));
    // bos_token is the tokenizer's BOS text (this test vocabulary names <|endoftext|>).
    EXPECT_EQ(*llama.render(msgs, nullptr, {.add_generation_prompt = false}),
              tokenizer().token_text(tokenizer().bos_id()) +
                  "<|start_header_id|>system<|end_header_id|>\n\nS<|eot_id|>"
                  "<|start_header_id|>user<|end_header_id|>\n\nU<|eot_id|>");
    // Tools appear only when given.
    const ojson tools = parse(R"([{"type": "function", "function": {"name": "f"}}])");
    EXPECT_NE(qwen3.render(msgs, tools, {})->find("<tools>\n{\"type\": \"function\""),
              std::string::npos);
}

Engine tiny_engine(const std::string& arch) { return tiny_engine(tiny_spec(arch, 2, false), 7, 1); }

TEST(ChatFormat, FromEngine) {
    // A file without tokenizer.chat_template gets the built-in template of its architecture.
    for (const char* arch : {"qwen3", "qwen35"}) {
        Engine e = tiny_engine(arch);
        auto f = ChatFormat::from_engine(e);
        ASSERT_TRUE(f.ok()) << f.message();
        EXPECT_TRUE(f->builtin());
        EXPECT_TRUE(f->supports_thinking());
        auto prompt = f->render(parse(R"([{"role": "user", "content": "hi"}])"), nullptr, {});
        ASSERT_TRUE(prompt.ok()) << prompt.message();
        EXPECT_EQ(f->parser_options(*prompt).thinking_open_at_start, std::string(arch) == "qwen35");
    }
    // The golden test model carries its own (a plain ChatML loop without thinking).
    auto e = load_engine(HEARTH_TEST_DATA "/golden/qwen3/qwen3-Q8_0.gguf", 1, true);
    ASSERT_TRUE(e.ok()) << e.message();
    auto f = ChatFormat::from_engine(*e);
    ASSERT_TRUE(f.ok()) << f.message();
    EXPECT_FALSE(f->builtin());
    EXPECT_FALSE(f->supports_thinking());
    auto prompt = f->render(parse(R"([{"role": "user", "content": "hi"}])"), nullptr, {});
    ASSERT_TRUE(prompt.ok());
    EXPECT_EQ(*prompt, "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n");
    // Special-token text becomes the special token.
    const std::vector<int32_t> ids = f->tokenize(*prompt);
    EXPECT_EQ(ids, e->tokenizer->encode(*prompt, true));
    EXPECT_EQ(e->tokenizer->token_text(ids[0]), "<|im_start|>");
}

TEST(ChatFormat, ParserOptions) {
    auto f = format_from("{{ 'x' }}");
    EXPECT_TRUE(f.parser_options("<|im_start|>assistant\n<think>\n").thinking_open_at_start);
    EXPECT_TRUE(f.parser_options("<|im_start|>assistant\n<think>").thinking_open_at_start);
    EXPECT_FALSE(f.parser_options("<|im_start|>assistant\n").thinking_open_at_start);
    EXPECT_FALSE(f.parser_options("<think>\n\n</think>\n\n").thinking_open_at_start);
    EXPECT_FALSE(f.supports_thinking());
    EXPECT_TRUE(format_from("{% if enable_thinking %}{% endif %}").supports_thinking());
}

TEST(ChatFormat, SyntaxErrorNamesTheLine) {
    auto f = ChatFormat::from_source("ok\n{% if %}", tokenizer());
    ASSERT_FALSE(f.ok());
    EXPECT_NE(f.message().find("line 2"), std::string::npos) << f.message();
}

// Feeds `output` to the parser in small pieces, as the generation loop would.
ChatReply parse_reply(const ChatFormat& f, const std::string& prompt, const std::string& output) {
    text::ChatOutputParser parser(f.parser_options(prompt));
    ChatReply reply;
    for (size_t i = 0; i < output.size(); i += 3) {
        for (const text::ChatEvent& e : parser.feed(output.substr(i, 3))) reply.add(e);
    }
    for (const text::ChatEvent& e : parser.finish()) reply.add(e);
    return reply;
}

TEST(ChatReply, FromParserEvents) {
    auto f = format_from("{{ 'x' }}");
    ChatReply r = parse_reply(
        f, "<|im_start|>assistant\n",
        "<think>\nLet me call.\n</think>\n\nCalling.\n<tool_call>\n{\"name\": \"read\", "
        "\"arguments\": {\"path\": \"a b\"}}\n</tool_call>\n<tool_call>\n<function=ls>\n"
        "<parameter=dir>\n/tmp\n</parameter>\n</function>\n</tool_call>");
    EXPECT_EQ(r.reasoning, "\nLet me call.\n");
    ASSERT_EQ(r.tool_calls.size(), 2u);
    EXPECT_EQ(r.tool_calls[0].name, "read");
    EXPECT_EQ(ojson::parse(r.tool_calls[0].arguments), parse(R"({"path": "a b"})"));
    EXPECT_EQ(r.tool_calls[1].name, "ls");
    EXPECT_EQ(ojson::parse(r.tool_calls[1].arguments), parse(R"({"dir": "/tmp"})"));
    const ojson m = r.to_message();
    EXPECT_EQ(m["role"], "assistant");
    EXPECT_EQ(m["content"], "Calling.");
    EXPECT_EQ(m["reasoning_content"], "Let me call.");
    EXPECT_EQ(m["tool_calls"][1]["id"], "call_1");
    EXPECT_EQ(m["tool_calls"][1]["type"], "function");
    EXPECT_EQ(m["tool_calls"][1]["function"]["name"], "ls");
    EXPECT_TRUE(m["tool_calls"][1]["function"]["arguments"].is_string());

    ChatReply plain = parse_reply(f, "x", "Just text.");
    const ojson p = plain.to_message();
    EXPECT_EQ(p, parse(R"({"role": "assistant", "content": "Just text."})"));
}

std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

const char* kTools = R"([{"type": "function", "function": {"name": "read_file",
    "description": "Read a file", "parameters": {"type": "object",
    "properties": {"path": {"type": "string"}, "lines": {"type": "integer"}}}}}])";

// A conversation of three model turns (a tool call, an answer after the tool result, an answer
// to a new question). Turn N+1's prompt must start with turn N's prompt + the model's output
// + the end-of-turn token: then the server's prefix cache reuses the whole previous turn.
// Returns the number of turns whose prefix held.
int prefix_stable_turns(const ChatFormat& f, const std::vector<std::string>& outputs,
                        const std::string& end_of_turn, bool preserve_thinking) {
    ojson messages = parse(R"([{"role": "system", "content": "You read files."},
                               {"role": "user", "content": "How long is main.cpp?"}])");
    const ojson tools = parse(kTools);
    const RenderOptions opt{.preserve_thinking = preserve_thinking};
    int stable = 0;
    for (size_t turn = 0; turn < outputs.size(); ++turn) {
        auto prompt = f.render(*normalize_messages(messages), tools, opt);
        HEARTH_CHECK(prompt.ok());
        messages.push_back(parse_reply(f, *prompt, outputs[turn]).to_message());
        if (turn == 0) {
            messages.push_back(parse(R"({"role": "tool", "tool_call_id": "call_0",
                                         "content": "int main() { return 0; }"})"));
        } else {
            messages.push_back(parse(R"({"role": "user", "content": "Thanks. And util.cpp?"})"));
        }
        auto next = f.render(*normalize_messages(messages), tools, opt);
        HEARTH_CHECK(next.ok());
        const std::string want = *prompt + outputs[turn] + end_of_turn;
        if (next->starts_with(want)) {
            ++stable;
        } else {
            ADD_FAILURE() << "turn " << turn << " not a prefix:\n--- want\n"
                          << want << "\n--- got\n"
                          << *next;
        }
    }
    return stable;
}

TEST(ChatFormat, PrefixStableQwen36PreserveThinking) {
    const std::string path = HEARTH_SHARED_DIR "/templates/qwen3.6.jinja";
    if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " not found";
    auto f = format_from(read_text(path));
    EXPECT_TRUE(f.supports_thinking());
    // The prompt ends inside "<think>\n", so the model's output starts with the reasoning.
    const std::vector<std::string> outputs = {
        "I should read the file.\n</think>\n\nLet me look.\n\n<tool_call>\n<function=read_file>\n"
        "<parameter=path>\nmain.cpp\n</parameter>\n<parameter=lines>\n20\n</parameter>\n"
        "</function>\n</tool_call>",
        "One line.\n</think>\n\nIt has one line: `int main() { return 0; }`.",
        "No tool needed.\n</think>\n\nI have not read util.cpp yet.",
    };
    EXPECT_EQ(prefix_stable_turns(f, outputs, "<|im_end|>", true), 3);
}

TEST(ChatFormat, PrefixStableBuiltin) {
    // Qwen3.5/3.6 style: the prompt opens <think>.
    auto qwen35 = format_from(builtin_chat_template("qwen35"));
    EXPECT_EQ(prefix_stable_turns(
                  qwen35,
                  {"Read it.\n</think>\n\nLooking.\n<tool_call>\n{\"name\": \"read_file\", "
                   "\"arguments\": {\"path\": \"main.cpp\", \"lines\": 20}}\n</tool_call>",
                   "Short.\n</think>\n\nOne line.", "Unknown.\n</think>\n\nNot read yet."},
                  "<|im_end|>", true),
              3);
    // Qwen3 style: the model opens <think> itself.
    auto qwen3 = format_from(builtin_chat_template("qwen3"));
    EXPECT_EQ(
        prefix_stable_turns(
            qwen3,
            {"<think>\nRead it.\n</think>\n\n<tool_call>\n{\"name\": \"read_file\", "
             "\"arguments\": {\"path\": \"main.cpp\"}}\n</tool_call>",
             "<think>\nShort.\n</think>\n\nOne line.", "<think>\n\n</think>\n\nNot read yet."},
            "<|im_end|>", true),
        3);
}

}  // namespace
}  // namespace hearth::runtime
