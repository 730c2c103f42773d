// Forward pass of the pre-norm decoder over a batch, with a KV cache of the state's type.
#include "model/decoder.h"

#include <algorithm>
#include <tuple>

#include "base/aligned.h"
#include "kernels/matmul.h"
#include "model/arch/arch.h"
#include "model/attention.h"

namespace hearth::model {

namespace {

struct DecoderState : State {
    using State::State;
    std::vector<KvCache> kv;  // per layer
    // Scratch, grown to the largest batch seen.
    AlignedVector<float> x, h, q, k, v, attn, gate, up, ffn_out, logits_out;
    AlignedVector<float> rope;  // (T, n_rot): the batch rows' rotary angles (blocks::rope_angles)
    MoeScratch moe;

    std::unique_ptr<State> clone() const override {
        auto c = std::make_unique<DecoderState>(n_ctx_);
        c->n_past_ = n_past_;
        c->kv.reserve(kv.size());
        for (const KvCache& layer : kv) c->kv.push_back(layer.copy_prefix(n_past_));
        return c;
    }
    // KV rows past n are simply overwritten by the next tokens.
    bool truncate(int64_t n) override {
        if (n < 0 || n > n_past_) return false;
        n_past_ = n;
        return true;
    }
    Checkpoint checkpoint() const override { return {.n_past = n_past_, .recurrent = {}}; }
    void restore(const Checkpoint& cp) override {
        HEARTH_CHECK(cp.n_past <= n_past_);
        n_past_ = cp.n_past;
    }
    int64_t memory_bytes() const override {
        int64_t n = 0;
        for (const KvCache& c : kv) n += c.bytes();
        return n;
    }
};

void matmul(const Tensor& t, const float* x, float* y, int64_t n, ThreadPool& pool) {
    kernels::matmul(t.view(), x, y, n, pool);
}

}  // namespace

Result<Config> load_decoder_config(const gguf::Reader& reader, const std::string& arch) {
    Hparams hp(reader, arch);
    Config c = load_common_config(reader, hp, arch);
    c.head_dim = hp.u_or("attention.key_length", c.n_head ? c.n_embd / c.n_head : 0);
    c.n_rot = hp.u_or("rope.dimension_count", c.head_dim);
    c.n_ff = hp.u("feed_forward_length");
    HEARTH_RETURN_IF_ERROR(check_attention_config(c, hp));
    return c;
}

DecoderWeights bind_decoder_weights(Binder& b, const Config& c, bool dense_ffn) {
    const int64_t E = c.n_embd, D = c.head_dim, H = c.n_head, Hkv = c.n_head_kv;
    DecoderWeights w;
    std::tie(w.token_embd, w.output) = b.embeddings(E, c.n_vocab);
    w.output_norm = b.req_f32("output_norm.weight", {E});
    w.output_bias = b.opt_f32("output.bias", {c.n_vocab});
    for (int64_t il = 0; il < c.n_layer; ++il) {
        const std::string p = "blk." + std::to_string(il) + ".";
        DecoderLayer l;
        l.attn_norm = b.req_f32(p + "attn_norm.weight", {E});
        l.wq = b.req(p + "attn_q.weight", {E, H * D});
        l.wk = b.req(p + "attn_k.weight", {E, Hkv * D});
        l.wv = b.req(p + "attn_v.weight", {E, Hkv * D});
        l.wo = b.req(p + "attn_output.weight", {H * D, E});
        l.bo = b.opt_f32(p + "attn_output.bias", {E});
        l.ffn_norm = b.req_f32(p + "ffn_norm.weight", {E});
        if (dense_ffn) {
            l.ffn_gate = b.req(p + "ffn_gate.weight", {E, c.n_ff});
            l.ffn_up = b.req(p + "ffn_up.weight", {E, c.n_ff});
            l.ffn_down = b.req(p + "ffn_down.weight", {c.n_ff, E});
        }
        w.layers.push_back(l);
    }
    return w;
}

Decoder::Decoder(Config config, DecoderWeights weights, DecoderOptions options, ThreadPool& pool)
    : w_(std::move(weights)) {
    config_ = std::move(config);
    pool_ = &pool;
    rope_ = blocks::make_rope(options.rope_style, config_.n_rot, config_.rope_theta,
                              options.rope_freqs);
    for (const DecoderLayer& l : w_.layers)
        if (!l.moe) n_ff_dense_ = config_.n_ff;
}

std::unique_ptr<State> Decoder::make_state(int64_t n_ctx, CacheType type) const {
    auto s = std::make_unique<DecoderState>(n_ctx);
    s->kv.reserve(config_.n_layer);
    for (int64_t il = 0; il < config_.n_layer; ++il)
        s->kv.emplace_back(type, n_ctx, config_.n_head_kv, config_.head_dim);
    return s;
}

void Decoder::forward(std::span<const int32_t> tokens, State& state, float* logits,
                      bool all_logits) {
    const SeqBatch one{.tokens = tokens, .state = &state, .logits = logits};
    run({&one, 1}, all_logits);
}

void Decoder::forward_batch(std::span<const SeqBatch> seqs) { run(seqs, false); }

void Decoder::run(std::span<const SeqBatch> seqs, bool all_logits) {
    auto& s = static_cast<DecoderState&>(*seqs[0].state);  // its scratch serves the whole batch
    const Config& c = config_;
    const int64_t E = c.n_embd, D = c.head_dim, H = c.n_head, Hkv = c.n_head_kv;
    const int64_t n_seq = static_cast<int64_t>(seqs.size());
    int64_t T = 0;
    for (const SeqBatch& q : seqs) T += static_cast<int64_t>(q.tokens.size());
    grow(s.x, T * E), grow(s.h, T * E), grow(s.q, T * H * D), grow(s.k, T * Hkv * D);
    grow(s.v, T * Hkv * D), grow(s.attn, T * H * D), grow(s.ffn_out, T * E);
    grow(s.gate, T * n_ff_dense_), grow(s.up, T * n_ff_dense_);

    float* x = s.x.data();  // (T, E) residual stream
    int64_t row = 0;
    for (const SeqBatch& q : seqs)
        for (int32_t tok : q.tokens) kernels::get_row(w_.token_embd.view(), tok, x + row++ * E);
    // Each row's rotary angles, at its sequence's positions: the same in every layer.
    grow(s.rope, T * rope_.n_rot);
    row = 0;
    for (const SeqBatch& q : seqs) {
        const auto n = static_cast<int64_t>(q.tokens.size());
        blocks::rope_angles(rope_, q.state->n_past(), n, s.rope.data() + row * rope_.n_rot);
        row += n;
    }

    for (int64_t il = 0; il < c.n_layer; ++il) {
        const DecoderLayer& l = w_.layers[il];
        // Attention block.
        blocks::rmsnorm(x, l.attn_norm.f32(), s.h.data(), T, E, c.rms_eps, *pool_);
        const kernels::MatmulOut qkv[] = {
            {l.wq.view(), s.q.data()}, {l.wk.view(), s.k.data()}, {l.wv.view(), s.v.data()}};
        kernels::matmul_group(qkv, s.h.data(), T, *pool_);
        if (l.bq) blocks::add_bias(s.q.data(), l.bq.f32(), T, H * D);
        if (l.bk) blocks::add_bias(s.k.data(), l.bk.f32(), T, Hkv * D);
        if (l.bv) blocks::add_bias(s.v.data(), l.bv.f32(), T, Hkv * D);
        if (l.q_norm) blocks::rmsnorm(s.q.data(), l.q_norm.f32(), s.q.data(), T * H, D, c.rms_eps, *pool_);
        if (l.k_norm)
            blocks::rmsnorm(s.k.data(), l.k_norm.f32(), s.k.data(), T * Hkv, D, c.rms_eps, *pool_);
        // Each sequence's rows at its own positions, against its own cache.
        row = 0;
        for (const SeqBatch& seq : seqs) {
            auto& sq = static_cast<DecoderState&>(*seq.state);
            const int64_t n = static_cast<int64_t>(seq.tokens.size()), pos0 = sq.n_past();
            float* q = s.q.data() + row * H * D;
            float* k = s.k.data() + row * Hkv * D;
            const float* angles = s.rope.data() + row * rope_.n_rot;
            const float* v = s.v.data() + row * Hkv * D;
            pool_->for_range(n, (H + 2 * Hkv) * D, [&](int64_t t0, int64_t t1) {
                blocks::apply_rope(rope_, angles + t0 * rope_.n_rot, q + t0 * H * D, t1 - t0, H, D);
                blocks::apply_rope(rope_, angles + t0 * rope_.n_rot, k + t0 * Hkv * D, t1 - t0, Hkv, D);
                sq.kv[il].store(k + t0 * Hkv * D, v + t0 * Hkv * D, pos0 + t0, t1 - t0);
            });
            attention(q, sq.kv[il], s.attn.data() + row * H * D, n, pos0, H, *pool_);
            row += n;
        }
        matmul(l.wo, s.attn.data(), s.h.data(), T, *pool_);
        if (l.bo) blocks::add_bias(s.h.data(), l.bo.f32(), T, E);
        blocks::add(x, s.h.data(), T * E, *pool_);

        // Feed-forward block: the routed experts, or dense SwiGLU.
        blocks::rmsnorm(x, l.ffn_norm.f32(), s.h.data(), T, E, c.rms_eps, *pool_);
        if (l.moe) {
            moe_ffn(*l.moe, s.h.data(), s.ffn_out.data(), T, s.moe, *pool_);
        } else {
            const kernels::MatmulOut gate_up[] = {{l.ffn_gate.view(), s.gate.data()},
                                                  {l.ffn_up.view(), s.up.data()}};
            kernels::matmul_group(gate_up, s.h.data(), T, *pool_);
            blocks::swiglu(s.gate.data(), s.up.data(), T * c.n_ff, *pool_);
            matmul(l.ffn_down, s.gate.data(), s.ffn_out.data(), T, *pool_);
        }
        blocks::add(x, s.ffn_out.data(), T * E, *pool_);
    }

    // Output head on every row (one sequence only), or on each sequence's last row.
    auto head = [&](const float* rows, int64_t n, float* logits) {
        blocks::rmsnorm(rows, w_.output_norm.f32(), s.h.data(), n, E, c.rms_eps, *pool_);
        matmul(w_.output, s.h.data(), logits, n, *pool_);
        if (w_.output_bias) blocks::add_bias(logits, w_.output_bias.f32(), n, c.n_vocab);
    };
    if (all_logits) {
        HEARTH_CHECK(n_seq == 1);
        head(x, T, seqs[0].logits);
        return;
    }
    row = 0;
    for (int64_t i = 0; i < n_seq; ++i) {  // gather the last rows: (n_seq, E)
        row += static_cast<int64_t>(seqs[i].tokens.size());
        std::copy_n(x + (row - 1) * E, E, s.ffn_out.data() + i * E);
    }
    if (n_seq == 1) {
        head(s.ffn_out.data(), 1, seqs[0].logits);
        return;
    }
    grow(s.logits_out, n_seq * c.n_vocab);
    head(s.ffn_out.data(), n_seq, s.logits_out.data());
    for (int64_t i = 0; i < n_seq; ++i)
        std::copy_n(s.logits_out.data() + i * c.n_vocab, c.n_vocab, seqs[i].logits);
}

}  // namespace hearth::model
