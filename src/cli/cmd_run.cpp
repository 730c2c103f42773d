// hearth run: load a model, evaluate a prompt, stream the generated text to stdout and the
// speed figures to stderr. Without -m it runs the built-in synthetic demo model.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/load_progress.h"
#include "cli/sampling_flags.h"
#include "runtime/constraint.h"
#include "runtime/engine.h"
#include "runtime/generate.h"
#include "runtime/synthetic.h"

namespace hearth::cli {

namespace {

const std::vector<FlagSpec> kFlags = [] {
    std::vector<FlagSpec> f = {
        {"-m,--model", "FILE", "GGUF model file (default: the built-in synthetic demo model)"},
        {"-p,--prompt", "TEXT", "the prompt (special-token text such as <|im_start|> is recognised)"},
        {"-f,--file", "FILE", "read the prompt from a file"},
        {"-n,--n-predict", "N", "tokens to generate (default 128; -1: until end of text)"},
        {"-c,--ctx-size", "N", "context size in tokens (default: 4096, at most the model's)"},
        {"-t,--threads", "N", "threads (default: the number of physical cores)"},
        {"--cache-type", "TYPE", "KV cache type: f32, f16 (default) or q8_0"},
    };
    const std::vector<FlagSpec> sampling = sampling_flags("random seed (default 0); same seed, same output");
    f.insert(f.end(), sampling.begin(), sampling.end());
    f.insert(f.end(), std::initializer_list<FlagSpec>{
        {"--speculate", "KIND", "speculative decoding: none (default), ngram (prompt lookup) or\n"
                                "                           mtp (the model's MTP head); same output, faster"},
        {"--draft", "N", "most tokens one speculative draft proposes (default 8)"},
        {"--json-schema", "SCHEMA",
         "constrain the output to JSON valid against SCHEMA (JSON text,\n"
         "                           or @FILE to read it from a file)"},
        {"--json", "", "constrain the output to a JSON object"},
        {"-h,--help", "", "show this help"},
    });
    return f;
}();

struct RunOptions {
    int64_t n_predict, n_ctx, threads, n_draft;
    runtime::SamplerParams sampling;
    runtime::Speculation speculation;
};

Result<RunOptions> read_options(const Args& a) {
    RunOptions o{};
    auto n = a.get_int("--n-predict", 128);
    auto c = a.get_int("--ctx-size", 0);
    auto t = a.get_int("--threads", ThreadPool::physical_cores());
    auto draft = a.get_int("--draft", 8);
    if (!draft.ok()) return draft.status();
    if (*draft < 1 || *draft > 64) return error("--draft must be between 1 and 64");
    const std::string spec = a.get("--speculate", "none");
    if (spec == "none") o.speculation = runtime::Speculation::None;
    else if (spec == "ngram") o.speculation = runtime::Speculation::Ngram;
    else if (spec == "mtp") o.speculation = runtime::Speculation::Mtp;
    else return error("--speculate: unknown kind '" + spec + "' (none, ngram, mtp)");
    o.n_draft = *draft;
    auto sampling = read_sampling(a);
    for (const Status& s : {n.status(), c.status(), t.status(), sampling.status()}) {
        if (!s.ok()) return s;
    }
    if (*t < 1 || *t > 1024) return error("--threads must be between 1 and 1024");
    if (*c < 0) return error("--ctx-size must be positive");
    if (*n < -1) return error("--n-predict must be -1 or more");
    o.n_predict = *n;
    o.n_ctx = *c;
    o.threads = *t;
    o.sampling = *sampling;
    return o;
}

Result<std::string> read_prompt(const Args& a, bool synthetic) {
    if (a.has("--prompt") && a.has("--file")) return error("give either -p or -f, not both");
    if (a.has("--file")) {
        std::ifstream in(a.get("--file"), std::ios::binary);
        if (!in) return error(a.get("--file") + ": cannot read the prompt file");
        std::stringstream ss;
        ss << in.rdbuf();
        return ss.str();
    }
    if (a.has("--prompt")) return a.get("--prompt");
    if (synthetic) return std::string("The hearth keeps the fire warm and the code runs fast");
    return error("missing prompt: give -p TEXT or -f FILE");
}

// --json-schema / --json as a compiled constraint; null when neither is given.
Result<std::shared_ptr<const runtime::Constraint>> read_constraint(const Args& a) {
    if (a.has("--json") && a.has("--json-schema"))
        return error("give either --json or --json-schema, not both");
    if (a.has("--json"))
        return std::make_shared<const runtime::Constraint>(runtime::Constraint::any_json_object());
    if (!a.has("--json-schema")) return std::shared_ptr<const runtime::Constraint>();
    std::string text = a.get("--json-schema");
    if (!text.empty() && text[0] == '@') {
        std::ifstream in(text.substr(1), std::ios::binary);
        if (!in) return error("--json-schema: cannot read " + text.substr(1));
        std::stringstream ss;
        ss << in.rdbuf();
        text = ss.str();
    }
    const auto schema = nlohmann::ordered_json::parse(text, nullptr, false);
    if (schema.is_discarded()) return error("--json-schema: not valid JSON");
    auto c = runtime::Constraint::json_schema(schema);
    if (!c.ok()) return error("--json-schema: " + c.message());
    return std::make_shared<const runtime::Constraint>(std::move(c.value()));
}

}  // namespace

int cmd_run(int argc, char** argv) {
    const char* cmd = "run";
    auto args = Args::parse(kFlags, argc, argv);
    if (!args.ok()) return usage_error(cmd, args.message());
    if (args->has("--help")) {
        print_help(cmd, "[-m MODEL] (-p PROMPT | -f FILE) [options]",
                   "Generates text from a prompt and streams it to stdout; load time, prompt\n"
                   "speed and generation speed go to stderr. Without -m, a small built-in model\n"
                   "with random weights (real qwen3 architecture) runs instead: its text is\n"
                   "meaningless, but every part of the engine runs.",
                   kFlags);
        return 0;
    }
    if (!args->positional().empty())
        return usage_error(cmd, "unexpected argument '" + args->positional()[0] + "' (the prompt goes after -p)");
    auto opt = read_options(*args);
    if (!opt.ok()) return usage_error(cmd, opt.message());
    auto cache_type = model::parse_cache_type(args->get("--cache-type", "f16"));
    if (!cache_type.ok()) return usage_error(cmd, "--cache-type: " + cache_type.message());
    const bool synthetic = !args->has("--model");
    auto prompt_text = read_prompt(*args, synthetic);
    if (!prompt_text.ok()) return usage_error(cmd, prompt_text.message());
    auto constraint = read_constraint(*args);
    if (!constraint.ok()) return usage_error(cmd, constraint.message());

    if (synthetic)
        std::fprintf(stderr, "hearth: no model given (-m): running the built-in synthetic model, a "
                             "qwen3-architecture network with random weights. Its text is word "
                             "salad; pass -m model.gguf for real output.\n");
    Result<runtime::Engine> engine = error("no model");
    if (synthetic) {  // building the demo's weights is part of its load time
        const auto t0 = std::chrono::steady_clock::now();
        auto bytes = runtime::synthetic_model_gguf(*runtime::synthetic_preset("demo"), 1234,
                                                   int(opt->threads));
        if (!bytes.ok()) return fail(cmd, bytes.message());
        engine = runtime::load_engine_from_bytes(std::move(bytes.value()), "<built-in synthetic model>",
                                                 int(opt->threads));
        if (engine.ok())
            engine->load_seconds =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    } else {
        engine = runtime::load_engine(args->get("--model"), int(opt->threads), true,
                                      load_progress(args->get("--model")));
    }
    if (!engine.ok()) return fail(cmd, engine.message());

    const text::Tokenizer& tok = *engine->tokenizer;
    std::vector<int32_t> prompt;
    if (tok.add_bos() && tok.bos_id() >= 0) prompt.push_back(tok.bos_id());
    for (int32_t id : tok.encode(*prompt_text, true)) prompt.push_back(id);
    if (prompt.empty()) return usage_error(cmd, "the prompt is empty");

    const model::Config& c = engine->model->config();
    int64_t n_ctx = opt->n_ctx > 0 ? opt->n_ctx : std::min<int64_t>(4096, c.n_ctx_train);
    if (n_ctx <= 0) n_ctx = 4096;
    if (static_cast<int64_t>(prompt.size()) >= n_ctx)
        return fail(cmd, strfmt("the prompt has %zu tokens but the context holds %lld (raise -c)",
                                prompt.size(), (long long)n_ctx));
    auto state = engine->model->new_state(n_ctx, *cache_type);
    runtime::GenerateParams gp{.n_predict = opt->n_predict, .sampling = opt->sampling,
                               .speculation = opt->speculation, .n_draft = opt->n_draft,
                               .constraint = *constraint};
    auto stats = runtime::generate(*engine->model, *state, tok, prompt, gp, [](std::string_view s) {
        std::fwrite(s.data(), 1, s.size(), stdout);
        std::fflush(stdout);
        return true;
    });
    if (!stats.ok()) return fail(cmd, stats.message());
    std::printf("\n");
    if (*constraint && !stats->constraint_complete)
        std::fprintf(stderr, "hearth run: warning: the output stopped before the JSON was complete "
                             "(raise -n)\n");
    std::fprintf(stderr, "\nload: %.2f s | prompt: %lld tokens, %.1f tokens/s | generation: %lld "
                         "tokens, %.1f tokens/s | %lld threads\n",
                 engine->load_seconds, (long long)stats->n_prompt,
                 stats->n_prompt / std::max(stats->prompt_seconds, 1e-9),
                 (long long)stats->n_generated,
                 stats->n_generated / std::max(stats->generate_seconds, 1e-9), (long long)opt->threads);
    if (opt->speculation != runtime::Speculation::None)
        std::fprintf(stderr, "speculation: %lld drafted, %lld accepted (%.0f%%)\n",
                     (long long)stats->n_drafted, (long long)stats->n_accepted,
                     100.0 * stats->n_accepted / std::max<int64_t>(stats->n_drafted, 1));
    return 0;
}

}  // namespace hearth::cli
