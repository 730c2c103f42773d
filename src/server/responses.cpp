// OpenAI Responses adapter (/v1/responses, which Codex speaks): input items become chat
// messages, and the model's events become reasoning, message and function_call output items,
// streamed as response.* events.
#include <chrono>

#include "server/api.h"

namespace hearth::server::openai {

namespace {

int64_t now_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string text_of(const ojson& content, const std::string& where) {
    if (content.is_string()) return content.get<std::string>();
    if (!content.is_array()) throw ApiError{400, where + " must be a string or an array of parts", where};
    std::string out;
    for (const auto& part : content) {
        const std::string type = part.is_object() ? part.value("type", "") : "";
        if (type == "input_text" || type == "output_text" || type == "text" || type == "summary_text" ||
            type == "reasoning_text") {
            if (!part.contains("text") || !part["text"].is_string())
                throw ApiError{400, where + ": a text part needs a string 'text'", where};
            out += part["text"].get<std::string>();
        } else {
            throw ApiError{400, where + ": parts of type '" + type + "' are not supported", where};
        }
    }
    return out;
}

// input (a string or items) and instructions → OpenAI chat messages.
ojson convert_input(const ojson& body) {
    ojson msgs = ojson::array();
    if (auto ins = opt_string(body, "instructions")) msgs.push_back({{"role", "system"}, {"content", *ins}});
    auto it = body.find("input");
    if (it == body.end() || it->is_null()) throw ApiError{400, "'input' is required", "input"};
    if (it->is_string()) {
        msgs.push_back({{"role", "user"}, {"content", it->get<std::string>()}});
        return msgs;
    }
    if (!it->is_array()) throw ApiError{400, "'input' must be a string or an array of items", "input"};
    std::string reasoning;  // a reasoning item belongs to the assistant turn that follows it
    auto assistant = [&]() -> ojson& {
        if (msgs.empty() || msgs.back()["role"] != "assistant" || msgs.back().contains("tool_call_id"))
            msgs.push_back({{"role", "assistant"}, {"content", ""}});
        ojson& m = msgs.back();
        if (!reasoning.empty()) {
            m["reasoning_content"] = m.value("reasoning_content", "") + reasoning;
            reasoning.clear();
        }
        return m;
    };
    for (size_t i = 0; i < it->size(); ++i) {
        const ojson& item = (*it)[i];
        const std::string where = strfmt("input[%zu]", i);
        if (!item.is_object()) throw ApiError{400, where + " must be an object", where};
        const std::string type = opt_string(item, "type").value_or("message");
        if (type == "message") {
            const std::string role = opt_string(item, "role").value_or("");
            if (role != "user" && role != "assistant" && role != "system" && role != "developer")
                throw ApiError{400, where + ".role must be user, assistant, system or developer", where};
            auto c = item.find("content");
            const std::string text = c == item.end() || c->is_null() ? "" : text_of(*c, where + ".content");
            if (role == "assistant") {
                ojson& m = assistant();
                if (m.contains("tool_calls")) {  // text after calls starts a new turn
                    msgs.push_back({{"role", "assistant"}, {"content", text}});
                } else {
                    m["content"] = m["content"].get<std::string>() + text;
                }
            } else {
                msgs.push_back({{"role", role}, {"content", text}});
            }
        } else if (type == "function_call") {
            auto name = opt_string(item, "name");
            if (!name) throw ApiError{400, where + ".name is required", where};
            ojson& m = assistant();
            if (!m.contains("tool_calls")) m["tool_calls"] = ojson::array();
            m["tool_calls"].push_back({{"id", opt_string(item, "call_id").value_or("")},
                                       {"type", "function"},
                                       {"function", {{"name", *name}, {"arguments", opt_string(item, "arguments").value_or("{}")}}}});
        } else if (type == "function_call_output") {
            auto out = item.find("output");
            msgs.push_back({{"role", "tool"},
                            {"tool_call_id", opt_string(item, "call_id").value_or("")},
                            {"content", out == item.end() || out->is_null() ? "" : text_of(*out, where + ".output")}});
        } else if (type == "reasoning") {
            if (auto c = item.find("content"); c != item.end() && c->is_array()) reasoning += text_of(*c, where + ".content");
            else if (auto s = item.find("summary"); s != item.end() && s->is_array()) reasoning += text_of(*s, where + ".summary");
        } else {
            throw ApiError{400, where + ": input items of type '" + type + "' are not supported", where};
        }
    }
    return msgs;
}

ChatRequest parse_responses(const ojson& body) {
    if (!body.is_object()) throw ApiError{400, "the request body must be a JSON object"};
    ChatRequest r;
    auto norm = runtime::normalize_messages(convert_input(body));
    if (!norm.ok()) throw ApiError{400, norm.message(), "input"};
    r.messages = std::move(norm.value());
    opt_string(body, "model");
    if (const ojson* tools = opt_array(body, "tools")) {
        ojson out = ojson::array();
        for (size_t i = 0; i < tools->size(); ++i) {
            const ojson& t = (*tools)[i];
            const std::string where = strfmt("tools[%zu]", i);
            if (!t.is_object()) throw ApiError{400, where + " must be an object", where};
            if (t.value("type", "") != "function") continue;  // built-in tools (web search...) are not ours
            auto name = opt_string(t, "name");
            if (!name) throw ApiError{400, where + ".name is required", where};
            ojson fn = {{"name", *name}};
            if (auto d = opt_string(t, "description")) fn["description"] = *d;
            if (const ojson* p = opt_object(t, "parameters")) fn["parameters"] = *p;
            out.push_back({{"type", "function"}, {"function", fn}});
        }
        if (!out.empty()) r.tools = std::move(out);
    }
    if (auto it = body.find("tool_choice"); it != body.end() && !it->is_null()) {
        if (*it == "none") r.tool_choice = ToolChoice::None;
        else if (*it == "auto") r.tool_choice = ToolChoice::Auto;
        else if (*it == "required") r.tool_choice = ToolChoice::Required;
        else if (it->is_object() && it->value("type", "") == "function" && it->contains("name") && (*it)["name"].is_string()) {
            r.tool_choice = ToolChoice::Named;
            r.tool_name = (*it)["name"].get<std::string>();
        } else {
            throw ApiError{400, "'tool_choice' must be none, auto, required or {\"type\": \"function\", \"name\": ...}", "tool_choice"};
        }
        if ((r.tool_choice == ToolChoice::Required || r.tool_choice == ToolChoice::Named) && r.tools.is_null())
            throw ApiError{400, "'tool_choice' asks for a tool call but no function tools were given", "tool_choice"};
    }
    r.max_tokens = opt_int(body, "max_output_tokens", 1, INT64_MAX).value_or(-1);
    if (auto v = opt_number(body, "temperature", 0, 2)) r.sampling.temperature = float(*v);
    if (auto v = opt_number(body, "top_p", 0, 1)) r.sampling.top_p = float(*v);
    if (const ojson* reasoning = opt_object(body, "reasoning"))
        if (auto effort = opt_string(*reasoning, "effort")) r.enable_thinking = !(*effort == "none" || *effort == "minimal");
    r.stream = opt_bool(body, "stream").value_or(false);
    if (const ojson* t = opt_object(body, "text"))
        if (auto it = t->find("format"); it != t->end()) r.response_format = parse_response_format(*it, "text.format");
    return r;
}

// Builds the output items from chat events, and (when streaming) the events that announce them.
class OutputBuilder {
   public:
    // emit(event type, payload) writes one SSE event; null when not streaming.
    using Emit = std::function<bool(const char* type, ojson payload)>;
    explicit OutputBuilder(Emit emit) : emit_(std::move(emit)) {}

