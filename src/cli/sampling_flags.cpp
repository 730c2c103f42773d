#include "cli/sampling_flags.h"

namespace hearth::cli {

std::vector<FlagSpec> sampling_flags(const char* seed_help) {
    return {
        {"--temp", "T", "temperature (default 0.8; 0 = greedy)"},
        {"--top-k", "K", "keep the K most likely tokens (default 40; 0 = off)"},
        {"--top-p", "P", "nucleus sampling threshold (default 0.95; 1 = off)"},
        {"--min-p", "P", "drop tokens below P x the top probability (default 0.05; 0 = off)"},
        {"--repeat-penalty", "X", "penalty for recent tokens (default 1.0 = off)"},
        {"--presence-penalty", "X", "subtracted once from recent tokens' logits (default 0)"},
        {"--frequency-penalty", "X", "subtracted per occurrence in recent tokens (default 0)"},
        {"--seed", "S", seed_help},
    };
}

Result<runtime::SamplerParams> read_sampling(const Args& a) {
    auto temp = a.get_float("--temp", 0.8);
    auto top_k = a.get_int("--top-k", 40);
    auto top_p = a.get_float("--top-p", 0.95);
    auto min_p = a.get_float("--min-p", 0.05);
    auto rep = a.get_float("--repeat-penalty", 1.0);
    auto pres = a.get_float("--presence-penalty", 0.0);
    auto freq = a.get_float("--frequency-penalty", 0.0);
    auto seed = a.get_int("--seed", 0);
    for (const Status& s : {temp.status(), top_k.status(), top_p.status(), min_p.status(),
                            rep.status(), pres.status(), freq.status(), seed.status()}) {
        if (!s.ok()) return s;
    }
    if (*temp < 0 || *top_p < 0 || *top_p > 1 || *min_p < 0 || *min_p > 1 || *rep <= 0)
        return error("sampling values out of range (temp >= 0, top-p and min-p in [0,1], repeat-penalty > 0)");
    return runtime::SamplerParams{.temperature = float(*temp), .top_k = int(*top_k), .top_p = float(*top_p),
                                  .min_p = float(*min_p), .repeat_penalty = float(*rep),
                                  .presence_penalty = float(*pres), .frequency_penalty = float(*freq),
                                  .penalty_last_n = 64, .seed = uint64_t(*seed)};
}

}  // namespace hearth::cli
