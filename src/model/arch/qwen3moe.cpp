// qwen3moe (Qwen3-30B-A3B, Qwen3-Coder-30B-A3B): qwen3's attention (per-head Q/K RMSNorm,
// NEOX RoPE, explicit head dimension) with every FFN a softmax-routed top-k MoE, no shared expert.
// References: HF transformers modeling_qwen3_moe.py; ARCHITECTURES.md 3, 4.5, 5.1, 5.6.
#include "model/arch/arch.h"
#include "model/decoder.h"
#include "model/moe.h"

namespace hearth::model {

namespace {

struct MoeConfig {
    int64_t n_expert = 0, n_expert_used = 0, n_ff_exp = 0;
};

// expert_feed_forward_length falls back to feed_forward_length / k (as the reference does),
// then to the width of blk.0's expert tensors when neither key is present.
MoeConfig load_moe_config(const gguf::Reader& reader, Hparams& hp) {
    MoeConfig m;
    m.n_expert = hp.u("expert_count");
    m.n_expert_used = hp.u("expert_used_count");
    if (!hp.status().ok()) return m;
    if (m.n_expert <= 0 || m.n_expert > INT32_MAX)
        hp.fail(strfmt("qwen3moe.expert_count: %lld is not a positive expert count",
                       (long long)m.n_expert));
    else if (m.n_expert_used < 1 || m.n_expert_used > m.n_expert)
        hp.fail(strfmt("qwen3moe.expert_used_count: %lld is not in 1..%lld (expert_count)",
                       (long long)m.n_expert_used, (long long)m.n_expert));
    if (!hp.status().ok()) return m;

    const int64_t n_ff = hp.u_or("feed_forward_length", 0);
    m.n_ff_exp = hp.u_or("expert_feed_forward_length", n_ff / m.n_expert_used);
    if (m.n_ff_exp == 0) {
        if (const gguf::TensorInfo* t = reader.find_tensor("blk.0.ffn_down_exps.weight"))
            m.n_ff_exp = t->ne[0];
    }
    if (m.n_ff_exp <= 0)
        hp.fail(
            "qwen3moe.expert_feed_forward_length: missing or zero, and no "
            "blk.0.ffn_down_exps.weight to take it from");
    return m;
}

}  // namespace

Result<std::unique_ptr<Model>> load_qwen3moe(const gguf::Reader& reader, ThreadPool& pool,
                                             const LoadProgress& progress) {
    Hparams hp(reader, "qwen3moe");
    Config c = load_common_config(reader, hp, "qwen3moe");
    c.head_dim = hp.u_or("attention.key_length", c.n_head ? c.n_embd / c.n_head : 0);
    c.n_rot = hp.u_or("rope.dimension_count", c.head_dim);
    const MoeConfig m = load_moe_config(reader, hp);
    c.n_ff = m.n_ff_exp;  // the FFN width each token sees per expert; the dense key is unused
    HEARTH_RETURN_IF_ERROR(check_attention_config(c, hp));

    Binder b(reader, pool, progress);
    DecoderWeights w = bind_decoder_weights(b, c, /*dense_ffn=*/false);
    for (int64_t il = 0; il < c.n_layer; ++il) {
        const std::string p = "blk." + std::to_string(il) + ".";
        DecoderLayer& l = w.layers[il];
        l.q_norm = b.req_f32(p + "attn_q_norm.weight", {c.head_dim});
        l.k_norm = b.req_f32(p + "attn_k_norm.weight", {c.head_dim});
        l.moe = bind_moe_weights(b, p, c.n_embd, m.n_expert, m.n_expert_used, m.n_ff_exp,
                                 /*n_ff_shexp=*/0);
    }
    HEARTH_RETURN_IF_ERROR(b.status());
    DecoderOptions opt{.rope_style = blocks::RopeStyle::Neox};
    return std::unique_ptr<Model>(new Decoder(std::move(c), std::move(w), opt, pool));
}

}  // namespace hearth::model
