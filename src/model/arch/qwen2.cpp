// qwen2 (Qwen2, Qwen2.5, Qwen2.5-Coder): the llama decoder with Q/K/V biases and NEOX RoPE.
// References: HF transformers modeling_qwen2.py; ARCHITECTURES.md 4.3, 5.2, 5.3.
#include "model/arch/arch.h"
#include "model/decoder.h"

namespace hearth::model {

Result<std::unique_ptr<Model>> load_qwen2(const gguf::Reader& reader, ThreadPool& pool,
                                          const LoadProgress& progress) {
    auto config = load_decoder_config(reader, "qwen2");
    if (!config.ok()) return config.status();
    Config c = std::move(config.value());

    Binder b(reader, pool, progress);
    DecoderWeights w = bind_decoder_weights(b, c);
    for (int64_t il = 0; il < c.n_layer; ++il) {
        const std::string p = "blk." + std::to_string(il) + ".";
        w.layers[il].bq = b.req_f32(p + "attn_q.bias", {c.n_head * c.head_dim});
        w.layers[il].bk = b.req_f32(p + "attn_k.bias", {c.n_head_kv * c.head_dim});
        w.layers[il].bv = b.req_f32(p + "attn_v.bias", {c.n_head_kv * c.head_dim});
    }
    HEARTH_RETURN_IF_ERROR(b.status());
    DecoderOptions opt{.rope_style = blocks::RopeStyle::Neox};
    return std::unique_ptr<Model>(new Decoder(std::move(c), std::move(w), opt, pool));
}

}  // namespace hearth::model
