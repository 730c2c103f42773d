// hearth serve: the OpenAI and Anthropic APIs over HTTP, on 127.0.0.1 unless told otherwise.
#include <pthread.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/load_progress.h"
#include "runtime/chat.h"
#include "runtime/engine.h"
#include "runtime/scheduler.h"
#include "runtime/synthetic.h"
#include "server/server.h"

namespace hearth::cli {

namespace {

const std::vector<FlagSpec> kFlags = {
    {"-m,--model", "FILE", "GGUF model file (default: the built-in synthetic demo model)"},
    {"--host", "ADDR", "address to listen on (default 127.0.0.1: this machine only)"},
    {"--port", "N", "port (default 8080; 0 picks a free one and prints it)"},
    {"--api-key", "KEY", "require this key (Authorization: Bearer KEY or x-api-key: KEY) on\n"
                         "                           every route but /health (default: $HEARTH_API_KEY, else none)"},
    {"--parallel", "N", "requests generated at once, each in its own slot (default 1);\n"
                        "                           more requests wait in a queue"},
    {"-c,--ctx-size", "N", "context size of each slot in tokens (default: 8192, at most the model's)"},
    {"-n,--max-tokens", "N", "the most tokens one answer may have, whatever a request asks for\n"
                             "                           (default: no limit but the context)"},
    {"-t,--threads", "N", "threads (default: the number of physical cores)"},
    {"--alias", "NAME", "the model name clients see (default: the file name)"},
    {"--chat-template", "FILE", "a Jinja chat template to use instead of the file's own"},
    {"-h,--help", "", "show this help"},
};

std::string model_alias(const std::string& path) { return std::filesystem::path(path).stem().string(); }

}  // namespace

int cmd_serve(int argc, char** argv) {
    const char* cmd = "serve";
    auto args = Args::parse(kFlags, argc, argv);
    if (!args.ok()) return usage_error(cmd, args.message());
    if (args->has("--help")) {
        print_help(cmd, "[-m MODEL] [--host ADDR] [--port N] [--api-key KEY] [--parallel N] [-c N]",
                   "Serves the model over HTTP for the tools that speak the OpenAI or Anthropic API\n"
                   "(Claude Code, Qwen Code, Codex, aider, Continue, opencode, the official SDKs):\n"
                   "  POST /v1/chat/completions   OpenAI chat, streaming or not, tools, reasoning_content\n"
                   "  POST /v1/completions        OpenAI plain completion\n"
                   "  POST /v1/responses          OpenAI Responses (Codex), streaming or not, function tools\n"
                   "  GET  /v1/models\n"
                   "  POST /v1/messages           Anthropic messages, streaming or not, tools, thinking\n"
                   "  POST /v1/messages/count_tokens\n"
                   "  GET  /health, /metrics      liveness, Prometheus counters\n"
                   "A request that starts like an earlier one (an agent's next turn) reuses that\n"
                   "conversation's memory, so only the new tokens are evaluated.\n\n"
                   "example:\n"
                   "  hearth serve -m qwen3.gguf --port 8080\n"
                   "  OPENAI_BASE_URL=http://127.0.0.1:8080/v1 OPENAI_API_KEY=x your-openai-client\n"
                   "  ANTHROPIC_BASE_URL=http://127.0.0.1:8080 ANTHROPIC_API_KEY=x claude",
                   kFlags);
        return 0;
    }
    if (!args->positional().empty())
        return usage_error(cmd, "unexpected argument '" + args->positional()[0] + "' (the model goes after -m)");
    auto port = args->get_int("--port", 8080);
    auto parallel = args->get_int("--parallel", 1);
    auto ctx = args->get_int("--ctx-size", 0);
    auto threads = args->get_int("--threads", ThreadPool::physical_cores());
    auto max_tokens = args->get_int("--max-tokens", -1);
    for (const Status& s : {port.status(), parallel.status(), ctx.status(), threads.status(), max_tokens.status()})
        if (!s.ok()) return usage_error(cmd, s.message());
    if (*port < 0 || *port > 65535) return usage_error(cmd, "--port must be between 0 and 65535");
    if (*parallel < 1 || *parallel > 256) return usage_error(cmd, "--parallel must be between 1 and 256");
    if (*ctx < 0 || (*ctx > 0 && *ctx < 16)) return usage_error(cmd, "--ctx-size must be at least 16");
    if (*threads < 1 || *threads > 1024) return usage_error(cmd, "--threads must be between 1 and 1024");
    if (args->has("--max-tokens") && *max_tokens < 1) return usage_error(cmd, "--max-tokens must be at least 1");
    server::ServerOptions options;
    options.host = args->get("--host", "127.0.0.1");
    options.port = int(*port);
    options.api_key = args->get("--api-key", std::getenv("HEARTH_API_KEY") ? std::getenv("HEARTH_API_KEY") : "");
    options.http_threads = std::max(64, int(*parallel) * 4);

    // SIGINT and SIGTERM are taken by one thread (below) that stops the server cleanly; every
    // thread started from here on inherits the mask.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    const bool synthetic = !args->has("--model");
    Result<runtime::Engine> engine = error("no model");
    std::string name;
    if (synthetic) {
        std::fprintf(stderr, "hearth serve: no model given (-m): serving the built-in synthetic model "
                             "(random weights, meaningless text).\n");
        auto bytes = runtime::synthetic_model_gguf(*runtime::synthetic_preset("demo"), 1234, int(*threads));
        if (!bytes.ok()) return fail(cmd, bytes.message());
        engine = runtime::load_engine_from_bytes(std::move(bytes.value()), "<built-in synthetic model>", int(*threads));
        name = "hearth-demo";
    } else {
        engine = runtime::load_engine(args->get("--model"), int(*threads), true,
                                      load_progress(args->get("--model")));
        if (engine.ok()) name = model_alias(args->get("--model"));
    }
    if (!engine.ok()) return fail(cmd, engine.message());
    if (args->has("--alias")) name = args->get("--alias");
    Result<runtime::ChatFormat> format = error("no template");
    if (args->has("--chat-template")) {
        std::ifstream in(args->get("--chat-template"), std::ios::binary);
        if (!in) return fail(cmd, args->get("--chat-template") + ": cannot read the chat template");
        std::stringstream text;
        text << in.rdbuf();
        format = runtime::ChatFormat::from_source(text.str(), *engine->tokenizer);
        if (!format.ok()) return fail(cmd, args->get("--chat-template") + ": " + format.message());
    } else {
        format = runtime::ChatFormat::from_engine(*engine);
        if (!format.ok()) return fail(cmd, format.message());
    }

    const model::Config& c = engine->model->config();
    int64_t n_ctx = *ctx > 0 ? *ctx : 8192;
    if (c.n_ctx_train > 0 && n_ctx > c.n_ctx_train) {
        if (*ctx > 0)
            std::fprintf(stderr, "hearth serve: -c %lld is more than the model was trained for; using %lld\n",
                         (long long)n_ctx, (long long)c.n_ctx_train);
        n_ctx = c.n_ctx_train;
    }
    runtime::Scheduler scheduler(*engine->model, *engine->tokenizer, int(*parallel), n_ctx);
    server::Backend backend{.format = &format.value(),
                            .tokenizer = engine->tokenizer.get(),
                            .scheduler = &scheduler,
                            .model_name = name,
                            .n_ctx = n_ctx,
                            .max_tokens = *max_tokens};
    server::Server server(backend, options);
    if (Status st = server.bind(); !st.ok()) return fail(cmd, st.message());

    std::thread waiter([&] {
        int sig = 0;
        sigwait(&signals, &sig);
        std::fprintf(stderr, "hearth serve: stopping\n");
        scheduler.cancel_all();  // open streams end now instead of running to their token limit
        server.stop();
    });
    std::fprintf(stderr,
                 "hearth serve: %s on http://%s:%d (OpenAI: /v1, Anthropic: /v1/messages), %lld slot%s x "
                 "%lld tokens of context, %lld threads%s\n",
                 name.c_str(), options.host.c_str(), server.port(), (long long)*parallel,
                 *parallel == 1 ? "" : "s", (long long)n_ctx, (long long)*threads,
                 options.api_key.empty() ? "" : ", API key required");
    std::fflush(stderr);
    server.serve();
    pthread_kill(waiter.native_handle(), SIGTERM);  // no-op when the waiter already returned
    waiter.join();
    return 0;
}

}  // namespace hearth::cli
