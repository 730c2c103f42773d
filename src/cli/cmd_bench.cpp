// hearth bench: prompt processing (pp) and token generation (tg) speed, llama-bench style:
// each test runs in its own context after a warm-up, repeated, reported as mean ± stddev in
// a markdown table, JSON (llama-bench's field names) or CSV. --synthetic builds a model with
// a published shape and random weights; --roofline relates tg to this machine's read bandwidth
// and pp to its int8 multiply-add peak (kernels/peak.h).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <map>
#include <sstream>
#include <vector>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/load_progress.h"
#include "kernels/peak.h"
#include "model/attention.h"
#include "runtime/engine.h"
#include "runtime/synthetic.h"

namespace hearth::cli {

namespace {

constexpr size_t kHugePage = size_t(2) << 20;

const std::vector<FlagSpec> kFlags = {
    {"-m,--model", "FILE", "GGUF model file"},
    {"--synthetic", "PRESET:TYPE", "random-weight model with a real shape, e.g. qwen3-0.6b:q4_k_m"},
    {"--layers", "N", "with --synthetic: keep only the first N layers"},
    {"-p,--n-prompt", "N", "prompt tokens for the pp test (default 512; 0 = skip)"},
    {"-n,--n-gen", "N", "generated tokens for the tg test (default 128; 0 = skip)"},
    {"-d,--depth", "N", "tokens already in the context before each test (default 0)"},
    {"-t,--threads", "N", "threads (default: the number of physical cores)"},
    {"-r,--repetitions", "N", "repetitions of each test (default 5)"},
    {"--cache-type", "TYPE", "KV cache type: f32, f16 (default) or q8_0"},
    {"-np,--parallel", "N", "also run tg with N sequences decoding together in one batch, as\n"
                            "                           `hearth serve --parallel N` does (t/s counts all N)"},
    {"-o,--output", "FORMAT", "md (default), json or csv"},
    {"--roofline", "", "measure this machine's read bandwidth and int8 peak; report tg against\n"
                       "                           the bandwidth bound and pp against the int8 ceiling"},
    {"-h,--help", "", "show this help"},
};

struct Test {
    int64_t n_prompt, n_gen, n_depth;
    int64_t n_parallel = 1;       // tg: sequences decoding together
    std::vector<double> seconds;  // one per repetition
    double tokens_per_second(size_t i) const { return (n_prompt + n_gen * n_parallel) / seconds[i]; }
    std::string name() const {
        std::string s = n_prompt > 0 ? "pp" + std::to_string(n_prompt) : "tg" + std::to_string(n_gen);
        if (n_parallel > 1) s += " x" + std::to_string(n_parallel);
        return n_depth > 0 ? s + " @ d" + std::to_string(n_depth) : s;
    }
};

struct ModelFacts {
    std::string name, type, filename, cpu;
    uint64_t bytes = 0, params = 0;
    double active_bytes_per_token = 0;  // weights one generated token reads
    // K and V bytes of one cached position over all attention layers: a generated token reads
    // them for every position before it.
    double kv_bytes_per_position = 0;
    // 2 x the weights a prompt token multiplies (the head left out: pp computes logits for the
    // last token only).
    double pp_flop_per_token = 0;
};

// The CPU's name as /proc/cpuinfo gives it (the first "model name"), as llama-bench's cpu_info;
// empty where that file or line is missing.
std::string cpu_name() {
    FILE* f = std::fopen("/proc/cpuinfo", "r");
    if (f == nullptr) return "";
    std::string name;
    char line[512];
    while (name.empty() && std::fgets(line, sizeof(line), f) != nullptr) {
        const std::string_view l(line);
        const size_t colon = l.find(':');
        if (l.rfind("model name", 0) != 0 || colon == std::string_view::npos) continue;
        std::string_view v = l.substr(colon + 1);
        while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
        while (!v.empty() && (v.back() == '\n' || v.back() == ' ')) v.remove_suffix(1);
        name = v;
    }
    std::fclose(f);
    return name;
}

// This machine's ceilings, measured when --roofline asks (0 = not measured).
struct Roofline {
    double bandwidth_gbs = 0;               // the better of the two below
    double bandwidth_before = 0, bandwidth_after = 0;  // measured around the tests
    double int8_gops = 0;
    kernels::Isa isa = kernels::Isa::Ref;
};

// llama-quantize's names of the general.file_type values it writes; "" for others.
std::string file_type_name(uint32_t ft) {
    switch (ft) {
        case 0: return "all F32";
        case 1: return "F16";
        case 2: return "Q4_0";
        case 3: return "Q4_1";
        case 7: return "Q8_0";
        case 8: return "Q5_0";
        case 9: return "Q5_1";
        case 10: return "Q2_K - Medium";
        case 11: return "Q3_K - Small";
        case 12: return "Q3_K - Medium";
        case 13: return "Q3_K - Large";
        case 14: return "Q4_K - Small";
        case 15: return "Q4_K - Medium";
        case 16: return "Q5_K - Small";
        case 17: return "Q5_K - Medium";
        case 18: return "Q6_K";
        case 21: return "Q2_K - Small";
        case 25: return "IQ4_NL - 4.5 bpw";
        case 30: return "IQ4_XS - 4.25 bpw";
        case 32: return "BF16";
        default: return "";
    }
}

ModelFacts model_facts(const runtime::Engine& e, model::CacheType cache_type) {
    ModelFacts f;
    const gguf::Reader& r = *e.reader;
    f.filename = r.path();
    const model::Config& c = e.model->config();
    std::map<std::string, uint64_t> by_type;
    const bool tied = r.find_tensor("output.weight") == nullptr;
    const gguf::Value* n_exp = r.find(c.arch + ".expert_count");
    const gguf::Value* k_exp = r.find(c.arch + ".expert_used_count");
    const double expert_share = n_exp && k_exp && n_exp->u ? double(k_exp->u) / n_exp->u : 1.0;
    for (const auto& t : r.tensors()) {
        f.bytes += t.n_bytes;
        f.params += static_cast<uint64_t>(t.n_elements());
        by_type[std::string(gguf::type_name(t.type))] += t.n_bytes;
        const std::string name(t.name);
        if (name == "token_embd.weight" && !tied) continue;  // a lookup reads one row
        const bool expert = name.find("_exps.") != std::string::npos;
        const double share = expert ? expert_share : 1.0;
        f.active_bytes_per_token += t.n_bytes * share;
        const bool head = name == "output.weight" || name == "token_embd.weight";
        if (!head) f.pp_flop_per_token += 2.0 * static_cast<double>(t.n_elements()) * share;
    }
    const auto kinds = e.model->layer_kinds();
    const auto n_attn = std::count(kinds.begin(), kinds.end(), model::Model::LayerKind::Attention);
    // K and V rows of one position (a K panel takes the bytes of 16 rows).
    f.kv_bytes_per_position =
        static_cast<double>(n_attn * 2 * c.n_head_kv * model::kv_row_bytes(cache_type, c.head_dim));
    // The file type llama-quantize recorded names the file ("Q4_K - Medium" for a mix of Q4_K
    // and Q6_K), else the type that holds most bytes.
    const auto ft = r.get_uint("general.file_type");
    f.type = ft.ok() ? file_type_name(static_cast<uint32_t>(*ft)) : "";
    if (f.type.empty())
        f.type = std::max_element(by_type.begin(), by_type.end(),
                                  [](auto& a, auto& b) { return a.second < b.second; })->first;
    f.name = strfmt("%s %.2fB %s", c.arch.c_str(), f.params / 1e9, f.type.c_str());
    return f;
}

// Random in-vocabulary tokens: what is evaluated does not matter for speed.
std::vector<int32_t> random_tokens(int64_t n, int64_t n_vocab, uint32_t seed) {
    std::mt19937 rng(seed);
    std::vector<int32_t> t(n);
    for (auto& x : t) x = static_cast<int32_t>(rng() % n_vocab);
    return t;
}

// One test's sequences, built once as llama-bench builds its context once per test: the
// depth tokens are evaluated before the first run, and every run starts from that checkpoint,
// so a repetition times the test's tokens alone, not the first-use growth of scratch buffers.
struct TestContext {
    std::vector<std::unique_ptr<model::State>> states;
    std::vector<model::Checkpoint> start;
};

Result<TestContext> make_context(model::Model& m, const Test& test, model::CacheType cache_type) {
    const int64_t V = m.config().n_vocab;
    TestContext c;
    std::vector<float> logits(V);
    for (int64_t i = 0; i < test.n_parallel; ++i) {
        c.states.push_back(m.new_state(test.n_depth + test.n_prompt + test.n_gen + 1, cache_type));
        if (test.n_depth > 0)
            HEARTH_RETURN_IF_ERROR(m.eval(random_tokens(test.n_depth, V, 1), *c.states[i], logits.data(), false));
        c.start.push_back(c.states[i]->checkpoint());
    }
    return c;
}

Status run_once(model::Model& m, Test& test, TestContext& c, bool timed) {
    const int64_t V = m.config().n_vocab, N = test.n_parallel;
    for (int64_t i = 0; i < N; ++i) c.states[i]->restore(c.start[i]);
    std::vector<float> logits(N * V);
    const auto prompt = random_tokens(test.n_prompt, V, 2);
    const auto tokens = random_tokens(test.n_gen * N, V, 3);
    std::vector<model::SeqBatch> batch(N);
    const auto t0 = std::chrono::steady_clock::now();
    if (test.n_prompt > 0)
        HEARTH_RETURN_IF_ERROR(m.eval(prompt, *c.states[0], logits.data(), false));
    for (int64_t t = 0; t < test.n_gen; ++t) {
        for (int64_t i = 0; i < N; ++i)
            batch[i] = {.tokens = {&tokens[t * N + i], 1}, .state = c.states[i].get(), .logits = &logits[i * V]};
        HEARTH_RETURN_IF_ERROR(m.eval_batch(batch));
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (timed) test.seconds.push_back(s);
    return Status();
}

double mean(const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return v.empty() ? 0 : s / v.size();
}
double stddev(const std::vector<double>& v) {
    if (v.size() < 2) return 0;
    const double m = mean(v);
    double s = 0;
    for (double x : v) s += (x - m) * (x - m);
    return std::sqrt(s / (v.size() - 1));
}

void print_markdown(const ModelFacts& f, const std::vector<Test>& tests, int threads,
                    const char* cache, const Roofline& roof) {
    const bool with_roof = roof.bandwidth_gbs > 0;
    std::printf("| model | size | params | backend | threads | type_k | test | t/s |%s\n",
                with_roof ? " of roofline t/s |" : "");
    std::printf("| --- | ---: | ---: | --- | ---: | --- | ---: | ---: |%s\n", with_roof ? " ---: |" : "");
    for (const Test& t : tests) {
        std::vector<double> ts;
        for (size_t i = 0; i < t.seconds.size(); ++i) ts.push_back(t.tokens_per_second(i));
        // tg: the bytes a token reads (weights, and the KV cache of the positions before it at
        // the test's mean depth) over the bandwidth; pp: weight FLOP per token over the int8
        // peak. Parallel decoding shares each weight read, so it has no such bound.
        double bound = 0;
        if (t.n_prompt == 0 && t.n_parallel == 1) {
            const double mean_depth = static_cast<double>(t.n_depth) + (t.n_gen + 1) / 2.0;
            bound = roof.bandwidth_gbs * 1e9 /
                    (f.active_bytes_per_token + f.kv_bytes_per_position * mean_depth);
        }
        if (t.n_prompt > 0 && f.pp_flop_per_token > 0) bound = roof.int8_gops * 1e9 / f.pp_flop_per_token;
        std::string cell;
        if (with_roof) cell = bound > 0 ? strfmt(" %.0f%% of %.1f |", 100.0 * mean(ts) / bound, bound) : " |";
        std::printf("| %s | %.2f MiB | %.2f M | CPU | %d | %s | %s | %.2f ± %.2f |%s\n",
                    f.name.c_str(), f.bytes / 1048576.0, f.params / 1e6, threads, cache,
                    t.name().c_str(), mean(ts), stddev(ts), cell.c_str());
    }
    if (!with_roof) return;
    std::printf("\ntg bound: %.1f GB/s memory read bandwidth (the better of %.1f before and %.1f after "
                "the tests) / (%.1f MB of weights + %.4g MB of %s KV cache per position before the "
                "token) read per token\n",
                roof.bandwidth_gbs, roof.bandwidth_before, roof.bandwidth_after,
                f.active_bytes_per_token / 1e6, f.kv_bytes_per_position / 1e6, cache);
    if (roof.int8_gops > 0)
        std::printf("pp ceiling: %.2f TOPS %s peak (%s, %d thread%s) / %.4g GFLOP of weight products per token\n",
                    roof.int8_gops / 1e3, kernels::int8_peak_instruction(roof.isa),
                    kernels::isa_name(roof.isa), threads, threads == 1 ? "" : "s",
                    f.pp_flop_per_token / 1e9);
    else
        std::printf("pp ceiling: none on the %s path\n", kernels::isa_name(roof.isa));
}

nlohmann::ordered_json json_record(const ModelFacts& f, const Test& t, int threads,
                                   const char* cache) {
    std::vector<double> ns, ts;
    for (size_t i = 0; i < t.seconds.size(); ++i) {
        ns.push_back(t.seconds[i] * 1e9);
        ts.push_back(t.tokens_per_second(i));
    }
    return {{"build_commit", "hearth"},  {"cpu_info", f.cpu},
            {"backends", "CPU"},         {"model_filename", f.filename},
            {"model_type", f.name},      {"model_size", f.bytes},
            {"model_n_params", f.params}, {"n_batch", t.n_prompt},
            {"n_ubatch", t.n_prompt},    {"n_threads", threads},
            {"type_k", cache},           {"type_v", cache},
            {"use_mmap", true},          {"n_prompt", t.n_prompt},
            {"n_gen", t.n_gen},          {"n_depth", t.n_depth},
            {"n_parallel", t.n_parallel},
            {"avg_ns", static_cast<uint64_t>(mean(ns))},
            {"stddev_ns", static_cast<uint64_t>(stddev(ns))},
            {"avg_ts", mean(ts)},        {"stddev_ts", stddev(ts)},
            {"samples_ns", ns},          {"samples_ts", ts}};
}

void print_records(const ModelFacts& f, const std::vector<Test>& tests, int threads,
                   const char* cache, bool csv) {
    auto arr = nlohmann::ordered_json::array();
    for (const Test& t : tests) arr.push_back(json_record(f, t, threads, cache));
    if (!csv) {
        std::printf("%s\n", arr.dump(2).c_str());
        return;
    }
    bool first = true;
    for (const auto& rec : arr) {
        std::string head, row;
        for (const auto& [k, v] : rec.items()) {
            if (v.is_array()) continue;
            head += (head.empty() ? "" : ",") + k;
            row += (row.empty() ? "" : ",") + (v.is_string() ? "\"" + v.get<std::string>() + "\"" : v.dump());
        }
        if (first) std::printf("%s\n", head.c_str());
        std::printf("%s\n", row.c_str());
        first = false;
    }
}

Result<runtime::Engine> load(const Args& a, int threads) {
    if (a.has("--model")) return runtime::load_engine(a.get("--model"), threads, false, load_progress(a.get("--model")));
    const std::string arg = a.get("--synthetic");
    const size_t colon = arg.find(':');
    auto spec = runtime::synthetic_preset(arg.substr(0, colon));
    if (!spec.ok()) return spec.status();
    spec->quant = colon == std::string::npos ? "q8_0" : arg.substr(colon + 1);
    for (char& ch : spec->quant) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    auto layers = a.get_int("--layers", spec->n_layer);
    if (!layers.ok()) return layers.status();
    if (*layers < 1 || *layers > spec->n_layer) return error(strfmt("--layers must be between 1 and %lld", (long long)spec->n_layer));
    spec->n_layer = *layers;
    // Built once, then reused from the cache: K-quant quantization of a large model takes minutes.
    const char* xdg = std::getenv("XDG_CACHE_HOME");
    const char* home = std::getenv("HOME");
    const std::string dir = xdg && *xdg ? std::string(xdg) + "/hearth/synthetic"
                                        : std::string(home ? home : "/tmp") + "/.cache/hearth/synthetic";
    // "-v2": files that record general.file_type.
    std::string name = arg.substr(0, colon) + "-" + spec->quant + "-L" + std::to_string(spec->n_layer) + "-s1234-v2.gguf";
    const std::string path = dir + "/" + name;
    if (std::filesystem::exists(path)) {
        std::fprintf(stderr, "hearth bench: using %s\n", path.c_str());
        return runtime::load_engine(path, threads, false, load_progress(path));
    }
    auto size = runtime::synthetic_model_size(*spec);
    if (!size.ok()) return size.status();
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return error("cannot create " + dir + " for the synthetic model: " + ec.message() + " (XDG_CACHE_HOME sets where it goes)");
    // Checked first: a 35B-A3B file takes ~20 GB and many minutes to build.
    const auto space = std::filesystem::space(dir, ec);
    if (!ec && space.available < *size)
        return error(strfmt("the synthetic %s takes %.1f GB, and %s has %.1f GB free (XDG_CACHE_HOME sets where it goes)",
                            arg.c_str(), *size / 1e9, dir.c_str(), space.available / 1e9));
    const std::string tmp = path + ".part";
    FILE* f = std::fopen(tmp.c_str(), "wb");
    if (!f) return error("cannot write " + tmp + ": " + std::strerror(errno));
    std::fprintf(stderr, "hearth bench: building synthetic %s (%lld layers, %s, random weights, %.2f GB) into %s ...\n",
                 arg.c_str(), (long long)spec->n_layer, spec->quant.c_str(), *size / 1e9, path.c_str());
    // Layer by layer on a terminal: the 35B-A3B preset takes minutes to quantize.
    const bool tty = isatty(STDERR_FILENO) != 0;
    // Buffered in 2 MiB, so stdio writes whole multiples of 2 MiB at 2 MiB offsets and the page
    // cache keeps the file in 2 MiB folios, which a model too large to copy is then read
    // through: mapped in 4 KiB pages (as stdio's default 4 KiB writes left it) the whole
    // 35B-A3B preset decoded at 20 t/s, in 2 MiB pages at 25.
    std::vector<char> buffer(kHugePage);
    std::setvbuf(f, buffer.data(), _IOFBF, buffer.size());
    Status st = runtime::write_synthetic_model(
        *spec, 1234, threads,
        [&](std::span<const uint8_t> b) {
            if (std::fwrite(b.data(), 1, b.size(), f) == b.size()) return Status();
            return error("writing " + tmp + ": " + std::strerror(errno));
        },
        [tty](int64_t done, int64_t total) {
            if (tty) std::fprintf(stderr, "\r  layer %lld of %lld%s", (long long)done, (long long)total, done == total ? "\n" : "");
        });
    // Written through to disk before the rename and the measurement: a cache file that is whole
    // or absent, and no gigabytes of write-back competing with the first benchmark (it once cut
    // tg of the 35B-A3B preset from 31.6 to 7.3 t/s).
    if (st.ok() && (std::fflush(f) != 0 || fsync(fileno(f)) != 0)) st = error("writing " + tmp + ": " + std::strerror(errno));
    if (std::fclose(f) != 0 && st.ok()) st = error("writing " + tmp + ": " + std::strerror(errno));
    if (st.ok()) std::filesystem::rename(tmp, path, ec);
    if (st.ok() && ec) st = error("cannot rename " + tmp + ": " + ec.message());
    if (!st.ok()) {
        std::filesystem::remove(tmp, ec);
        return st;
    }
    return runtime::load_engine(path, threads, false, load_progress(path));
}

}  // namespace

int cmd_bench(int argc, char** argv) {
    const char* cmd = "bench";
    auto args = Args::parse(kFlags, argc, argv);
    if (!args.ok()) return usage_error(cmd, args.message());
    if (args->has("--help")) {
        print_help(cmd, "(-m MODEL | --synthetic PRESET:TYPE) [-p 512] [-n 128] [-d 0] [-t T] [-r 5] [--cache-type f16] [-np N] [-o md|json|csv]",
                   "Measures prompt processing (pp: the prompt as one batch) and token generation\n"
                   "(tg: one token at a time) in tokens/s, each test in its own context (built\n"
                   "once, as llama-bench does) after a warm-up run, as mean ± stddev over the\n"
                   "repetitions; every repetition starts from the same (depth) position. JSON\n"
                   "and CSV use llama-bench's field names. Synthetic presets: demo, qwen3-0.6b,\n"
                   "qwen3-8b, qwen3.5-0.8b, qwen3.6-35b-a3b; types f32, f16, bf16, q8_0, q4_0,\n"
                   "q4_k, q5_k, q6_k, q4_k_m.",
                   kFlags);
        return 0;
    }
    if (!args->positional().empty()) return usage_error(cmd, "unexpected argument '" + args->positional()[0] + "'");
    auto p = args->get_int("--n-prompt", 512);
    auto n = args->get_int("--n-gen", 128);
    auto d = args->get_int("--depth", 0);
    auto t = args->get_int("--threads", ThreadPool::physical_cores());
    auto r = args->get_int("--repetitions", 5);
    auto np = args->get_int("--parallel", 1);
    for (const Status& s : {p.status(), n.status(), d.status(), t.status(), r.status(), np.status()})
        if (!s.ok()) return usage_error(cmd, s.message());
    auto cache_type = model::parse_cache_type(args->get("--cache-type", "f16"));
    if (!cache_type.ok()) return usage_error(cmd, "--cache-type: " + cache_type.message());
    const std::string fmt = args->get("--output", "md");
    if (fmt != "md" && fmt != "json" && fmt != "csv") return usage_error(cmd, "-o must be md, json or csv");
    if (*p < 0 || *n < 0 || *d < 0 || (*p == 0 && *n == 0)) return usage_error(cmd, "-p, -n, -d must be >= 0, and -p or -n > 0");
    if (*t < 1 || *t > 1024 || *r < 1 || *r > 1000) return usage_error(cmd, "-t and -r must be positive");
    if (*np < 1 || *np > 256) return usage_error(cmd, "--parallel must be between 1 and 256");

    if (args->has("--model") == args->has("--synthetic"))
        return usage_error(cmd, "give exactly one of -m MODEL or --synthetic PRESET:TYPE");
    auto engine = load(*args, static_cast<int>(*t));
    if (!engine.ok()) return fail(cmd, engine.message());
    const int64_t n_ctx = *d + std::max(*p, *n) + 1;
    if (n_ctx > std::max<int64_t>(engine->model->config().n_ctx_train, 1) && engine->model->config().n_ctx_train > 0)
        return fail(cmd, strfmt("depth + test length %lld exceeds the model's context %lld", (long long)n_ctx,
                                (long long)engine->model->config().n_ctx_train));
    // Bandwidth is measured before and after the tests: on shared machines it can change for
    // minutes at a time, so both figures are shown and the bound uses the better one.
    Roofline roof;
    const bool with_roof = args->has("--roofline");
    if (with_roof) roof.bandwidth_before = kernels::measure_read_bandwidth(*engine->pool);
    std::vector<Test> tests;
    if (*p > 0) tests.push_back({*p, 0, *d});
    if (*n > 0) tests.push_back({0, *n, *d});
    if (*n > 0 && *np > 1) tests.push_back({0, *n, *d, *np});
    const std::string cpu = cpu_name();
    std::fprintf(stderr, "hearth bench: %s%s%s kernels, %lld thread%s\n", cpu.c_str(),
                 cpu.empty() ? "" : ", ", kernels::isa_name(kernels::current_isa()), (long long)*t,
                 *t == 1 ? "" : "s");
    for (Test& test : tests) {
        std::fprintf(stderr, "hearth bench: %s ", test.name().c_str());
        auto ctx = make_context(*engine->model, test, *cache_type);
        if (!ctx.ok()) return fail(cmd, ctx.message());
        Status st = run_once(*engine->model, test, *ctx, false);  // warm-up: page in the weights
        for (int64_t i = 0; st.ok() && i < *r; ++i, std::fprintf(stderr, "."))
            st = run_once(*engine->model, test, *ctx, true);
        std::fprintf(stderr, "\n");
        if (!st.ok()) return fail(cmd, st.message());
    }
    ModelFacts facts = model_facts(*engine, *cache_type);
    facts.cpu = cpu;
    if (with_roof) {
        roof.isa = kernels::current_isa();
        roof.bandwidth_after = kernels::measure_read_bandwidth(*engine->pool);
        roof.bandwidth_gbs = std::max(roof.bandwidth_before, roof.bandwidth_after);
        roof.int8_gops = kernels::measure_int8_peak(*engine->pool, roof.isa);
    }
    const char* cache = model::cache_type_name(*cache_type);
    if (fmt == "md") print_markdown(facts, tests, static_cast<int>(*t), cache, roof);
    else print_records(facts, tests, static_cast<int>(*t), cache, fmt == "csv");
    return 0;
}

}  // namespace hearth::cli
