// libFuzzer target: parses arbitrary bytes as a chat template and renders it with a small fixed
// context. Any outcome is fine except a crash, a hang or unbounded memory.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "text/template.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const nlohmann::ordered_json context = nlohmann::ordered_json::parse(R"({
        "messages": [{"role": "system", "content": "sys"},
                     {"role": "user", "content": [{"type": "text", "text": "hi"}]},
                     {"role": "assistant", "content": "", "reasoning_content": "r",
                      "tool_calls": [{"function": {"name": "f", "arguments": {"a": 1.5}}}]},
                     {"role": "tool", "content": "ok"}],
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}],
        "add_generation_prompt": true, "enable_thinking": false, "bos_token": "<s>"})");
    auto tpl = hearth::text::ChatTemplate::parse(
        std::string_view(reinterpret_cast<const char*>(data), size));
    if (tpl.ok()) (void)tpl->render(context);
    return 0;
}
