// Architecture registry, load_model, and the checks every eval call makes before forward().
#include <algorithm>

#include "model/arch/arch.h"
#include "model/model.h"

namespace hearth::model {

namespace {

struct ArchEntry {
    const char* name;
    ArchLoader* load;
};

constexpr ArchEntry kArchs[] = {
    {"llama", load_llama},
    {"qwen2", load_qwen2},
    {"qwen3", load_qwen3},
    {"qwen3moe", load_qwen3moe},
    {"qwen35", load_qwen35},
    {"qwen35moe", load_qwen35moe},
};

}  // namespace

std::vector<std::string> supported_architectures() {
    std::vector<std::string> names;
    for (const auto& a : kArchs) names.push_back(a.name);
    return names;
}

const char* cache_type_name(CacheType t) {
    switch (t) {
        case CacheType::F32:
            return "f32";
        case CacheType::F16:
            return "f16";
        case CacheType::Q8_0:
            return "q8_0";
    }
    return "?";
}

Result<CacheType> parse_cache_type(const std::string& name) {
    for (CacheType t : {CacheType::F32, CacheType::F16, CacheType::Q8_0})
        if (name == cache_type_name(t)) return t;
    return error("unknown cache type '" + name + "' (f32, f16, q8_0)");
}

Status check_attention_config(const Config& c, Hparams& hp) {
    const std::string a = c.arch;
    if (hp.status().ok()) {
        if (c.head_dim <= 0 || c.head_dim % 2 != 0)
            hp.fail(strfmt("%s: head dimension %lld must be positive and even", a.c_str(),
                           (long long)c.head_dim));
        else if (c.n_rot <= 0 || c.n_rot > c.head_dim || c.n_rot % 2 != 0)
            hp.fail(strfmt("%s.rope.dimension_count: %lld is not an even number in 1..%lld",
                           a.c_str(), (long long)c.n_rot, (long long)c.head_dim));
        if (c.n_ff <= 0) hp.fail(a + ".feed_forward_length: must be positive");
        if (!(c.rope_theta > 0)) hp.fail(a + ".rope.freq_base: must be positive");
    }
    return hp.status();
}

Result<std::unique_ptr<Model>> load_model(const gguf::Reader& reader, ThreadPool& pool,
                                          const LoadProgress& progress) {
    auto arch = reader.get_string("general.architecture");
    if (!arch.ok()) return arch.status().with_context(reader.path());
    for (const auto& a : kArchs) {
        if (*arch == a.name) {
            auto m = a.load(reader, pool, progress);
            if (progress) progress(reader.tensor_bytes().size(), reader.tensor_bytes().size());
            if (!m.ok()) return m.status().with_context(reader.path());
            return m;
        }
    }
    std::string known;
    for (const auto& a : kArchs) known += std::string(known.empty() ? "" : ", ") + a.name;
    return error(strfmt("%s: unsupported architecture '%s' (supported: %s)", reader.path().c_str(),
                        std::string(*arch).c_str(), known.c_str()));
}

namespace {

Status check_batch(const Config& c, std::span<const int32_t> tokens, const State& state) {
    if (tokens.empty()) return error("empty batch: nothing to evaluate");
    for (size_t i = 0; i < tokens.size(); ++i) {
        if (tokens[i] < 0 || tokens[i] >= c.n_vocab)
            return error(strfmt("token id %d at position %zu is out of range (vocabulary has %lld)",
                                tokens[i], i, (long long)c.n_vocab));
    }
    const int64_t n = static_cast<int64_t>(tokens.size());
    if (state.n_past() + n > state.n_ctx())
        return error(strfmt("context overflow: %lld tokens in context + %lld new > context size %lld",
                            (long long)state.n_past(), (long long)n, (long long)state.n_ctx()));
    return Status();
}

}  // namespace

Status Model::eval(std::span<const int32_t> tokens, State& state, float* logits, bool all_logits) {
    HEARTH_RETURN_IF_ERROR(check_batch(config_, tokens, state));
    forward(tokens, state, logits, all_logits);
    state.n_past_ += static_cast<int64_t>(tokens.size());
    return Status();
}

Status Model::eval_batch(std::span<const SeqBatch> seqs) {
    if (seqs.empty()) return error("empty batch: nothing to evaluate");
    for (size_t i = 0; i < seqs.size(); ++i) {
        HEARTH_CHECK(seqs[i].state && seqs[i].logits);
        HEARTH_RETURN_IF_ERROR(check_batch(config_, seqs[i].tokens, *seqs[i].state));
        for (size_t j = 0; j < i; ++j)
            if (seqs[j].state == seqs[i].state)
                return error(strfmt("batch: sequences %zu and %zu share one state", j, i));
    }
    if (seqs.size() == 1) forward(seqs[0].tokens, *seqs[0].state, seqs[0].logits, false);
    else forward_batch(seqs);
    for (const SeqBatch& q : seqs) q.state->n_past_ += static_cast<int64_t>(q.tokens.size());
    return Status();
}

}  // namespace hearth::model
