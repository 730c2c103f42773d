// OpenAI adapter: /v1/chat/completions, /v1/completions and /v1/models onto the internal chat
// request, with OpenAI's response, chunk and error shapes.
#include <chrono>

#include "runtime/generate.h"
#include "server/api.h"

namespace hearth::server::openai {

namespace {

int64_t now_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

const char* finish_reason(const runtime::JobOutput& end, bool tool_calls) {
    switch (end.finish) {
        case runtime::FinishReason::Length: return "length";
        case runtime::FinishReason::Eog:
        case runtime::FinishReason::Stop: return tool_calls ? "tool_calls" : "stop";
        default: return "stop";
    }
}

ojson usage(const runtime::JobOutput& end) {
    return {{"prompt_tokens", end.n_prompt},
            {"completion_tokens", end.n_generated},
            {"total_tokens", end.n_prompt + end.n_generated},
            {"prompt_tokens_details", {{"cached_tokens", end.n_cached}}}};
}

std::vector<std::string> parse_stop(const ojson& body, const char* key) {
    std::vector<std::string> stop;
    auto it = body.find(key);
    if (it == body.end() || it->is_null()) return stop;
    if (it->is_string()) {
        stop.push_back(it->get<std::string>());
    } else if (it->is_array()) {
        for (const auto& s : *it) {
            if (!s.is_string()) throw ApiError{400, std::string("'") + key + "' must be a string or an array of strings", key};
            stop.push_back(s.get<std::string>());
        }
    } else {
        throw ApiError{400, std::string("'") + key + "' must be a string or an array of strings", key};
    }
    if (stop.size() > 16) throw ApiError{400, std::string("'") + key + "' has more than 16 entries", key};
    std::erase_if(stop, [](const std::string& s) { return s.empty(); });
    return stop;
}

void parse_sampling(const ojson& body, runtime::SamplerParams& s) {
    if (auto v = opt_number(body, "temperature", 0, 2)) s.temperature = float(*v);
    if (auto v = opt_number(body, "top_p", 0, 1)) s.top_p = float(*v);
    if (auto v = opt_int(body, "top_k", 0, 1 << 20)) s.top_k = int(*v);
    if (auto v = opt_number(body, "min_p", 0, 1)) s.min_p = float(*v);
    if (auto v = opt_number(body, "presence_penalty", -2, 2)) s.presence_penalty = float(*v);
    if (auto v = opt_number(body, "frequency_penalty", -2, 2)) s.frequency_penalty = float(*v);
    if (auto v = opt_number(body, "repeat_penalty", 0.01, 10)) s.repeat_penalty = float(*v);
    if (auto v = opt_int(body, "seed", INT64_MIN, INT64_MAX)) s.seed = uint64_t(*v);
}

int64_t parse_max_tokens(const ojson& body) {
    auto a = opt_int(body, "max_completion_tokens", 1, INT64_MAX);
    auto b = opt_int(body, "max_tokens", 1, INT64_MAX);
    return a ? *a : b ? *b : -1;
}

// Maps streamed chat events onto chunk deltas; remembers which tool calls were seen.
struct DeltaBuilder {
    int n_tool_calls = 0;
    std::vector<std::string> call_ids;