    bool add(const text::ChatEvent& e) {
        using K = text::ChatEvent::Kind;
        switch (e.kind) {
            case K::Reasoning:
                if (open_ != Open::Reasoning && !open_item(Open::Reasoning, {{"type", "reasoning"}, {"id", new_id("rs_")}, {"summary", ojson::array()}}))
                    return false;
                text_ += e.text;
                return send("response.reasoning_text.delta", {{"item_id", item_id()}, {"output_index", index()}, {"content_index", 0}, {"delta", e.text}});
            case K::Content:
                if (open_ != Open::Message) {
                    if (!open_item(Open::Message, {{"type", "message"}, {"id", new_id("msg_")}, {"status", "in_progress"}, {"role", "assistant"}, {"content", ojson::array()}}))
                        return false;
                    if (!send("response.content_part.added", {{"item_id", item_id()}, {"output_index", index()}, {"content_index", 0}, {"part", text_part("")}}))
                        return false;
                }
                text_ += e.text;
                return send("response.output_text.delta", {{"item_id", item_id()}, {"output_index", index()}, {"content_index", 0}, {"delta", e.text}, {"logprobs", ojson::array()}});
            case K::ToolCallStart:
                ++n_calls_;
                return open_item(Open::Call, {{"type", "function_call"}, {"id", new_id("fc_")}, {"call_id", new_id("call_")},
                                              {"name", e.text}, {"arguments", ""}, {"status", "in_progress"}});
            case K::ToolCallArgs:
                text_ += e.text;
                return send("response.function_call_arguments.delta", {{"item_id", item_id()}, {"output_index", index()}, {"delta", e.text}});
            case K::ToolCallEnd: return close();
        }
        return true;
    }

    // Closes the open item.
    bool close() {
        if (open_ == Open::None) return true;
        ojson& item = items_.back();
        bool ok = true;
        if (open_ == Open::Reasoning) {
            item["content"] = ojson::array({{{"type", "reasoning_text"}, {"text", text_}}});
            ok = send("response.reasoning_text.done", {{"item_id", item_id()}, {"output_index", index()}, {"content_index", 0}, {"text", text_}});
        } else if (open_ == Open::Message) {
            item["status"] = "completed";
            item["content"] = ojson::array({text_part(text_)});
            ok = send("response.output_text.done", {{"item_id", item_id()}, {"output_index", index()}, {"content_index", 0}, {"text", text_}, {"logprobs", ojson::array()}}) &&
                 send("response.content_part.done", {{"item_id", item_id()}, {"output_index", index()}, {"content_index", 0}, {"part", text_part(text_)}});
        } else if (open_ == Open::Call) {
            item["status"] = "completed";
            item["arguments"] = text_;
            ok = send("response.function_call_arguments.done", {{"item_id", item_id()}, {"output_index", index()}, {"arguments", text_}});
        }
        open_ = Open::None;
        text_.clear();
        return ok && send("response.output_item.done", {{"output_index", index()}, {"item", item}});
    }

