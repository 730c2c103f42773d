// Streaming parser of a Qwen3-family model's chat output: splits reasoning from content and turns
// <tool_call> blocks (JSON or Qwen3-Coder XML form) into tool-call events. Never fails: anything
// it cannot parse comes back as Content. Does not know token ids or tool schemas.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace hearth::text {

struct ChatEvent {
    enum class Kind { Reasoning, Content, ToolCallStart, ToolCallArgs, ToolCallEnd };
    Kind kind = Kind::Content;
    std::string text;     // delta text; the tool name for ToolCallStart; empty for ToolCallEnd
    int tool_index = -1;  // 0, 1, 2... for tool-call events; -1 otherwise

    bool operator==(const ChatEvent&) const = default;
};

class ChatOutputParser {
   public:
    struct Options {
        bool thinking_open_at_start = false;  // the prompt ended with "<think>\n" (Qwen3.5/3.6)
        // No reasoning part: <think> in the output is text (output a grammar constrains from
        // its first byte, where such a tag can only be inside a JSON string).
        bool no_reasoning = false;
    };

    explicit ChatOutputParser(Options options);

    // Feeds the next piece of output. Holds back only a possible tag prefix at the end, so the
    // events of all pieces plus finish() concatenate to the same thing whatever the split.
    // Adjacent text events of the same kind within one call are merged.
    std::vector<ChatEvent> feed(std::string_view text_piece);

    // End of output: flushes held text and closes or degrades an unterminated tool call.
    std::vector<ChatEvent> finish();

   private:
    enum class Mode {
        Reasoning,     // inside <think>
        Content,       // plain answer text
        CallStart,     // after <tool_call>, before we know the form
        CallJson,      // {"name": ..., "arguments": ...} buffered until </tool_call>
        CallRaw,       // unrecognised tool call body, buffered and then emitted as Content
        CallFunction,  // inside <function=NAME>, between parameters
        CallValue,     // inside <parameter=KEY>
        CallAfter,     // after </function>, expecting </tool_call>
    };

    bool step(bool at_end);
    bool step_text(bool at_end);
    bool step_call_start(bool at_end);
    bool step_call_buffered(bool at_end);
    bool step_function(bool at_end);
    bool step_value(bool at_end);
    bool step_after(bool at_end);

    size_t scan(const std::vector<std::string_view>& tags, int* hit, bool at_end) const;
    void emit(ChatEvent::Kind kind, std::string_view text, int tool_index = -1);
    void emit_json_call(std::string_view body);
    void finish_param();
    void close_call();
    void degrade_call();

    Mode mode_;
    bool think_seen_;        // a reasoning block was opened or closed; <think> no longer special
    std::string buf_;        // input not consumed yet
    std::string call_raw_;   // raw text of a tool call not committed yet (for degrading)
    std::string param_key_;  // the open <parameter=KEY>
    std::string param_value_;
    int n_params_ = 0;  // parameters emitted for the current XML call
    int n_calls_ = 0;   // tool calls started so far
    std::vector<ChatEvent> out_;
};

}  // namespace hearth::text
