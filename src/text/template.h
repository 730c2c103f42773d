// Chat templates: a Jinja2 subset that renders a model's chat_template byte for byte as Hugging
// Face transformers does (sandboxed, trim_blocks, lstrip_blocks, loop controls, json.dumps-style
// tojson, raise_exception, strftime_now). No template inheritance, includes or imports.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "base/status.h"

namespace hearth::text {

namespace tpl {
struct Program;
}

class ChatTemplate {
   public:
    // Syntax errors come back as "template line N: ...".
    static Result<ChatTemplate> parse(std::string_view source);

    // `context` is a JSON object: messages, tools, add_generation_prompt, enable_thinking,
    // bos_token, eos_token, ... Errors (raise_exception, undefined calls, type errors, limits on
    // time, depth and output size) come back as a one-line message with the template line.
    Result<std::string> render(const nlohmann::ordered_json& context) const;

   private:
    explicit ChatTemplate(std::shared_ptr<const tpl::Program> program);
    std::shared_ptr<const tpl::Program> program_;
};

}  // namespace hearth::text
