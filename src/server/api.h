// The one internal chat request the OpenAI and Anthropic adapters translate into, the stream of
// chat events a request produces, and the request-validation helpers the adapters share.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "runtime/chat.h"
#include "runtime/scheduler.h"

namespace hearth::server {

using ojson = nlohmann::ordered_json;

// A request the client got wrong: becomes a 4xx with an error body shaped as the API shapes
// errors. Thrown by the request parsers and caught by the route wrapper; never leaves the
// server layer.
struct ApiError {
    int status = 400;
    std::string message;
    std::string param;  // the offending field, when there is one
    std::string code;   // e.g. "context_length_exceeded"
};

// Field access with type checks: absent or null gives nullopt, a wrong type throws ApiError.
std::optional<std::string> opt_string(const ojson& obj, const char* key);
std::optional<double> opt_number(const ojson& obj, const char* key, double lo, double hi);
std::optional<int64_t> opt_int(const ojson& obj, const char* key, int64_t lo, int64_t hi);
std::optional<bool> opt_bool(const ojson& obj, const char* key);
const ojson* opt_array(const ojson& obj, const char* key);
const ojson* opt_object(const ojson& obj, const char* key);

enum class ToolChoice { Auto, None, Required, Named };

struct ChatRequest {
    ojson messages = ojson::array();  // normalized (runtime::normalize_messages)
    ojson tools;                      // OpenAI-shaped array, or null
    ToolChoice tool_choice = ToolChoice::Auto;
    std::string tool_name;            // Named
    std::optional<bool> enable_thinking;
    int64_t thinking_budget = -1;     // tokens of reasoning before </think> is forced; < 0: none
    int64_t max_tokens = -1;          // < 0: until the context is full
    runtime::SamplerParams sampling;
    std::vector<std::string> stop;
    // Output shape: null (free text), {"type": "json_object"} or {"type": "json_schema",
    // "schema": ...}; enforced by constrained decoding, as is a forced tool call.
    ojson response_format;
    bool stream = false;
};

// response_format in OpenAI's chat form ({"type": ..., "json_schema": {"schema": ...}}) or the
// Responses form (text.format: {"type": ..., "schema": ...}) → the internal form above.
ojson parse_response_format(const ojson& rf, const char* where);

// What the server holds for the adapters: the model's chat format, the scheduler, the name
// clients address the model by.
struct Backend {
    const runtime::ChatFormat* format = nullptr;
    const text::Tokenizer* tokenizer = nullptr;
    runtime::Scheduler* scheduler = nullptr;
    std::string model_name;
    int64_t n_ctx = 0;
    int64_t max_tokens = -1;  // the most tokens an answer may have (< 0: up to the context)

    // What a request asking for `requested` tokens (< 0: no limit) gets.
    int64_t cap_tokens(int64_t requested) const {
        if (max_tokens < 0) return requested;
        return requested < 0 ? max_tokens : std::min(requested, max_tokens);
    }
};

// A running chat generation: renders the request, submits it, and turns the job's text into
// chat events.
class ChatStream {
   public:
    // Renders and tokenizes; throws ApiError on template errors or context overflow.
    ChatStream(const Backend& backend, const ChatRequest& request);
    ~ChatStream();

    struct Piece {
        std::vector<text::ChatEvent> events;
        bool idle = false;  // nothing arrived within wait_ms
        bool done = false;
        runtime::JobOutput end;  // valid when done
    };
    // Blocks until the next output arrives, or returns an empty piece after `wait_ms` without
    // output (so a streaming writer can check its connection).
    Piece next(int wait_ms);
    // The whole answer at once (non-streaming requests): hands every event to `add` and
    // returns how the job ended, or nullopt (the job cancelled) once `alive` says the client
    // has gone. A failed generation throws ApiError 500.
    std::optional<runtime::JobOutput> collect(const std::function<void(const text::ChatEvent&)>& add,
                                              const std::function<bool()>& alive);
    void cancel() { job_->cancel(); }
    int64_t n_prompt() const { return n_prompt_; }

   private:
    std::shared_ptr<runtime::Job> job_;
    text::ChatOutputParser parser_;
    int64_t n_prompt_ = 0;
};

// Renders the request as the model would see it and counts its tokens (count_tokens).
int64_t count_prompt_tokens(const Backend& backend, const ChatRequest& request);

// Writes one server-sent-event chunk; false when the client is gone.
using SseWrite = std::function<bool(const std::string& chunk)>;

// An adapter's answer: a full JSON response, or (stream requests, once validated) the writer of
// the event stream. Bad requests throw ApiError before either exists, so they get a 4xx status.
struct Reply {
    int status = 200;
    std::string body;                                // JSON, when not streaming
    std::function<void(const SseWrite&)> streamer;  // set when streaming
    std::string content_type = "text/event-stream";  // of what the streamer writes
};

// A non-streaming answer that is generated after the handler returns, so that the server can
// notice a client that leaves: `make` builds the JSON body, calling `alive()` as it goes,
// which writes two spaces ahead of the body every 20 ms (JSON allows leading whitespace) and
// returns false once that write fails; `make` then cancels its job and returns nullopt. An
// ApiError thrown by `make` becomes the body `error_shape` gives it (the status is sent
// already).
using AliveFn = std::function<bool()>;
Reply deferred_json(std::function<std::optional<ojson>(const AliveFn&)> make,
                    ojson (*error_shape)(const ApiError&));

namespace openai {
ojson error_body(const ApiError& e);
ChatRequest parse_chat(const ojson& body);
Reply chat_completions(const Backend& b, const ojson& body);
Reply completions(const Backend& b, const ojson& body);
Reply responses(const Backend& b, const ojson& body);  // the Responses API (responses.cpp)
ojson models(const Backend& b);
}  // namespace openai

namespace anthropic {
ojson error_body(const ApiError& e);
ChatRequest parse_messages(const ojson& body);
Reply messages(const Backend& b, const ojson& body);
Reply count_tokens(const Backend& b, const ojson& body);
}  // namespace anthropic

// JSON text for the wire. Model output can hold invalid UTF-8 (a random or confused model
// emits stray bytes): those become U+FFFD instead of an exception.
inline std::string dump(const ojson& j) { return j.dump(-1, ' ', false, ojson::error_handler_t::replace); }

// "chatcmpl-<hex>" and the like: unique enough ids for responses and tool calls.
std::string new_id(const char* prefix);

}  // namespace hearth::server
