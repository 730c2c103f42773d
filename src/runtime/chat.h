// Conversations in and out of the model: OpenAI-shaped messages rendered through the model's
// chat template into prompt tokens, and the model's output parsed back into reasoning, content
// and tool calls. Shared by `hearth chat` and `hearth serve`.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "runtime/engine.h"
#include "text/chat_output.h"
#include "text/template.h"

namespace hearth::runtime {

using ojson = nlohmann::ordered_json;

// Turns a messages array into the form every template expects, or says what is wrong with it
// (the error names the message index and field):
//   - content given as an array of parts: the "text" parts ({"type":"text"|"input_text"|
//     "output_text", "text":...}) joined into one string; other part types are an error;
//   - null or missing content becomes "" (an assistant turn with only tool calls);
//   - role "developer" becomes "system";
//   - tool_calls[i].function.arguments given as a JSON string is parsed into an object when it
//     is one (templates iterate over it), kept as the string otherwise;
//   - roles other than system, user, assistant, tool are an error.
Result<ojson> normalize_messages(const ojson& messages);

struct RenderOptions {
    bool add_generation_prompt = true;
    std::optional<bool> enable_thinking;  // unset: the template's default
    // Keep the reasoning of earlier assistant turns in the prompt (Qwen3.6 templates drop it by
    // default). The server sets it so that earlier turns render byte-stable and the prefix
    // cache hits.
    bool preserve_thinking = false;
};

class ChatFormat {
   public:
    // The file's tokenizer.chat_template, or a built-in template for the model's architecture
    // when the file has none (ChatML for the qwen families, Llama-3 headers for llama).
    static Result<ChatFormat> from_engine(const Engine& engine);
    // From template text (tests, and a user-given --chat-template file).
    static Result<ChatFormat> from_source(std::string source, const text::Tokenizer& tokenizer);

    // Renders normalized messages (and OpenAI-shaped tools, null or an array) to prompt text.
    Result<std::string> render(const ojson& messages, const ojson& tools,
                               const RenderOptions& options) const;
    // Prompt text to ids: special-token text is parsed, and BOS is added when the tokenizer
    // wants one and the text does not already start with it.
    std::vector<int32_t> tokenize(std::string_view prompt) const;
    // How to parse the output that follows `prompt` (e.g. reasoning already open because the
    // prompt ends inside "<think>\n").
    text::ChatOutputParser::Options parser_options(std::string_view prompt) const;

    bool builtin() const { return builtin_; }
    // The template knows of thinking (mentions enable_thinking or <think>).
    bool supports_thinking() const { return supports_thinking_; }

   private:
    ChatFormat(text::ChatTemplate tpl, const text::Tokenizer& tokenizer, bool builtin,
               bool supports_thinking);
    text::ChatTemplate template_;
    const text::Tokenizer* tokenizer_;
    bool builtin_;
    bool supports_thinking_;
};

// Accumulates parser events into one assistant message.
struct ChatReply {
    struct ToolCall {
        std::string name;
        std::string arguments;  // JSON text as the model wrote it (or rebuilt from XML)
    };
    std::string reasoning;
    std::string content;
    std::vector<ToolCall> tool_calls;

    void add(const text::ChatEvent& event);
    // The OpenAI-shaped assistant message (role, content, reasoning_content when not empty,
    // tool_calls with ids "call_<k>" when any), ready to append to the conversation.
    ojson to_message() const;
};

}  // namespace hearth::runtime
