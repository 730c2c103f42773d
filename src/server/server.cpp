// Routes onto the adapters, with authentication, JSON parsing, error shaping and metrics.
#include "server/server.h"

#include <httplib.h>

#include <atomic>
#include <cstdio>

namespace hearth::server {

namespace {

enum class Api { OpenAI, Anthropic };

Api api_of(const std::string& path) {
    return path.rfind("/v1/messages", 0) == 0 ? Api::Anthropic : Api::OpenAI;
}

std::string error_json(Api api, const ApiError& e) {
    return dump(api == Api::Anthropic ? anthropic::error_body(e) : openai::error_body(e));
}

// Compares without an early exit, so response times do not reveal how much of a key matched.
bool same_secret(const std::string& a, const std::string& b) {
    if (a.size() != b.size()) return false;
    unsigned char diff = 0;
    for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
    return diff == 0;
}

}  // namespace

struct Server::Impl {
    Backend backend;
    ServerOptions options;
    httplib::Server http;
    int port = 0;
    std::atomic<int64_t> http_requests{0};
    std::atomic<int64_t> http_errors{0};

    bool authorized(const httplib::Request& req) const {
        if (options.api_key.empty()) return true;
        std::string auth = req.get_header_value("Authorization");
        if (auth.rfind("Bearer ", 0) == 0 && same_secret(auth.substr(7), options.api_key)) return true;
        return same_secret(req.get_header_value("x-api-key"), options.api_key);
    }

    void send_error(Api api, const ApiError& e, httplib::Response& res) {
        ++http_errors;
        std::fprintf(stderr, "hearth serve: error %d: %s\n", e.status, e.message.c_str());
        res.status = e.status;
        res.set_content(error_json(api, e), "application/json");
    }

    using Handler = std::function<Reply(const Backend&, const ojson&)>;

    // A JSON route: authentication, body parsing, the adapter, and its reply or error.
    void post(const std::string& path, Handler handler) {
        http.Post(path, [this, handler](const httplib::Request& req, httplib::Response& res) {
            ++http_requests;
            const Api api = api_of(req.path);
            if (!authorized(req)) return send_error(api, {401, "invalid or missing API key"}, res);
            ojson body = ojson::parse(req.body, nullptr, false);
            if (body.is_discarded()) return send_error(api, {400, "the request body is not valid JSON"}, res);
            Reply reply;
            try {
                reply = handler(backend, body);
            } catch (const ApiError& e) {
                return send_error(api, e, res);
            } catch (const std::exception& e) {
                return send_error(api, {500, std::string("internal error: ") + e.what()}, res);
            }
            if (!reply.streamer) {
                res.status = reply.status;
                res.set_content(reply.body, "application/json");
                return;
            }
            res.set_header("Cache-Control", "no-cache");
            // Streams are "text/event-stream" exactly: most other types let the HTTP library
            // compress the stream, and the client then gets it all at once at the end.
            res.set_chunked_content_provider(
                reply.content_type, [streamer = std::move(reply.streamer)](size_t, httplib::DataSink& sink) {
                    try {
                        streamer([&sink](const std::string& chunk) { return sink.write(chunk.data(), chunk.size()); });
                    } catch (const std::exception& e) {  // never let one stream take the server down
                        std::fprintf(stderr, "hearth serve: stream aborted: %s\n", e.what());
                        return false;
                    }
                    sink.done();
                    return true;
                });
        });
    }

