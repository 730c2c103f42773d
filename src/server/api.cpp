// Shared request plumbing: typed field access, rendering a chat request into a job, and turning
// the job's text back into chat events.
#include "server/api.h"

#include <atomic>
#include <chrono>
#include <cmath>
#include <optional>
#include <random>

namespace hearth::server {

namespace {

[[noreturn]] void bad_type(const char* key, const char* want) {
    throw ApiError{400, strfmt("'%s' must be %s", key, want), key};
}

const ojson* find(const ojson& obj, const char* key) {
    if (!obj.is_object()) return nullptr;
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return nullptr;
    return &*it;
}

}  // namespace

std::optional<std::string> opt_string(const ojson& obj, const char* key) {
    const ojson* v = find(obj, key);
    if (!v) return std::nullopt;
    if (!v->is_string()) bad_type(key, "a string");
    return v->get<std::string>();
}

std::optional<double> opt_number(const ojson& obj, const char* key, double lo, double hi) {
    const ojson* v = find(obj, key);
    if (!v) return std::nullopt;
    if (!v->is_number()) bad_type(key, "a number");
    const double x = v->get<double>();
    if (!(x >= lo && x <= hi))
        throw ApiError{400, strfmt("'%s' must be between %g and %g", key, lo, hi), key};
    return x;
}

std::optional<int64_t> opt_int(const ojson& obj, const char* key, int64_t lo, int64_t hi) {
    const ojson* v = find(obj, key);
    if (!v) return std::nullopt;
    int64_t x = 0;
    if (v->is_number_integer()) x = v->get<int64_t>();
    else if (v->is_number_float() && std::floor(v->get<double>()) == v->get<double>() &&
             std::fabs(v->get<double>()) < 9e15)
        x = static_cast<int64_t>(v->get<double>());
    else bad_type(key, "an integer");
    if (x < lo || x > hi)
        throw ApiError{400, strfmt("'%s' must be between %lld and %lld", key, (long long)lo, (long long)hi), key};
    return x;
}

std::optional<bool> opt_bool(const ojson& obj, const char* key) {
    const ojson* v = find(obj, key);
    if (!v) return std::nullopt;
    if (!v->is_boolean()) bad_type(key, "a boolean");
    return v->get<bool>();
}

const ojson* opt_array(const ojson& obj, const char* key) {
    const ojson* v = find(obj, key);
    if (v && !v->is_array()) bad_type(key, "an array");
    return v;
}

const ojson* opt_object(const ojson& obj, const char* key) {
    const ojson* v = find(obj, key);
    if (v && !v->is_object()) bad_type(key, "an object");
    return v;
}

std::string new_id(const char* prefix) {
    static std::atomic<uint64_t> counter{0};
    static const uint64_t salt = std::random_device{}();
    const uint64_t n = ++counter;
    uint64_t x = (salt ^ (n * 0x9E3779B97F4A7C15ull)) * 0xBF58476D1CE4E5B9ull;
    x ^= x >> 31;
    return strfmt("%s%016llx%04llx", prefix, (unsigned long long)x, (unsigned long long)(n & 0xffff));
}

ojson parse_response_format(const ojson& rf, const char* where) {
    if (rf.is_null()) return nullptr;
    if (!rf.is_object()) throw ApiError{400, std::string("'") + where + "' must be an object", where};
    const std::string type = opt_string(rf, "type").value_or("");
    if (type == "text") return nullptr;
    if (type == "json_object") return {{"type", "json_object"}};
    if (type == "json_schema") {
        const ojson* holder = rf.contains("json_schema") ? opt_object(rf, "json_schema") : &rf;
        const ojson* schema = holder ? opt_object(*holder, "schema") : nullptr;
        if (!schema) throw ApiError{400, std::string("'") + where + "' of type json_schema needs a schema object", where};
        return {{"type", "json_schema"}, {"schema", *schema}};
    }
    throw ApiError{400, std::string("'") + where + ".type' must be text, json_object or json_schema", where};
}

namespace {

// The constraint a request's output must follow, or null.
std::shared_ptr<const runtime::Constraint> constraint_for(const ChatRequest& r) {
    if (r.tool_choice == ToolChoice::Required || r.tool_choice == ToolChoice::Named) {
        std::vector<runtime::Constraint::Tool> tools;
        for (const auto& t : r.tools) {
            const ojson& fn = t["function"];
            const std::string name = fn["name"].get<std::string>();
            if (r.tool_choice == ToolChoice::Named && name != r.tool_name) continue;
            ojson params = fn.contains("parameters") ? fn["parameters"] : ojson();
            tools.push_back({name, params});
        }
        if (tools.empty()) throw ApiError{400, "tool_choice names '" + r.tool_name + "', which is not among the tools", "tool_choice"};
        auto c = runtime::Constraint::tool_calls(tools, r.tool_choice == ToolChoice::Required);
        if (!c.ok()) throw ApiError{400, "cannot enforce the tool's parameters: " + c.message(), "tools"};
        return std::make_shared<const runtime::Constraint>(std::move(c.value()));
    }
    if (r.response_format.is_null()) return nullptr;
    if (r.response_format["type"] == "json_object")
        return std::make_shared<const runtime::Constraint>(runtime::Constraint::any_json_object());
    auto c = runtime::Constraint::json_schema(r.response_format["schema"]);
    if (!c.ok()) throw ApiError{400, "cannot enforce this JSON schema: " + c.message(), "response_format"};
    return std::make_shared<const runtime::Constraint>(std::move(c.value()));
}

// The prompt text of a request, as the model sees it.
std::vector<int32_t> render_prompt(const Backend& b, const ChatRequest& r, std::string* text) {
    runtime::RenderOptions opt;
    opt.add_generation_prompt = true;
    opt.enable_thinking = r.enable_thinking;
    opt.preserve_thinking = true;  // earlier turns render byte-stable: the prefix cache hits
    const ojson no_tools;
    auto rendered = b.format->render(r.messages, r.tool_choice == ToolChoice::None ? no_tools : r.tools, opt);
    if (!rendered.ok()) throw ApiError{400, "cannot render the conversation: " + rendered.message(), "messages"};
    *text = std::move(rendered.value());
    return b.format->tokenize(*text);
}

}  // namespace

int64_t count_prompt_tokens(const Backend& b, const ChatRequest& r) {
    std::string text;
    return int64_t(render_prompt(b, r, &text).size());
}

ChatStream::ChatStream(const Backend& b, const ChatRequest& request) : parser_(text::ChatOutputParser::Options{}) {
    runtime::JobSpec spec;
    spec.constraint = constraint_for(request);
    ChatRequest r = request;
    if (spec.constraint) r.enable_thinking = false;  // the constrained output starts at once
    std::string text;
    spec.prompt = render_prompt(b, r, &text);
    n_prompt_ = int64_t(spec.prompt.size());
    if (n_prompt_ >= b.n_ctx)
        throw ApiError{400,
                       strfmt("the conversation has %lld tokens but the context holds %lld (start the "
                              "server with a larger -c)",
                              (long long)n_prompt_, (long long)b.n_ctx),
                       "messages", "context_length_exceeded"};
    text::ChatOutputParser::Options popt = b.format->parser_options(text);
    popt.no_reasoning = spec.constraint != nullptr;
    parser_ = text::ChatOutputParser(popt);
    spec.thinking_open = popt.thinking_open_at_start;
    if (r.thinking_budget >= 0 && !spec.constraint) {
        spec.thinking_budget = r.thinking_budget;
        spec.think_close = b.tokenizer->encode("\n</think>\n\n", true);
    }
    spec.sampling = r.sampling;
    spec.max_tokens = b.cap_tokens(r.max_tokens);
    spec.stop = r.stop;
    job_ = b.scheduler->submit(std::move(spec));
}

ChatStream::~ChatStream() {
    if (job_) job_->cancel();  // no effect on a finished job; frees the slot of an abandoned one
}

std::optional<runtime::JobOutput> ChatStream::collect(const std::function<void(const text::ChatEvent&)>& add,
                                                     const std::function<bool()>& alive) {
    for (;;) {
        Piece p = next(100);
        for (const auto& e : p.events) add(e);
        if (p.done) {
            if (p.end.finish == runtime::FinishReason::Error)
                throw ApiError{500, "generation failed: " + p.end.error};
            return p.end;
        }
        if (!alive()) {
            cancel();
            return std::nullopt;
        }
    }
}

Reply deferred_json(std::function<std::optional<ojson>(const AliveFn&)> make,
                    ojson (*error_shape)(const ApiError&)) {
    Reply reply;
    // Not plain "application/json": the HTTP library would compress that type, and a
    // compressor holds the heartbeat spaces back instead of sending them.
    reply.content_type = "application/json; charset=utf-8";
    reply.streamer = [make = std::move(make), error_shape](const SseWrite& write) {
        using Clock = std::chrono::steady_clock;
        auto last = Clock::now();
        bool gone = false, second = false;
        // A write to a peer that has gone still succeeds (it only draws the peer's reset);
        // the next one fails. So each heartbeat is a pair of spaces, the second a millisecond
        // after the first: a departure shows within one interval, which keeps the tokens
        // generated for nobody few even for a small, fast model.
        const AliveFn alive = [&] {
            const auto now = Clock::now();
            if (!gone && now - last >= std::chrono::milliseconds(second ? 1 : 20)) {
                gone = !write(" ");
                second = !second;
                last = now;
            }
            return !gone;
        };
        std::optional<ojson> body;
        try {
            body = make(alive);
        } catch (const ApiError& e) {
            body = error_shape(e);
        }
        if (body && !gone) write(dump(*body));
    };
    return reply;
}

ChatStream::Piece ChatStream::next(int wait_ms) {
    Piece piece;
    auto out = job_->next(wait_ms);
    if (!out) {
        piece.idle = true;
        return piece;
    }
    piece.events = parser_.feed(out->text);
    if (out->done) {
        for (auto& e : parser_.finish()) piece.events.push_back(std::move(e));
        piece.done = true;
        piece.end = std::move(*out);
    }
    return piece;
}

}  // namespace hearth::server
