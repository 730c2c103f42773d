// llama: pre-norm decoder, NORM (adjacent-pair) RoPE with optional Llama-3 rope_freqs,
// optional attention/output biases. Also Mistral-style files that declare "llama".
// References: HF transformers modeling_llama.py; ARCHITECTURES.md 4.2, 5.2, 5.3.
#include "model/arch/arch.h"
#include "model/decoder.h"

namespace hearth::model {

Result<std::unique_ptr<Model>> load_llama(const gguf::Reader& reader, ThreadPool& pool,
                                          const LoadProgress& progress) {
    auto config = load_decoder_config(reader, "llama");
    if (!config.ok()) return config.status();
    Config c = std::move(config.value());

    Binder b(reader, pool, progress);
    DecoderWeights w = bind_decoder_weights(b, c);
    for (int64_t il = 0; il < c.n_layer; ++il) {
        const std::string p = "blk." + std::to_string(il) + ".";
        w.layers[il].bq = b.opt_f32(p + "attn_q.bias", {c.n_head * c.head_dim});
        w.layers[il].bk = b.opt_f32(p + "attn_k.bias", {c.n_head_kv * c.head_dim});
        w.layers[il].bv = b.opt_f32(p + "attn_v.bias", {c.n_head_kv * c.head_dim});
    }
    Tensor rope_freqs = b.opt_f32("rope_freqs.weight", {c.n_rot / 2});
    HEARTH_RETURN_IF_ERROR(b.status());
    DecoderOptions opt{.rope_style = blocks::RopeStyle::Norm,
                       .rope_freqs = rope_freqs ? rope_freqs.f32() : nullptr};
    return std::unique_ptr<Model>(new Decoder(std::move(c), std::move(w), opt, pool));
}

}  // namespace hearth::model
