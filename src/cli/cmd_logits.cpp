// hearth logits: the testing contract. Evaluates the first P tokens as one batch, feeds the
// rest one at a time through the decode path (teacher forcing), writes every row of logits
// to a float32 .npy and prints each row's argmax on the last line of stdout.
#include <cstdio>
#include <sstream>
#include <vector>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/load_progress.h"
#include "runtime/engine.h"
#include "runtime/sampler.h"

namespace hearth::cli {

namespace {

const std::vector<FlagSpec> kFlags = {
    {"-m,--model", "FILE", "GGUF model file"},
    {"--tokens", "IDS", "comma-separated token ids, e.g. 1001,315,272"},
    {"--prompt-len", "P", "evaluate the first P tokens as one batch (default: all)"},
    {"-o,--output", "OUT.npy", "where to write the (n_tokens, n_vocab) float32 logits"},
    {"-t,--threads", "N", "threads (default: the number of physical cores)"},
    {"--cache-type", "TYPE", "KV cache type: f32 (default: what the golden logits used), f16, q8_0"},
    {"-h,--help", "", "show this help"},
};

Result<std::vector<int32_t>> parse_ids(const std::string& s) {
    std::vector<int32_t> ids;
    std::stringstream ss(s);
    for (std::string item; std::getline(ss, item, ',');) {
        char* end = nullptr;
        long long v = std::strtoll(item.c_str(), &end, 10);
        if (item.empty() || *end != '\0' || v < INT32_MIN || v > INT32_MAX)
            return error("--tokens: '" + item + "' is not a token id");
        ids.push_back(static_cast<int32_t>(v));
    }
    if (ids.empty()) return error("--tokens: no token ids given");
    return ids;
}

Status write_npy(const std::string& path, const std::vector<float>& data, int64_t rows,
                 int64_t cols) {
    std::string header = strfmt("{'descr': '<f4', 'fortran_order': False, 'shape': (%lld, %lld), }",
                                (long long)rows, (long long)cols);
    // Magic (6) + version (2) + length (2) + header + '\n' must be a multiple of 64.
    while ((10 + header.size() + 1) % 64 != 0) header += ' ';
    header += '\n';
    FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) return error(path + ": cannot open for writing");
    const uint16_t len = static_cast<uint16_t>(header.size());
    bool ok = std::fwrite("\x93NUMPY\x01\x00", 1, 8, f) == 8 && std::fwrite(&len, 2, 1, f) == 1 &&
              std::fwrite(header.data(), 1, header.size(), f) == header.size() &&
              std::fwrite(data.data(), sizeof(float), data.size(), f) == data.size();
    ok = std::fclose(f) == 0 && ok;
    return ok ? Status() : error(path + ": write failed");
}

}  // namespace

int cmd_logits(int argc, char** argv) {
    const char* cmd = "logits";
    auto args = Args::parse(kFlags, argc, argv);
    if (!args.ok()) return usage_error(cmd, args.message());
    if (args->has("--help")) {
        print_help(cmd, "-m MODEL --tokens ID,ID,... [--prompt-len P] -o OUT.npy",
                   "Evaluates the tokens: the first P as one prompt batch, the rest one at a time\n"
                   "through the decode path. Writes the logits after every token to OUT.npy\n"
                   "(float32, shape (n_tokens, n_vocab)) and prints the argmax of every row,\n"
                   "space-separated, on the last line of stdout.",
                   kFlags);
        return 0;
    }
    if (!args->positional().empty()) return usage_error(cmd, "unexpected argument '" + args->positional()[0] + "'");
    if (!args->has("--model")) return usage_error(cmd, "missing -m MODEL");
    if (!args->has("--tokens")) return usage_error(cmd, "missing --tokens");
    if (!args->has("--output")) return usage_error(cmd, "missing -o OUT.npy");
    auto ids = parse_ids(args->get("--tokens"));
    if (!ids.ok()) return usage_error(cmd, ids.message());
    const int64_t n = static_cast<int64_t>(ids->size());
    auto prompt_len = args->get_int("--prompt-len", n);
    auto threads = args->get_int("--threads", ThreadPool::physical_cores());
    if (!prompt_len.ok()) return usage_error(cmd, prompt_len.message());
    if (!threads.ok()) return usage_error(cmd, threads.message());
    if (*prompt_len < 1 || *prompt_len > n)
        return usage_error(cmd, strfmt("--prompt-len must be between 1 and %lld", (long long)n));
    if (*threads < 1 || *threads > 1024) return usage_error(cmd, "--threads must be between 1 and 1024");
    // F32 by default, unlike run and bench: the golden reference logits were computed with an
    // F32 KV cache, and this command is how they are checked.
    auto cache_type = model::parse_cache_type(args->get("--cache-type", "f32"));
    if (!cache_type.ok()) return usage_error(cmd, "--cache-type: " + cache_type.message());

    auto engine = runtime::load_engine(args->get("--model"), static_cast<int>(*threads), false,
                                        load_progress(args->get("--model")));
    if (!engine.ok()) return fail(cmd, engine.message());
    model::Model& m = *engine->model;
    const int64_t V = m.config().n_vocab;
    auto state = m.new_state(n, *cache_type);
    std::vector<float> logits(n * V);
    Status st = m.eval({ids->data(), static_cast<size_t>(*prompt_len)}, *state, logits.data(), true);
    for (int64_t i = *prompt_len; st.ok() && i < n; ++i)
        st = m.eval({ids->data() + i, 1}, *state, logits.data() + i * V, true);
    if (!st.ok()) return fail(cmd, st.message());
    Status w = write_npy(args->get("--output"), logits, n, V);
    if (!w.ok()) return fail(cmd, w.message());
    std::string line;
    for (int64_t i = 0; i < n; ++i)
        line += (i ? " " : "") + std::to_string(runtime::argmax({logits.data() + i * V, size_t(V)}));
    std::printf("%s\n", line.c_str());
    return 0;
}

}  // namespace hearth::cli
