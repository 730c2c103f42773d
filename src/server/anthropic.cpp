// Anthropic adapter: /v1/messages and /v1/messages/count_tokens onto the internal chat request.
// Anthropic content blocks become OpenAI-shaped messages for the template (tool_use →
// tool_calls, tool_result → tool messages, thinking → reasoning_content), and the model's
// events become thinking / text / tool_use blocks.
#include "server/api.h"

namespace hearth::server::anthropic {

namespace {

std::string text_of_blocks(const ojson& content, const std::string& where) {
    if (content.is_string()) return content.get<std::string>();
    if (!content.is_array()) throw ApiError{400, where + " must be a string or an array of blocks", where};
    std::string out;
    for (const auto& b : content) {
        if (b.is_object() && b.value("type", "") == "text" && b.contains("text") && b["text"].is_string())
            out += b["text"].get<std::string>();
        else
            throw ApiError{400, where + ": only text blocks are supported here", where};
    }
    return out;
}

// Anthropic messages → OpenAI-shaped messages (not yet normalized).
ojson convert_messages(const ojson& body) {
    ojson out = ojson::array();
    if (auto it = body.find("system"); it != body.end() && !it->is_null())
        out.push_back({{"role", "system"}, {"content", text_of_blocks(*it, "system")}});
    const ojson* messages = opt_array(body, "messages");
    if (!messages) throw ApiError{400, "'messages' is required", "messages"};
    if (messages->empty()) throw ApiError{400, "'messages' must not be empty", "messages"};
    for (size_t i = 0; i < messages->size(); ++i) {
        const ojson& m = (*messages)[i];
        const std::string where = strfmt("messages[%zu]", i);
        if (!m.is_object()) throw ApiError{400, where + " must be an object", where};
        const std::string role = opt_string(m, "role").value_or("");
        if (role != "user" && role != "assistant" && role != "system")
            throw ApiError{400, where + ".role must be user, assistant or system", where};
        auto content = m.find("content");
        if (content == m.end() || content->is_null()) throw ApiError{400, where + ".content is required", where};
        if (role == "system") {
            out.push_back({{"role", "system"}, {"content", text_of_blocks(*content, where + ".content")}});
            continue;
        }
        if (content->is_string()) {
            out.push_back({{"role", role}, {"content", content->get<std::string>()}});
            continue;
        }
        if (!content->is_array()) throw ApiError{400, where + ".content must be a string or an array of blocks", where};
        std::string text, thinking;
        ojson tool_calls = ojson::array();
        for (size_t j = 0; j < content->size(); ++j) {
            const ojson& blk = (*content)[j];
            const std::string bw = strfmt("%s.content[%zu]", where.c_str(), j);
            if (!blk.is_object()) throw ApiError{400, bw + " must be an object", bw};
            const std::string type = opt_string(blk, "type").value_or("");
            if (type == "text") {
                text += opt_string(blk, "text").value_or("");
            } else if (type == "thinking" && role == "assistant") {
                thinking += opt_string(blk, "thinking").value_or("");
            } else if (type == "redacted_thinking") {
                // opaque to us: nothing to show the model
            } else if (type == "tool_use" && role == "assistant") {
                auto name = opt_string(blk, "name");
                if (!name) throw ApiError{400, bw + ".name is required", bw};
                ojson input = blk.contains("input") && blk["input"].is_object() ? blk["input"] : ojson::object();
                tool_calls.push_back({{"id", opt_string(blk, "id").value_or(new_id("toolu_"))},
                                      {"type", "function"},
                                      {"function", {{"name", *name}, {"arguments", input}}}});
            } else if (type == "tool_result" && role == "user") {
                std::string result;
                if (auto c = blk.find("content"); c != blk.end() && !c->is_null())
                    result = text_of_blocks(*c, bw + ".content");
                if (opt_bool(blk, "is_error").value_or(false)) result = "Error: " + result;
                out.push_back({{"role", "tool"},
                               {"tool_call_id", opt_string(blk, "tool_use_id").value_or("")},
                               {"content", result}});
            } else {
                throw ApiError{400, bw + ": content blocks of type '" + type + "' are not supported", bw};
            }
        }
        if (role == "user" && text.empty()) continue;  // only tool results
        ojson msg = {{"role", role}, {"content", text}};
        if (!thinking.empty()) msg["reasoning_content"] = thinking;
        if (!tool_calls.empty()) msg["tool_calls"] = tool_calls;
        out.push_back(std::move(msg));
    }
    return out;
}

ojson convert_tools(const ojson& tools) {
    ojson out = ojson::array();
    for (size_t i = 0; i < tools.size(); ++i) {
        const ojson& t = tools[i];
        const std::string where = strfmt("tools[%zu]", i);
        if (!t.is_object()) throw ApiError{400, where + " must be an object", where};
        auto name = opt_string(t, "name");
        if (!name) throw ApiError{400, where + ".name is required", where};
        const ojson* schema = opt_object(t, "input_schema");
        if (!schema) {
            if (t.contains("type") && t["type"] != "custom") continue;  // a server tool: not ours to run
            throw ApiError{400, where + ".input_schema is required", where};
        }
        ojson fn = {{"name", *name}};
        if (auto d = opt_string(t, "description")) fn["description"] = *d;
        fn["parameters"] = *schema;
        out.push_back({{"type", "function"}, {"function", fn}});
    }
    return out;
}

const char* stop_reason(const runtime::JobOutput& end, bool tool_use) {
    switch (end.finish) {
        case runtime::FinishReason::Length: return "max_tokens";
        case runtime::FinishReason::Stop: return "stop_sequence";
        default: return tool_use ? "tool_use" : "end_turn";
    }
}

ojson usage(const runtime::JobOutput& end) {
    return {{"input_tokens", end.n_prompt - end.n_cached},
            {"cache_creation_input_tokens", 0},
            {"cache_read_input_tokens", end.n_cached},
            {"output_tokens", end.n_generated}};
}

void stream_messages(ChatStream& stream, const std::string& id, const std::string& model, const SseWrite& write);

std::string sse(const char* event, const ojson& data) {
    return std::string("event: ") + event + "\ndata: " + dump(data) + "\n\n";
}

}  // namespace

ojson error_body(const ApiError& e) {
    const char* type = e.status == 401 ? "authentication_error"
                       : e.status == 403 ? "permission_error"
                       : e.status == 404 ? "not_found_error"
                       : e.status == 413 ? "request_too_large"
                       : e.status == 429 ? "rate_limit_error"
                       : e.status >= 500 ? "api_error"
                                         : "invalid_request_error";
    return {{"type", "error"}, {"error", {{"type", type}, {"message", e.message}}}};
}

ChatRequest parse_messages(const ojson& body) {
    if (!body.is_object()) throw ApiError{400, "the request body must be a JSON object"};
    ChatRequest r;
    auto norm = runtime::normalize_messages(convert_messages(body));
    if (!norm.ok()) throw ApiError{400, norm.message(), "messages"};
    r.messages = std::move(norm.value());
    opt_string(body, "model");
    r.max_tokens = opt_int(body, "max_tokens", 1, INT64_MAX).value_or(-1);
    if (const ojson* tools = opt_array(body, "tools")) {
        ojson t = convert_tools(*tools);
        if (!t.empty()) r.tools = std::move(t);
    }
    if (const ojson* tc = opt_object(body, "tool_choice")) {
        const std::string type = opt_string(*tc, "type").value_or("auto");
        if (type == "auto") r.tool_choice = ToolChoice::Auto;
        else if (type == "none") r.tool_choice = ToolChoice::None;
        else if (type == "any") r.tool_choice = ToolChoice::Required;
        else if (type == "tool") {
            auto name = opt_string(*tc, "name");
            if (!name) throw ApiError{400, "tool_choice.name is required with type 'tool'", "tool_choice"};
            r.tool_choice = ToolChoice::Named;
            r.tool_name = *name;
        } else {
            throw ApiError{400, "tool_choice.type must be auto, any, tool or none", "tool_choice"};
        }
        if ((r.tool_choice == ToolChoice::Required || r.tool_choice == ToolChoice::Named) && r.tools.is_null())
            throw ApiError{400, "'tool_choice' asks for a tool call but no 'tools' were given", "tool_choice"};
    }
    if (const ojson* ss = opt_array(body, "stop_sequences")) {
        for (const auto& s : *ss) {
            if (!s.is_string()) throw ApiError{400, "'stop_sequences' must be an array of strings", "stop_sequences"};
            if (!s.get<std::string>().empty()) r.stop.push_back(s.get<std::string>());
        }
    }
    if (auto v = opt_number(body, "temperature", 0, 2)) r.sampling.temperature = float(*v);
    if (auto v = opt_number(body, "top_p", 0, 1)) r.sampling.top_p = float(*v);
    if (auto v = opt_int(body, "top_k", 0, 1 << 20)) r.sampling.top_k = int(*v);
    if (const ojson* th = opt_object(body, "thinking")) {
        const std::string type = opt_string(*th, "type").value_or("");
        if (type == "enabled" || type == "adaptive") r.enable_thinking = true;
        else if (type == "disabled") r.enable_thinking = false;
        else throw ApiError{400, "thinking.type must be enabled, adaptive or disabled", "thinking"};
        if (auto budget = opt_int(*th, "budget_tokens", 0, INT64_MAX); budget && type == "enabled")
            r.thinking_budget = *budget;
    }
    r.stream = opt_bool(body, "stream").value_or(false);
    return r;
}

Reply messages(const Backend& b, const ojson& body) {
    ChatRequest r = parse_messages(body);
    auto stream = std::make_shared<ChatStream>(b, r);
    const std::string id = new_id("msg_");
    const std::string model = b.model_name;

    if (!r.stream) {
        return deferred_json(
            [stream, id, model](const AliveFn& alive) -> std::optional<ojson> {
                runtime::ChatReply reply;
                const auto collected = stream->collect([&](const text::ChatEvent& e) { reply.add(e); }, alive);
                if (!collected) return std::nullopt;
                const runtime::JobOutput& end = *collected;
                ojson content = ojson::array();
                if (!reply.reasoning.empty())
                    content.push_back({{"type", "thinking"}, {"thinking", reply.reasoning}, {"signature", ""}});
                std::string text = reply.content;
                ojson tool_uses = ojson::array();
                for (const auto& call : reply.tool_calls) {
                    ojson input = ojson::parse(call.arguments, nullptr, false);
                    if (!input.is_object()) {  // malformed arguments: show them as text, not an error
                        text += "<tool_call>" + call.arguments + "</tool_call>";
                        continue;
                    }
                    tool_uses.push_back({{"type", "tool_use"}, {"id", new_id("toolu_")}, {"name", call.name}, {"input", input}});
                }
                if (!text.empty() || (tool_uses.empty() && content.empty()))
                    content.push_back({{"type", "text"}, {"text", text}});
                for (auto& t : tool_uses) content.push_back(std::move(t));
                ojson msg = {{"id", id},
                             {"type", "message"},
                             {"role", "assistant"},
                             {"model", model},
                             {"content", content},
                             {"stop_reason", stop_reason(end, !tool_uses.empty())},
                             {"stop_sequence", end.finish == runtime::FinishReason::Stop ? ojson(end.stop_string) : ojson()},
                             {"usage", usage(end)}};
                return msg;
            },
            error_body);
    }

    Reply reply;
    reply.streamer = [stream, id, model](const SseWrite& write) { stream_messages(*stream, id, model, write); };
    return reply;
}

namespace {

void stream_messages(ChatStream& stream, const std::string& id, const std::string& model, const SseWrite& write) {
    ojson start = {{"type", "message_start"},
                   {"message", {{"id", id},
                                {"type", "message"},
                                {"role", "assistant"},
                                {"model", model},
                                {"content", ojson::array()},
                                {"stop_reason", nullptr},
                                {"stop_sequence", nullptr},
                                {"usage", {{"input_tokens", stream.n_prompt()}, {"output_tokens", 0}}}}}};
    if (!write(sse("message_start", start))) return;
    if (!write(sse("ping", {{"type", "ping"}}))) return;

    using K = text::ChatEvent::Kind;
    int index = -1;
    enum class Open { None, Thinking, Text, Tool } open = Open::None;
    bool any_tool = false;
    auto close = [&]() {
        if (open == Open::None) return true;
        if (open == Open::Thinking &&
            !write(sse("content_block_delta", {{"type", "content_block_delta"}, {"index", index},
                                               {"delta", {{"type", "signature_delta"}, {"signature", ""}}}})))
            return false;
        open = Open::None;
        return write(sse("content_block_stop", {{"type", "content_block_stop"}, {"index", index}}));
    };
    auto open_block = [&](Open kind, ojson block) {
        if (!close()) return false;
        open = kind;
        ++index;
        return write(sse("content_block_start", {{"type", "content_block_start"}, {"index", index}, {"content_block", block}}));
    };
    auto delta = [&](ojson d) {
        return write(sse("content_block_delta", {{"type", "content_block_delta"}, {"index", index}, {"delta", d}}));
    };
    for (;;) {
        ChatStream::Piece p = stream.next(1000);
        if (p.idle) {
            if (!write(sse("ping", {{"type", "ping"}}))) return;
            continue;
        }
        for (const auto& e : p.events) {
            bool ok = true;
            switch (e.kind) {
                case K::Reasoning:
                    if (open != Open::Thinking) ok = open_block(Open::Thinking, {{"type", "thinking"}, {"thinking", ""}});
                    ok = ok && delta({{"type", "thinking_delta"}, {"thinking", e.text}});
                    break;
                case K::Content:
                    if (open != Open::Text) ok = open_block(Open::Text, {{"type", "text"}, {"text", ""}});
                    ok = ok && delta({{"type", "text_delta"}, {"text", e.text}});
                    break;
                case K::ToolCallStart:
                    any_tool = true;
                    ok = open_block(Open::Tool, {{"type", "tool_use"}, {"id", new_id("toolu_")}, {"name", e.text}, {"input", ojson::object()}});
                    break;
                case K::ToolCallArgs:
                    ok = delta({{"type", "input_json_delta"}, {"partial_json", e.text}});
                    break;
                case K::ToolCallEnd: ok = close(); break;
            }
            if (!ok) return;
        }
        if (!p.done) continue;
        if (p.end.finish == runtime::FinishReason::Error) {
            write(sse("error", error_body({500, "generation failed: " + p.end.error})));
            return;
        }
        if (!close()) return;
        ojson md = {{"type", "message_delta"},
                    {"delta", {{"stop_reason", stop_reason(p.end, any_tool)},
                               {"stop_sequence", p.end.finish == runtime::FinishReason::Stop ? ojson(p.end.stop_string) : ojson()}}},
                    {"usage", usage(p.end)}};
        write(sse("message_delta", md));
        write(sse("message_stop", {{"type", "message_stop"}}));
        return;
    }
}

}  // namespace

Reply count_tokens(const Backend& b, const ojson& body) {
    ChatRequest r = parse_messages(body);
    return Reply{200, dump(ojson{{"input_tokens", count_prompt_tokens(b, r)}}), nullptr};
}

}  // namespace hearth::server::anthropic
