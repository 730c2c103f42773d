// ChatOutputParser: reasoning/content split, JSON and XML tool calls, split-point invariance of
// streaming, and graceful degradation of malformed output to Content.

#include "text/chat_output.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace hearth::text {
namespace {

using Kind = ChatEvent::Kind;

// Merges adjacent text deltas of the same kind and tool index, so streams compare by content.
std::vector<ChatEvent> merged(const std::vector<ChatEvent>& events) {
    std::vector<ChatEvent> out;
    for (const ChatEvent& e : events) {
        bool text =
            e.kind == Kind::Reasoning || e.kind == Kind::Content || e.kind == Kind::ToolCallArgs;
        if (text && !out.empty() && out.back().kind == e.kind &&
            out.back().tool_index == e.tool_index) {
            out.back().text += e.text;
        } else {
            out.push_back(e);
        }
    }
    return out;
}

std::vector<ChatEvent> run_pieces(const std::vector<std::string>& pieces, bool open = false) {
    ChatOutputParser parser({.thinking_open_at_start = open});
    std::vector<ChatEvent> all;
    for (const std::string& p : pieces) {
        for (ChatEvent& e : parser.feed(p)) all.push_back(std::move(e));
    }
    for (ChatEvent& e : parser.finish()) all.push_back(std::move(e));
    return merged(all);
}

std::vector<ChatEvent> run(const std::string& text, bool open = false) {
    return run_pieces({text}, open);
}

std::string describe(const std::vector<ChatEvent>& events) {
    static const char* kNames[] = {"R", "C", "Start", "Args", "End"};
    std::string s;
    for (const ChatEvent& e : events) {
        s += std::string(kNames[static_cast<int>(e.kind)]) + "[" + std::to_string(e.tool_index) +
             "](" + e.text + ") ";
    }
    return s;
}

ChatEvent ev(Kind kind, std::string text, int index = -1) {
    return ChatEvent{.kind = kind, .text = std::move(text), .tool_index = index};
}

void expect_events(const std::vector<ChatEvent>& got, const std::vector<ChatEvent>& want) {
    EXPECT_TRUE(got == want) << "got:  " << describe(got) << "\nwant: " << describe(want);
}

// Every two-piece split, char-by-char and random chunks all equal one-shot feeding.
void expect_split_invariant(const std::string& text, bool open) {
    std::vector<ChatEvent> want = run(text, open);
    for (size_t i = 0; i <= text.size(); ++i) {
        std::vector<ChatEvent> got = run_pieces({text.substr(0, i), text.substr(i)}, open);
        ASSERT_TRUE(got == want) << "split at " << i << "\ngot:  " << describe(got)
                                 << "\nwant: " << describe(want);
    }
    std::vector<std::string> chars;
    for (char c : text) chars.emplace_back(1, c);
    expect_events(run_pieces(chars, open), want);
    std::mt19937 rng(1234);
    for (int trial = 0; trial < 50; ++trial) {
        std::vector<std::string> pieces;
        for (size_t pos = 0; pos < text.size();) {
            size_t n = std::uniform_int_distribution<size_t>(1, 7)(rng);
            pieces.push_back(text.substr(pos, n));
            pos += n;
        }
        ASSERT_TRUE(run_pieces(pieces, open) == want) << "trial " << trial;
    }
}

// All characters of a malformed output come back, in order, as Reasoning + Content text.
std::string all_text(const std::vector<ChatEvent>& events) {
    std::string s;
    for (const ChatEvent& e : events) {
        EXPECT_TRUE(e.kind == Kind::Content || e.kind == Kind::Reasoning) << describe(events);
        s += e.text;
    }
    return s;
}

TEST(ChatOutput, ReasoningOpenAtStart) {
    expect_events(
        run("Let me think.\n</think>\n\nThe answer is 4.", true),
        {ev(Kind::Reasoning, "Let me think.\n"), ev(Kind::Content, "\n\nThe answer is 4.")});
}

TEST(ChatOutput, ReasoningOpenedByModel) {
    expect_events(run("<think>\nhmm\n</think>\n\nHi!"),
                  {ev(Kind::Reasoning, "\nhmm\n"), ev(Kind::Content, "\n\nHi!")});
}

TEST(ChatOutput, NoReasoning) {
    expect_events(run("Just an answer."), {ev(Kind::Content, "Just an answer.")});
    // Unclosed reasoning stays reasoning.
    expect_events(run("still thinking", true), {ev(Kind::Reasoning, "still thinking")});
}

TEST(ChatOutput, SplitTagsAreHeldBackOnlyAsLongAsNeeded) {
    ChatOutputParser parser({.thinking_open_at_start = true});
    expect_events(parser.feed("abc</thi"), {ev(Kind::Reasoning, "abc")});
    expect_events(parser.feed("nk>x<"), {ev(Kind::Content, "x")});
    expect_events(parser.feed("b"), {ev(Kind::Content, "<b")});
    expect_events(parser.finish(), {});
}

// Output a grammar constrains from its first byte (no reasoning part): think tags inside it,
// such as a JSON string a random model filled with them, stay content; tool calls still parse.
TEST(ChatOutput, WithoutReasoningThinkTagsAreContent) {
    for (bool open : {false, true}) {
        ChatOutputParser parser({.thinking_open_at_start = open, .no_reasoning = true});
        const std::string json = R"({"a": "x<think>y</think>z"})";
        std::vector<ChatEvent> all = parser.feed(json + "<tool_call>\n{\"name\": \"f\", \"arguments\": {}}\n</tool_call>");
        for (ChatEvent& e : parser.finish()) all.push_back(std::move(e));
        const std::vector<ChatEvent> events = merged(all);
        ASSERT_GE(events.size(), 2u) << describe(events);
        EXPECT_EQ(events[0], ev(Kind::Content, json)) << describe(events);
        EXPECT_EQ(events[1], ev(Kind::ToolCallStart, "f", 0)) << describe(events);
    }
}

TEST(ChatOutput, AngleBracketsPassThrough) {
    std::string text = "if (a < b && c<d) { x <<= 1; } <div>html</div> <tool <think_";
    expect_events(run(text), {ev(Kind::Content, text)});
    expect_split_invariant(text, false);
    // A stray </think> in content and <think> after reasoning ended are content.
    expect_events(run("r</think>a</think>b<think>c", true),
                  {ev(Kind::Reasoning, "r"), ev(Kind::Content, "a</think>b<think>c")});
    // A trailing partial tag is flushed at the end.
    expect_events(run("x </tool_ca"), {ev(Kind::Content, "x </tool_ca")});
    expect_events(run("x <tool_ca"), {ev(Kind::Content, "x <tool_ca")});
}

TEST(ChatOutput, JsonToolCall) {
    std::string text =
        "<think>\nneed weather\n</think>\n\n<tool_call>\n"
        "{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"days\": 3}}\n"
        "</tool_call>";
    expect_events(run(text), {ev(Kind::Reasoning, "\nneed weather\n"), ev(Kind::Content, "\n\n"),
                              ev(Kind::ToolCallStart, "get_weather", 0),
                              ev(Kind::ToolCallArgs, R"({"city":"Paris","days":3})", 0),
                              ev(Kind::ToolCallEnd, "", 0)});
    expect_split_invariant(text, false);
}

TEST(ChatOutput, TwoJsonToolCalls) {
    std::string text =
        "<tool_call>\n{\"name\": \"a\", \"arguments\": {}}\n</tool_call>\n"
        "<tool_call>\n{\"name\": \"b\", \"arguments\": {\"x\": [1, 2]}}\n</tool_call>";
    expect_events(
        run(text),
        {ev(Kind::ToolCallStart, "a", 0), ev(Kind::ToolCallArgs, "{}", 0),
         ev(Kind::ToolCallEnd, "", 0), ev(Kind::Content, "\n"), ev(Kind::ToolCallStart, "b", 1),
         ev(Kind::ToolCallArgs, R"({"x":[1,2]})", 1), ev(Kind::ToolCallEnd, "", 1)});
    expect_split_invariant(text, false);
}

const std::string kXmlCall =
    "I'll write it.\n<tool_call>\n<function=write_file>\n"
    "<parameter=path>\nsrc/a.py\n</parameter>\n"
    "<parameter=content>\ndef f():\n    return 1 < 2\n\n</parameter>\n"
    "<parameter=mode>\n420\n</parameter>\n"
    "<parameter=opts>\n{\"force\": true, \"tags\": [\"x\"]}\n</parameter>\n"
    "</function>\n</tool_call>";

TEST(ChatOutput, XmlToolCall) {
    std::vector<ChatEvent> got = run(kXmlCall);
    expect_events(got,
                  {ev(Kind::Content, "I'll write it.\n"), ev(Kind::ToolCallStart, "write_file", 0),
                   ev(Kind::ToolCallArgs,
                      R"({"path":"src/a.py","content":"def f():\n    return 1 < 2\n",)"
                      R"("mode":420,"opts":{"force":true,"tags":["x"]}})",
                      0),
                   ev(Kind::ToolCallEnd, "", 0)});
    expect_split_invariant(kXmlCall, false);
}

TEST(ChatOutput, XmlToolCallStreamsPerParameter) {
    ChatOutputParser parser({});
    expect_events(parser.feed("<tool_call>\n<function=f"), {});
    expect_events(parser.feed(">\n<parameter=a>\n"), {ev(Kind::ToolCallStart, "f", 0)});
    expect_events(parser.feed("true\n</parameter>\n"), {ev(Kind::ToolCallArgs, R"({"a":true)", 0)});
    expect_events(parser.feed("<parameter=b>\nnull\n</parameter>\n</function>"),
                  {ev(Kind::ToolCallArgs, R"(,"b":null})", 0), ev(Kind::ToolCallEnd, "", 0)});
    expect_events(parser.feed("\n</tool_call>\nDone."), {ev(Kind::Content, "\nDone.")});
    expect_events(parser.finish(), {});
}

TEST(ChatOutput, TwoXmlCallsAndNoParameters) {
    std::string text =
        "<tool_call>\n<function=ls>\n</function>\n</tool_call>\n"
        "<tool_call>\n<function=cat>\n<parameter=file>\n\"quoted\"\n</parameter>\n"
        "</function>\n</tool_call>";
    expect_events(
        run(text),
        {ev(Kind::ToolCallStart, "ls", 0), ev(Kind::ToolCallArgs, "{}", 0),
         ev(Kind::ToolCallEnd, "", 0), ev(Kind::Content, "\n"), ev(Kind::ToolCallStart, "cat", 1),
         ev(Kind::ToolCallArgs, R"({"file":"\"quoted\""})", 1), ev(Kind::ToolCallEnd, "", 1)});
    expect_split_invariant(text, false);
}

TEST(ChatOutput, ToolCallInsideThinking) {
    std::string text =
        "I should call it.\n<tool_call>\n<function=f>\n<parameter=x>\n1.5\n</parameter>\n"
        "</function>\n</tool_call>";
    expect_events(run(text, true),
                  {ev(Kind::Reasoning, "I should call it.\n"), ev(Kind::ToolCallStart, "f", 0),
                   ev(Kind::ToolCallArgs, R"({"x":1.5})", 0), ev(Kind::ToolCallEnd, "", 0)});
    expect_split_invariant(text, true);
}

TEST(ChatOutput, MalformedDegradesToContent) {
    const std::vector<std::string> cases = {
        "a<tool_call>\n{\"name\": \"f\", \"arguments\": {\"x\": 1}",  // unterminated JSON call
        "a<tool_call>\n{\"name\": \"f\", \"arguments\": {bad}}\n</tool_call>b",  // bad JSON
        "a<tool_call>\n[1, 2]\n</tool_call>b",               // JSON but not a call
        "a<tool_call>\n{\"arguments\": {}}\n</tool_call>b",  // no name
        "a<tool_call>\nhello there\n</tool_call>b",          // neither form
        "a<tool_call>\nhello there",                         // neither form, unterminated
        "a<tool_call>\n<function=f",                         // unterminated header
        "a<tool_call>\n<function=f\nx>\n</tool_call>b",      // broken header
        "a<tool_call>\n",                                    // nothing after the tag
        "a<tool_call>\n<functi",                             // partial header at the end
    };
    for (const std::string& text : cases) {
        EXPECT_EQ(all_text(run(text)), text) << text;
        expect_split_invariant(text, false);
    }
}

TEST(ChatOutput, UnterminatedXmlCallIsClosed) {
    // Once <function=NAME> is complete the call is committed; the end closes it.
    std::string text = "<tool_call>\n<function=f>\n<parameter=a>\nline1\nline2";
    expect_events(run(text), {ev(Kind::ToolCallStart, "f", 0),
                              ev(Kind::ToolCallArgs, R"({"a":"line1\nline2"})", 0),
                              ev(Kind::ToolCallEnd, "", 0)});
    expect_split_invariant(text, false);
    // Stray text between parameters and a missing </tool_call> are kept as content.
    std::string stray = "<tool_call>\n<function=f>\noops <x\n</function>\nAfter.";
    expect_events(run(stray), {ev(Kind::ToolCallStart, "f", 0), ev(Kind::Content, "\noops <x"),
                               ev(Kind::ToolCallArgs, "{}", 0), ev(Kind::ToolCallEnd, "", 0),
                               ev(Kind::Content, "\nAfter.")});
    expect_split_invariant(stray, false);
}

TEST(ChatOutput, MissingParameterCloseIsTolerated) {
    std::string text = "<tool_call>\n<function=f>\n<parameter=a>\n7\n</function>\n</tool_call>";
    expect_events(run(text),
                  {ev(Kind::ToolCallStart, "f", 0), ev(Kind::ToolCallArgs, R"({"a":7})", 0),
                   ev(Kind::ToolCallEnd, "", 0)});
    expect_split_invariant(text, false);
}

TEST(ChatOutput, RandomTagSoupIsSplitInvariant) {
    const std::vector<std::string> atoms = {"<tool_call>",
                                            "</tool_call>",
                                            "<function=f>",
                                            "<parameter=a>",
                                            "</parameter>",
                                            "</function>",
                                            "<think>",
                                            "</think>",
                                            "\n",
                                            "x",
                                            "<",
                                            "{",
                                            "}",
                                            "1",
                                            " ",
                                            "\"name\": \"g\"",
                                            "<function=",
                                            "</tool_",
                                            "<parameter="};
    std::mt19937 rng(42);
    for (int i = 0; i < 100; ++i) {
        std::string text;
        int n = std::uniform_int_distribution<int>(1, 20)(rng);
        for (int k = 0; k < n; ++k) {
            text += atoms[std::uniform_int_distribution<size_t>(0, atoms.size() - 1)(rng)];
        }
        SCOPED_TRACE(text);
        expect_split_invariant(text, i % 2 == 0);
    }
}

}  // namespace
}  // namespace hearth::text