    std::string metrics() const {
        const runtime::SchedulerStats s = backend.scheduler->stats();
        std::string out;
        auto metric = [&](const char* name, const char* type, const char* help, double value) {
            out += strfmt("# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name, type, name, value);
        };
        metric("hearth_http_requests_total", "counter", "HTTP requests received on API routes.", double(http_requests));
        metric("hearth_http_errors_total", "counter", "API requests answered with an error status.", double(http_errors));
        metric("hearth_requests_total", "counter", "Generations finished.", double(s.requests));
        metric("hearth_prompt_tokens_total", "counter", "Prompt tokens evaluated.", double(s.prompt_tokens));
        metric("hearth_prefix_cache_hit_tokens_total", "counter", "Prompt tokens reused from the prefix cache.", double(s.cached_tokens));
        metric("hearth_generated_tokens_total", "counter", "Tokens generated.", double(s.generated_tokens));
        metric("hearth_queue_depth", "gauge", "Requests waiting for a slot.", double(s.queued));
        metric("hearth_active_slots", "gauge", "Requests being generated.", double(s.active));
        metric("hearth_slots", "gauge", "Sequences decoded at once (--parallel).", double(backend.scheduler->n_slots()));
        metric("hearth_prompt_tokens_per_second", "gauge", "Prompt tokens per second, over all requests.",
               s.prompt_seconds > 0 ? double(s.prompt_tokens) / s.prompt_seconds : 0.0);
        metric("hearth_generated_tokens_per_second", "gauge", "Generated tokens per second of decoding, over all requests.",
               s.generate_seconds > 0 ? double(s.generated_tokens) / s.generate_seconds : 0.0);
        return out;
    }

    void routes() {
        http.Get("/health", [](const httplib::Request&, httplib::Response& res) {
            res.set_content(R"({"status":"ok"})", "application/json");
        });
        http.Get("/", [](const httplib::Request&, httplib::Response& res) {
            res.set_content("hearth is running: OpenAI API under /v1 (chat/completions, completions, responses, models), "
                            "Anthropic API under /v1/messages\n",
                            "text/plain");
        });
        http.Get("/metrics", [this](const httplib::Request& req, httplib::Response& res) {
            if (!authorized(req)) return send_error(Api::OpenAI, {401, "invalid or missing API key"}, res);
            res.set_content(metrics(), "text/plain; version=0.0.4");
        });
        for (const char* path : {"/v1/models", "/models"}) {
            http.Get(path, [this](const httplib::Request& req, httplib::Response& res) {
                ++http_requests;
                if (!authorized(req)) return send_error(Api::OpenAI, {401, "invalid or missing API key"}, res);
                res.set_content(dump(openai::models(backend)), "application/json");
            });
        }
        for (const char* path : {"/v1/chat/completions", "/chat/completions"}) post(path, openai::chat_completions);
        for (const char* path : {"/v1/completions", "/completions"}) post(path, openai::completions);
        for (const char* path : {"/v1/responses", "/responses"}) post(path, openai::responses);
        post("/v1/messages", anthropic::messages);
        post("/v1/messages/count_tokens", anthropic::count_tokens);

        // Unrouted paths, oversized bodies and the like: give them an API-shaped body too.
        http.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
            if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
            std::string msg = res.status == 404   ? "no route for " + req.method + " " + req.path
                              : res.status == 413 ? "the request body is too large"
                                                  : strfmt("HTTP error %d", res.status);
            res.set_content(error_json(api_of(req.path), {res.status, msg}), "application/json");
            return httplib::Server::HandlerResponse::Handled;
        }));
        http.set_exception_handler([](const httplib::Request& req, httplib::Response& res, std::exception_ptr) {
            res.status = 500;
            res.set_content(error_json(api_of(req.path), {500, "internal error"}), "application/json");
        });
        http.set_logger([](const httplib::Request& req, const httplib::Response& res) {
            std::fprintf(stderr, "hearth serve: %s %s -> %d\n", req.method.c_str(), req.path.c_str(), res.status);
        });
    }
};

Server::Server(Backend backend, ServerOptions options) : impl_(std::make_unique<Impl>()) {
    impl_->backend = std::move(backend);
    impl_->options = std::move(options);
    impl_->http.set_payload_max_length(impl_->options.max_body_bytes);
    const int n = impl_->options.http_threads;
    impl_->http.new_task_queue = [n] { return new httplib::ThreadPool(size_t(n)); };
    impl_->routes();
}

Server::~Server() = default;

Status Server::bind() {
    Impl& s = *impl_;
    if (s.options.port == 0) {
        s.port = s.http.bind_to_any_port(s.options.host);
        if (s.port <= 0) return error("cannot listen on " + s.options.host);
    } else {
        if (!s.http.bind_to_port(s.options.host, s.options.port))
            return error(strfmt("cannot listen on %s:%d (is the port in use, or the address not local?)",
                                s.options.host.c_str(), s.options.port));
        s.port = s.options.port;
    }
    return {};
}

int Server::port() const { return impl_->port; }

void Server::serve() { impl_->http.listen_after_bind(); }

void Server::stop() { impl_->http.stop(); }

}  // namespace hearth::server