    const ojson& items() const { return items_; }
    int n_calls() const { return n_calls_; }

   private:
    enum class Open { None, Reasoning, Message, Call };

    static ojson text_part(const std::string& text) {
        return {{"type", "output_text"}, {"text", text}, {"annotations", ojson::array()}, {"logprobs", ojson::array()}};
    }
    bool open_item(Open kind, ojson item) {
        if (!close()) return false;
        items_.push_back(std::move(item));
        open_ = kind;
        return send("response.output_item.added", {{"output_index", index()}, {"item", items_.back()}});
    }
    bool send(const char* type, ojson payload) { return !emit_ || emit_(type, std::move(payload)); }
    std::string item_id() const { return items_.back()["id"].get<std::string>(); }
    int index() const { return int(items_.size()) - 1; }

    Emit emit_;
    ojson items_ = ojson::array();
    Open open_ = Open::None;
    std::string text_;
    int n_calls_ = 0;
};

ojson usage_of(const runtime::JobOutput& end) {
    return {{"input_tokens", end.n_prompt},
            {"input_tokens_details", {{"cached_tokens", end.n_cached}}},
            {"output_tokens", end.n_generated},
            {"output_tokens_details", {{"reasoning_tokens", 0}}},
            {"total_tokens", end.n_prompt + end.n_generated}};
}

}  // namespace

Reply responses(const Backend& b, const ojson& body) {
    ChatRequest r = parse_responses(body);
    auto stream = std::make_shared<ChatStream>(b, r);
    // The response object: echoed request settings plus status, output and usage.
    ojson resp = {{"id", new_id("resp_")},
                  {"object", "response"},
                  {"created_at", now_seconds()},
                  {"status", "in_progress"},
                  {"model", b.model_name},
                  {"output", ojson::array()},
                  {"error", nullptr},
                  {"incomplete_details", nullptr},
                  {"instructions", body.contains("instructions") ? body["instructions"] : ojson()},
                  {"max_output_tokens", r.max_tokens > 0 ? ojson(r.max_tokens) : ojson()},
                  {"parallel_tool_calls", true},
                  {"temperature", r.sampling.temperature},
                  {"top_p", r.sampling.top_p},
                  {"tool_choice", body.contains("tool_choice") ? body["tool_choice"] : ojson("auto")},
                  {"tools", body.contains("tools") ? body["tools"] : ojson::array()},
                  {"store", false},
                  {"metadata", ojson::object()},
                  {"usage", nullptr}};
    auto finish = [](ojson& resp, const OutputBuilder& out, const runtime::JobOutput& end) {
        resp["output"] = out.items();
        resp["usage"] = usage_of(end);
        if (end.finish == runtime::FinishReason::Length) {
            resp["status"] = "incomplete";
            resp["incomplete_details"] = {{"reason", "max_output_tokens"}};
        } else {
            resp["status"] = "completed";
        }
    };

    if (!r.stream) {
        return deferred_json(
            [stream, resp, finish](const AliveFn& alive) mutable -> std::optional<ojson> {
                OutputBuilder out(nullptr);
                const auto end = stream->collect([&](const text::ChatEvent& e) { out.add(e); }, alive);
                if (!end) return std::nullopt;
                out.close();
                finish(resp, out, *end);
                return resp;
            },
            openai::error_body);
    }
    Reply reply;
    reply.streamer = [stream, resp, finish](const SseWrite& write) mutable {
        int64_t seq = 0;
        auto emit = [&](const char* type, ojson payload) {
            ojson ev = {{"type", type}, {"sequence_number", seq++}};
            for (auto& [k, v] : payload.items()) ev[k] = v;
            return write(std::string("event: ") + type + "\ndata: " + dump(ev) + "\n\n");
        };
        OutputBuilder out(emit);
        if (!emit("response.created", {{"response", resp}}) || !emit("response.in_progress", {{"response", resp}})) return;
        for (;;) {
            ChatStream::Piece p = stream->next(1000);
            if (p.idle) {
                if (!write(": keep-alive\n\n")) return;
                continue;
            }
            for (const auto& e : p.events)
                if (!out.add(e)) return;
            if (!p.done) continue;
            if (p.end.finish == runtime::FinishReason::Error) {
                resp["status"] = "failed";
                resp["error"] = {{"code", "server_error"}, {"message", "generation failed: " + p.end.error}};
                emit("response.failed", {{"response", resp}});
                return;
            }
            if (!out.close()) return;
            finish(resp, out, p.end);
            emit(resp["status"] == "completed" ? "response.completed" : "response.incomplete", {{"response", resp}});
            return;
        }
    };
    return reply;
}

}  // namespace hearth::server::openai
