// Messages → normalized JSON → template context → prompt text and ids; parser events → one
// assistant message. Knows no sampling and no transport.
#include "runtime/chat.h"

#include <algorithm>

#include "runtime/chat_templates.h"

namespace hearth::runtime {

namespace {

std::string type_name(const ojson& j) {
    return j.is_discarded() ? "invalid" : std::string(j.type_name());
}

// Content as one string: text parts are joined as they are (no separator), which is what the
// Qwen3.6 template does with an array, so both forms render the same bytes.
Result<std::string> content_text(const ojson& content, const std::string& where) {
    if (content.is_null()) return std::string();
    if (content.is_string()) return content.get<std::string>();
    if (!content.is_array())
        return error(where + ": expected a string or an array of text parts, got " +
                     type_name(content));
    std::string text;
    for (size_t i = 0; i < content.size(); ++i) {
        const ojson& part = content[i];
        const std::string at = where + "[" + std::to_string(i) + "]";
        if (!part.is_object()) return error(at + ": expected an object, got " + type_name(part));
        auto type = part.find("type");
        const std::string kind = type != part.end() && type->is_string() ? type->get<std::string>()
                                                                         : std::string("text");
        if (kind != "text" && kind != "input_text" && kind != "output_text")
            return error(at + ": unsupported content part type '" + kind + "' (only text parts)");
        auto t = part.find("text");
        if (t == part.end() || !t->is_string()) return error(at + ".text: expected a string");
        text += t->get<std::string>();
    }
    return text;
}

// tool_calls[i].function.arguments: a JSON string holding an object becomes that object.
Status normalize_tool_calls(ojson& calls, const std::string& where) {
    if (!calls.is_array()) return error(where + ": expected an array, got " + type_name(calls));
    for (size_t i = 0; i < calls.size(); ++i) {
        ojson& call = calls[i];
        const std::string at = where + "[" + std::to_string(i) + "]";
        if (!call.is_object()) return error(at + ": expected an object, got " + type_name(call));
        ojson* fn = &call;
        if (auto f = call.find("function"); f != call.end()) {
            if (!f->is_object()) return error(at + ".function: expected an object");
            fn = &*f;
        }
        auto name = fn->find("name");
        if (name == fn->end() || !name->is_string())
            return error(at + ".function.name: expected a string");
        auto args = fn->find("arguments");
        if (args == fn->end() || args->is_null()) {
            (*fn)["arguments"] = ojson::object();
        } else if (args->is_string()) {
            const std::string& s = args->get_ref<const std::string&>();
            ojson parsed = ojson::parse(s, nullptr, false);
            if (!parsed.is_discarded() && parsed.is_object())
                *args = std::move(parsed);
            else if (s.find_first_not_of(" \t\r\n") == std::string::npos)
                *args = ojson::object();
        }
    }
    return Status();
}

Status normalize_message(ojson& m, size_t index) {
    const std::string where = "messages[" + std::to_string(index) + "]";
    if (!m.is_object()) return error(where + ": expected an object, got " + type_name(m));
    auto role = m.find("role");
    if (role == m.end() || !role->is_string()) return error(where + ".role: expected a string");
    std::string r = role->get<std::string>();
    if (r == "developer") r = "system";
    if (r != "system" && r != "user" && r != "assistant" && r != "tool")
        return error(where + ".role: unknown role '" + r +
                     "' (system, developer, user, assistant, tool)");
    *role = r;
    auto content = m.find("content");
    auto text = content_text(content == m.end() ? ojson() : *content, where + ".content");
    if (!text.ok()) return text.status();
    m["content"] = std::move(text.value());
    for (const char* key : {"reasoning_content", "tool_calls"}) {
        auto it = m.find(key);
        if (it != m.end() && it->is_null()) m.erase(it);
    }
    if (auto rc = m.find("reasoning_content"); rc != m.end() && !rc->is_string())
        return error(where + ".reasoning_content: expected a string, got " + type_name(*rc));
    if (auto calls = m.find("tool_calls"); calls != m.end())
        return normalize_tool_calls(*calls, where + ".tool_calls");
    return Status();
}

std::string trimmed(const std::string& s) {
    const char* ws = " \t\r\n";
    size_t b = s.find_first_not_of(ws);
    if (b == std::string::npos) return "";
    return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

}  // namespace

Result<ojson> normalize_messages(const ojson& messages) {
    if (!messages.is_array())
        return error("messages: expected an array, got " + type_name(messages));
    if (messages.empty()) return error("messages: the array is empty");
    ojson out = messages;
    for (size_t i = 0; i < out.size(); ++i) HEARTH_RETURN_IF_ERROR(normalize_message(out[i], i));
    return out;
}

ChatFormat::ChatFormat(text::ChatTemplate tpl, const text::Tokenizer& tokenizer, bool builtin,
                       bool supports_thinking)
    : template_(std::move(tpl)),
      tokenizer_(&tokenizer),
      builtin_(builtin),
      supports_thinking_(supports_thinking) {}

Result<ChatFormat> ChatFormat::from_engine(const Engine& engine) {
    if (!engine.tokenizer) return error("the model file has no tokenizer: cannot chat with it");
    const gguf::Reader& reader = *engine.reader;
    if (reader.find("tokenizer.chat_template")) {
        auto source = reader.get_string("tokenizer.chat_template");
        if (!source.ok()) return source.status();
        auto f = from_source(std::string(*source), *engine.tokenizer);
        if (!f.ok()) return f.status().with_context("tokenizer.chat_template");
        return f;
    }
    const std::string& arch = engine.model->config().arch;
    std::string source = builtin_chat_template(arch);
    if (source.empty())
        return error(
            "the model file has no tokenizer.chat_template and hearth has no built-in "
            "template for architecture '" +
            arch + "'");
    auto tpl = text::ChatTemplate::parse(source);
    HEARTH_CHECK(tpl.ok());  // our own text: a parse error is a bug
    const bool thinking = arch != "qwen2" && arch != "llama";
    return ChatFormat(std::move(tpl.value()), *engine.tokenizer, true, thinking);
}

Result<ChatFormat> ChatFormat::from_source(std::string source, const text::Tokenizer& tokenizer) {
    auto tpl = text::ChatTemplate::parse(source);
    if (!tpl.ok()) return tpl.status();
    const bool thinking = source.find("enable_thinking") != std::string::npos ||
                          source.find("<think>") != std::string::npos;
    return ChatFormat(std::move(tpl.value()), tokenizer, false, thinking);
}

Result<std::string> ChatFormat::render(const ojson& messages, const ojson& tools,
                                       const RenderOptions& options) const {
    ojson ctx = ojson::object();
    ctx["messages"] = messages;
    if (!tools.is_null()) ctx["tools"] = tools;
    ctx["add_generation_prompt"] = options.add_generation_prompt;
    if (options.enable_thinking) ctx["enable_thinking"] = *options.enable_thinking;
    // The Qwen3.6 templates keep every turn's <think> block when this is true.
    if (options.preserve_thinking) ctx["preserve_thinking"] = true;
    const int32_t bos = tokenizer_->bos_id(), eos = tokenizer_->eos_id();
    ctx["bos_token"] = bos >= 0 ? tokenizer_->token_text(bos) : std::string();
    ctx["eos_token"] = eos >= 0 ? tokenizer_->token_text(eos) : std::string();
    return template_.render(ctx);
}

std::vector<int32_t> ChatFormat::tokenize(std::string_view prompt) const {
    std::vector<int32_t> ids = tokenizer_->encode(prompt, true);
    const int32_t bos = tokenizer_->bos_id();
    if (tokenizer_->add_bos() && bos >= 0 && (ids.empty() || ids[0] != bos))
        ids.insert(ids.begin(), bos);
    return ids;
}

text::ChatOutputParser::Options ChatFormat::parser_options(std::string_view prompt) const {
    // Only the last line matters; trailing spaces never follow the tag in real templates.
    return {.thinking_open_at_start = prompt.ends_with("<think>\n") || prompt.ends_with("<think>")};
}

void ChatReply::add(const text::ChatEvent& event) {
    using Kind = text::ChatEvent::Kind;
    switch (event.kind) {
        case Kind::Reasoning:
            reasoning += event.text;
            break;
        case Kind::Content:
            content += event.text;
            break;
        case Kind::ToolCallStart:
            tool_calls.push_back({.name = event.text, .arguments = ""});
            break;
        case Kind::ToolCallArgs:
            // Events name their call; the parser numbers calls 0, 1, ... in order.
            if (event.tool_index >= 0 && size_t(event.tool_index) < tool_calls.size())
                tool_calls[event.tool_index].arguments += event.text;
            break;
        case Kind::ToolCallEnd:
            break;
    }
}

ojson ChatReply::to_message() const {
    // Whitespace around the blocks (the "\n" after <think>, the "\n\n" after </think>) is the
    // template's business: Qwen templates trim both and write their own separators.
    ojson m = ojson::object();
    m["role"] = "assistant";
    m["content"] = trimmed(content);
    const std::string r = trimmed(reasoning);
    if (!r.empty()) m["reasoning_content"] = r;
    if (!tool_calls.empty()) {
        ojson calls = ojson::array();
        for (size_t k = 0; k < tool_calls.size(); ++k) {
            calls.push_back(
                {{"id", "call_" + std::to_string(k)},
                 {"type", "function"},
                 {"function",
                  {{"name", tool_calls[k].name},
                   {"arguments", tool_calls[k].arguments.empty() ? std::string("{}")
                                                                 : tool_calls[k].arguments}}}});
        }
        m["tool_calls"] = std::move(calls);
    }
    return m;
}

}  // namespace hearth::runtime
