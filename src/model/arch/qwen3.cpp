// qwen3 (Qwen3 dense, Qwen3-Coder dense): the decoder with per-head Q/K RMSNorm before
// NEOX RoPE, explicit head dimension (H*D may differ from E), no biases.
// References: HF transformers modeling_qwen3.py; ARCHITECTURES.md 4.4, 5.2, 5.3.
#include "model/arch/arch.h"
#include "model/decoder.h"

namespace hearth::model {

Result<std::unique_ptr<Model>> load_qwen3(const gguf::Reader& reader, ThreadPool& pool,
                                          const LoadProgress& progress) {
    auto config = load_decoder_config(reader, "qwen3");
    if (!config.ok()) return config.status();
    Config c = std::move(config.value());

    Binder b(reader, pool, progress);
    DecoderWeights w = bind_decoder_weights(b, c);
    for (int64_t il = 0; il < c.n_layer; ++il) {
        const std::string p = "blk." + std::to_string(il) + ".";
        w.layers[il].q_norm = b.req_f32(p + "attn_q_norm.weight", {c.head_dim});
        w.layers[il].k_norm = b.req_f32(p + "attn_k_norm.weight", {c.head_dim});
    }
    HEARTH_RETURN_IF_ERROR(b.status());
    DecoderOptions opt{.rope_style = blocks::RopeStyle::Neox};
    return std::unique_ptr<Model>(new Decoder(std::move(c), std::move(w), opt, pool));
}

}  // namespace hearth::model