    // One delta per event; adjacent content/reasoning events are already merged.
    ojson delta(const text::ChatEvent& e) {
        using K = text::ChatEvent::Kind;
        switch (e.kind) {
            case K::Reasoning: return {{"reasoning_content", e.text}};
            case K::Content: return {{"content", e.text}};
            case K::ToolCallStart: {
                call_ids.push_back(new_id("call_"));
                ++n_tool_calls;
                return {{"tool_calls",
                         ojson::array({{{"index", e.tool_index},
                                        {"id", call_ids.back()},
                                        {"type", "function"},
                                        {"function", {{"name", e.text}, {"arguments", ""}}}}})}};
            }
            case K::ToolCallArgs:
                return {{"tool_calls",
                         ojson::array({{{"index", e.tool_index}, {"function", {{"arguments", e.text}}}}})}};
            case K::ToolCallEnd: return nullptr;
        }
        return nullptr;
    }
};

}  // namespace

ojson error_body(const ApiError& e) {
    const char* type = e.status == 401 ? "authentication_error"
                       : e.status == 404 ? "not_found_error"
                       : e.status >= 500 ? "server_error"
                                         : "invalid_request_error";
    return {{"error",
             {{"message", e.message},
              {"type", type},
              {"param", e.param.empty() ? ojson() : ojson(e.param)},
              {"code", e.code.empty() ? ojson() : ojson(e.code)}}}};
}

ChatRequest parse_chat(const ojson& body) {
    if (!body.is_object()) throw ApiError{400, "the request body must be a JSON object"};
    ChatRequest r;
    const ojson* messages = opt_array(body, "messages");
    if (!messages) throw ApiError{400, "'messages' is required", "messages"};
    if (messages->empty()) throw ApiError{400, "'messages' must not be empty", "messages"};
    auto norm = runtime::normalize_messages(*messages);
    if (!norm.ok()) throw ApiError{400, norm.message(), "messages"};
    r.messages = std::move(norm.value());
    opt_string(body, "model");
    if (auto n = opt_int(body, "n", 1, 1)) (void)n;

    if (const ojson* tools = opt_array(body, "tools")) {
        for (size_t i = 0; i < tools->size(); ++i) {
            const ojson& t = (*tools)[i];
            const std::string where = strfmt("tools[%zu]", i);
            if (!t.is_object() || !t.contains("function") || !t["function"].is_object())
                throw ApiError{400, where + " must be {\"type\": \"function\", \"function\": {...}}", where};
            if (!t["function"].contains("name") || !t["function"]["name"].is_string())
                throw ApiError{400, where + ".function.name must be a string", where};
        }
        if (!tools->empty()) r.tools = *tools;
    }
    if (auto it = body.find("tool_choice"); it != body.end() && !it->is_null()) {
        if (it->is_string()) {
            const std::string c = it->get<std::string>();
            if (c == "none") r.tool_choice = ToolChoice::None;
            else if (c == "auto") r.tool_choice = ToolChoice::Auto;
            else if (c == "required") r.tool_choice = ToolChoice::Required;
            else throw ApiError{400, "'tool_choice' must be none, auto, required or a function", "tool_choice"};
        } else if (it->is_object() && it->contains("function") && (*it)["function"].is_object() &&
                   (*it)["function"].contains("name") && (*it)["function"]["name"].is_string()) {
            r.tool_choice = ToolChoice::Named;
            r.tool_name = (*it)["function"]["name"].get<std::string>();
        } else {
            throw ApiError{400, "'tool_choice' must be none, auto, required or {\"type\": \"function\", \"function\": {\"name\": ...}}", "tool_choice"};
        }
        if ((r.tool_choice == ToolChoice::Required || r.tool_choice == ToolChoice::Named) && r.tools.is_null())
            throw ApiError{400, "'tool_choice' asks for a tool call but no 'tools' were given", "tool_choice"};
    }

    parse_sampling(body, r.sampling);
    r.max_tokens = parse_max_tokens(body);
    r.stop = parse_stop(body, "stop");
    r.stream = opt_bool(body, "stream").value_or(false);
    if (const ojson* so = opt_object(body, "stream_options")) opt_bool(*so, "include_usage");
    if (auto it = body.find("response_format"); it != body.end()) r.response_format = parse_response_format(*it, "response_format");

    if (const ojson* kw = opt_object(body, "chat_template_kwargs"))
        if (auto t = opt_bool(*kw, "enable_thinking")) r.enable_thinking = *t;
    if (auto budget = opt_int(body, "thinking_budget_tokens", 0, INT64_MAX)) r.thinking_budget = *budget;
    if (auto effort = opt_string(body, "reasoning_effort"))
        r.enable_thinking = !(*effort == "none" || *effort == "minimal");
    return r;
}

Reply chat_completions(const Backend& b, const ojson& body) {
    ChatRequest r = parse_chat(body);
    bool include_usage = false;
    if (const ojson* so = opt_object(body, "stream_options"))
        include_usage = opt_bool(*so, "include_usage").value_or(false);
    auto stream = std::make_shared<ChatStream>(b, r);
    const std::string id = new_id("chatcmpl-");
    const int64_t created = now_seconds();
    const std::string model = b.model_name;

    if (!r.stream) {
        return deferred_json(
            [stream, id, created, model](const AliveFn& alive) -> std::optional<ojson> {
                runtime::ChatReply reply;
                const auto end = stream->collect([&](const text::ChatEvent& e) { reply.add(e); }, alive);
                if (!end) return std::nullopt;
                ojson message = reply.to_message();
                if (message.contains("tool_calls"))  // ids unique across the conversation
                    for (auto& call : message["tool_calls"]) call["id"] = new_id("call_");
                ojson choice = {{"index", 0},
                                {"message", message},
                                {"logprobs", nullptr},
                                {"finish_reason", finish_reason(*end, !reply.tool_calls.empty())}};
                return ojson{{"id", id},       {"object", "chat.completion"},     {"created", created},
                             {"model", model}, {"choices", ojson::array({choice})}, {"usage", usage(*end)}};
            },
            error_body);
    }

    Reply reply;
    reply.streamer = [stream, id, created, model, include_usage](const SseWrite& write) {
        DeltaBuilder deltas;
        auto chunk = [&](ojson delta, ojson finish) {
            ojson choice = {{"index", 0}, {"delta", std::move(delta)}, {"logprobs", nullptr}, {"finish_reason", std::move(finish)}};
            ojson c = {{"id", id},       {"object", "chat.completion.chunk"}, {"created", created},
                       {"model", model}, {"choices", ojson::array({choice})}};
            if (include_usage) c["usage"] = nullptr;
            return write("data: " + dump(c) + "\n\n");
        };
        if (!chunk({{"role", "assistant"}, {"content", ""}}, nullptr)) return;
        for (;;) {
            ChatStream::Piece p = stream->next(1000);
            if (p.idle) {
                if (!write(": keep-alive\n\n")) return;  // notices a closed connection
                continue;
            }
            for (const auto& e : p.events) {
                ojson d = deltas.delta(e);
                if (!d.is_null() && !chunk(std::move(d), nullptr)) return;
            }
            if (!p.done) continue;
            if (p.end.finish == runtime::FinishReason::Error) {
                write("data: " + dump(error_body({500, "generation failed: " + p.end.error})) + "\n\n");
                return;
            }
            chunk(ojson::object(), finish_reason(p.end, deltas.n_tool_calls > 0));
            if (include_usage) {
                ojson u = {{"id", id},       {"object", "chat.completion.chunk"}, {"created", created},
                           {"model", model}, {"choices", ojson::array()},         {"usage", usage(p.end)}};
                write("data: " + dump(u) + "\n\n");
            }
            write("data: [DONE]\n\n");
            return;
        }
    };
    return reply;
}

Reply completions(const Backend& b, const ojson& body) {
    if (!body.is_object()) throw ApiError{400, "the request body must be a JSON object"};
    auto prompt = opt_string(body, "prompt");
    if (!prompt) throw ApiError{400, "'prompt' is required and must be a string", "prompt"};
    runtime::JobSpec spec;
    if (b.tokenizer->add_bos() && b.tokenizer->bos_id() >= 0) spec.prompt.push_back(b.tokenizer->bos_id());
    for (int32_t t : b.tokenizer->encode(*prompt, true)) spec.prompt.push_back(t);
    if (spec.prompt.empty()) throw ApiError{400, "'prompt' is empty", "prompt"};
    if (int64_t(spec.prompt.size()) >= b.n_ctx)
        throw ApiError{400, strfmt("the prompt has %zu tokens but the context holds %lld", spec.prompt.size(), (long long)b.n_ctx),
                       "prompt", "context_length_exceeded"};
    parse_sampling(body, spec.sampling);
    spec.max_tokens = b.cap_tokens(opt_int(body, "max_tokens", 1, INT64_MAX).value_or(16));
    spec.stop = parse_stop(body, "stop");
    const bool stream = opt_bool(body, "stream").value_or(false);
    opt_string(body, "model");
    const std::string id = new_id("cmpl-");
    const int64_t created = now_seconds();
    const std::string model = b.model_name;
    // Cancels the job when the last holder lets go (a client that left mid-stream).
    struct Owned {
        std::shared_ptr<runtime::Job> job;
        ~Owned() { job->cancel(); }
    };
    auto owned = std::make_shared<Owned>();
    owned->job = b.scheduler->submit(std::move(spec));
    auto choice = [id, created, model](const std::string& text, ojson finish) {
        ojson c = {{"text", text}, {"index", 0}, {"logprobs", nullptr}, {"finish_reason", finish}};
        return ojson{{"id", id}, {"object", "text_completion"}, {"created", created}, {"model", model}, {"choices", ojson::array({c})}};
    };
    auto reason = [](const runtime::JobOutput& o) { return o.finish == runtime::FinishReason::Length ? "length" : "stop"; };

    if (!stream) {
        return deferred_json(
            [owned, choice, reason](const AliveFn& alive) -> std::optional<ojson> {
                std::string text;
                for (;;) {
                    const auto out = owned->job->next(100);
                    if (!out) {
                        if (!alive()) return std::nullopt;  // ~Owned cancels the job
                        continue;
                    }
                    text += out->text;
                    if (!out->done) {
                        if (!alive()) return std::nullopt;
                        continue;
                    }
                    if (out->finish == runtime::FinishReason::Error)
                        throw ApiError{500, "generation failed: " + out->error};
                    ojson r = choice(text, reason(*out));
                    r["usage"] = usage(*out);
                    return r;
                }
            },
            error_body);
    }
    Reply reply;
    reply.streamer = [owned, choice, reason](const SseWrite& write) {
        for (;;) {
            auto out = owned->job->next(1000);
            if (!out) {
                if (!write(": keep-alive\n\n")) return;
                continue;
            }
            if (out->done && out->finish == runtime::FinishReason::Error) {
                write("data: " + dump(error_body({500, "generation failed: " + out->error})) + "\n\n");
                return;
            }
            if (!out->text.empty() && !write("data: " + dump(choice(out->text, nullptr)) + "\n\n")) return;
            if (out->done) {
                ojson last = choice("", reason(*out));
                last["usage"] = usage(*out);
                write("data: " + dump(last) + "\n\n");
                write("data: [DONE]\n\n");
                return;
            }
        }
    };
    return reply;
}

ojson models(const Backend& b) {
    return {{"object", "list"},
            {"data", ojson::array({{{"id", b.model_name}, {"object", "model"}, {"created", now_seconds()}, {"owned_by", "hearth"}}})}};
}

}  // namespace hearth::server::openai
