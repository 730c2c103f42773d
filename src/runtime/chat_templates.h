// hearth's own chat templates, used when a GGUF file carries no tokenizer.chat_template:
// ChatML for the Qwen families and Llama-3 headers for llama. Written for hearth (the
// formats follow the models' conventions; the text is ours). Not a registry of every model.
#pragma once

#include <string>
#include <string_view>

namespace hearth::runtime {

// The built-in template for a GGUF general.architecture, or "" when there is none.
std::string builtin_chat_template(std::string_view arch);

}  // namespace hearth::runtime
