// The built-in chat templates as Jinja source. Both accept content as a string or as an array
// of {"text": ...} parts, so they render raw OpenAI messages as well as normalized ones.
#include "runtime/chat_templates.h"

namespace hearth::runtime {

namespace {

// The macros both templates use. text_of: the text of a message's content, a string or the
// text parts of an array joined as they are. arguments_of: a tool call's arguments as JSON
// text, whether they came as a string (OpenAI) or an object.
constexpr std::string_view kMacros = R"TPL({%- macro text_of(content) %}
    {%- if content is string %}
        {{- content }}
    {%- elif content is iterable and content is not mapping %}
        {%- for part in content %}
            {%- if part is mapping and part.text is string %}
                {{- part.text }}
            {%- endif %}
        {%- endfor %}
    {%- endif %}
{%- endmacro %}
{%- macro arguments_of(fn) %}
    {%- if fn.arguments is string %}
        {{- fn.arguments }}
    {%- elif fn.arguments is defined %}
        {{- fn.arguments | tojson }}
    {%- else %}
        {{- '{}' }}
    {%- endif %}
{%- endmacro %}
)TPL";

// ChatML as the Qwen models read it. Reasoning is kept for the turns after the last user
// message (and for every turn with preserve_thinking), always as a <think> block, even an
// empty one: that is what the generation prompt with enable_thinking=false looks like, so a
// finished turn re-renders as exactly the prompt plus the model's reply. Tool calls use the
// JSON form in <tool_call> tags; tool results go back as <tool_response> blocks in a user turn.
constexpr std::string_view kChatMlBody = R"TPL({%- if not messages %}
    {{- raise_exception('No messages to render.') }}
{%- endif %}
{%- set has_system = messages[0].role == 'system' %}
{%- if tools and tools is iterable and tools is not mapping %}
    {{- '<|im_start|>system\n' }}
    {%- if has_system %}
        {%- set system_text = text_of(messages[0].content) | trim %}
        {%- if system_text %}
            {{- system_text + '\n\n' }}
        {%- endif %}
    {%- endif %}
    {{- '# Tools\n\nYou can call the functions below. Each line between <tools> and </tools> is the JSON signature of one function.\n<tools>' }}
    {%- for tool in tools %}
        {{- '\n' + (tool | tojson) }}
    {%- endfor %}
    {{- '\n</tools>\n\nTo call functions, write one block per call, each holding a JSON object with the name of the function and its arguments:\n<tool_call>\n{"name": "function_name", "arguments": {"argument_name": "value"}}\n</tool_call><|im_end|>\n' }}
{%- elif has_system %}
    {{- '<|im_start|>system\n' + (text_of(messages[0].content) | trim) + '<|im_end|>\n' }}
{%- endif %}
{%- set ns = namespace(last_query=-1) %}
{%- for message in messages %}
    {%- if message.role == 'user' %}
        {%- set ns.last_query = loop.index0 %}
    {%- endif %}
{%- endfor %}
{%- for message in messages %}
    {%- set content = text_of(message.content) | trim %}
    {%- if message.role == 'system' %}
        {%- if not loop.first %}
            {{- raise_exception('A system message must come first.') }}
        {%- endif %}
    {%- elif message.role == 'user' %}
        {{- '<|im_start|>user\n' + content + '<|im_end|>\n' }}
    {%- elif message.role == 'assistant' %}
        {%- set reasoning = '' %}
        {%- if message.reasoning_content is string %}
            {%- set reasoning = message.reasoning_content %}
        {%- elif '</think>' in content %}
            {%- set reasoning = content.split('</think>')[0].split('<think>')[-1] %}
            {%- set content = content.split('</think>')[-1] | trim %}
        {%- endif %}
        {{- '<|im_start|>assistant\n' }}
        {%- if thinking and (preserve_thinking or loop.index0 > ns.last_query) %}
            {{- '<think>\n' + (reasoning | trim) + '\n</think>\n\n' }}
        {%- endif %}
        {{- content }}
        {%- if message.tool_calls and message.tool_calls is iterable and message.tool_calls is not mapping %}
            {%- for call in message.tool_calls %}
                {%- set fn = call.function if call.function is defined else call %}
                {%- if not loop.first or content %}
                    {{- '\n' }}
                {%- endif %}
                {{- '<tool_call>\n{"name": ' + (fn.name | tojson) + ', "arguments": ' }}
                {{- arguments_of(fn) }}
                {{- '}\n</tool_call>' }}
            {%- endfor %}
        {%- endif %}
        {{- '<|im_end|>\n' }}
    {%- elif message.role == 'tool' %}
        {%- if loop.first or loop.previtem.role != 'tool' %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\n<tool_response>\n' + content + '\n</tool_response>' }}
        {%- if loop.last or loop.nextitem.role != 'tool' %}
            {{- '<|im_end|>\n' }}
        {%- endif %}
    {%- else %}
        {{- raise_exception('Unexpected message role.') }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\n' }}
    {%- if not thinking %}
    {%- elif enable_thinking is defined and enable_thinking is false %}
        {{- '<think>\n\n</think>\n\n' }}
    {%- elif think_in_prompt %}
        {{- '<think>\n' }}
    {%- endif %}
{%- endif %}
)TPL";

// Llama 3 headers. No thinking. Tools are described in the system turn; earlier calls render
// as {"name": ..., "parameters": ...} and their results as "ipython" turns, as Llama 3.1 does.
constexpr std::string_view kLlama3 = R"TPL({{- bos_token }}
{%- set ns = namespace(system='') %}
{%- if messages and messages[0].role == 'system' %}
    {%- set ns.system = text_of(messages[0].content) | trim %}
{%- endif %}
{%- if tools and tools is iterable and tools is not mapping %}
    {%- if ns.system %}
        {%- set ns.system = ns.system + '\n\n' %}
    {%- endif %}
    {%- set ns.system = ns.system + 'You can call the functions below; each line is the JSON signature of one.\n' %}
    {%- for tool in tools %}
        {%- set ns.system = ns.system + (tool | tojson) + '\n' %}
    {%- endfor %}
    {%- set ns.system = ns.system + '\nTo call one, reply with only a JSON object of the form {"name": function name, "parameters": object of argument names and values}.' %}
{%- endif %}
{%- if ns.system %}
    {{- '<|start_header_id|>system<|end_header_id|>\n\n' + ns.system + '<|eot_id|>' }}
{%- endif %}
{%- for message in messages %}
    {%- set content = text_of(message.content) | trim %}
    {%- if message.role == 'system' %}
        {%- if not loop.first %}
            {{- raise_exception('A system message must come first.') }}
        {%- endif %}
    {%- elif message.role == 'user' or message.role == 'assistant' %}
        {{- '<|start_header_id|>' + message.role + '<|end_header_id|>\n\n' + content }}
        {%- if message.role == 'assistant' and message.tool_calls and message.tool_calls is iterable and message.tool_calls is not mapping %}
            {%- for call in message.tool_calls %}
                {%- set fn = call.function if call.function is defined else call %}
                {%- if not loop.first or content %}
                    {{- '\n' }}
                {%- endif %}
                {{- '{"name": ' + (fn.name | tojson) + ', "parameters": ' }}
                {{- arguments_of(fn) }}
                {{- '}' }}
            {%- endfor %}
        {%- endif %}
        {{- '<|eot_id|>' }}
    {%- elif message.role == 'tool' %}
        {{- '<|start_header_id|>ipython<|end_header_id|>\n\n' + content + '<|eot_id|>' }}
    {%- else %}
        {{- raise_exception('Unexpected message role.') }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|start_header_id|>assistant<|end_header_id|>\n\n' }}
{%- endif %}
)TPL";

}  // namespace

std::string builtin_chat_template(std::string_view arch) {
    // Qwen3.5/3.6 expect the prompt to open the reasoning block, Qwen3 opens it itself, and
    // Qwen2 does not reason.
    std::string flags;
    if (arch == "qwen35" || arch == "qwen35moe") {
        flags = "{%- set thinking = true %}\n{%- set think_in_prompt = true %}\n";
    } else if (arch == "qwen3" || arch == "qwen3moe") {
        flags = "{%- set thinking = true %}\n{%- set think_in_prompt = false %}\n";
    } else if (arch == "qwen2") {
        flags = "{%- set thinking = false %}\n{%- set think_in_prompt = false %}\n";
    } else if (arch == "llama") {
        return std::string(kMacros) + std::string(kLlama3);
    } else {
        return "";
    }
    return std::string(kMacros) + flags + std::string(kChatMlBody);
}

}  // namespace hearth::runtime
