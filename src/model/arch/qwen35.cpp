// qwen35 (Qwen3.5, Qwen3.6-27B) and qwen35moe (Qwen3.5/3.6-35B-A3B): hybrid decoders where
// most layers are Gated DeltaNet (recurrent state, no KV) and every full_attention_interval-th
// layer is gated softmax attention with partial multi-section RoPE. qwen35moe swaps the dense
// SwiGLU for experts plus a gated shared expert. MTP blocks are loaded past, not run.
// References: HF transformers modeling_qwen3_next.py; ARCHITECTURES.md 3, 4.6, 5.4-5.6.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <optional>
#include <tuple>

#include "base/aligned.h"
#include "kernels/matmul.h"
#include "model/arch/arch.h"
#include "model/attention.h"
#include "model/blocks.h"
#include "model/deltanet.h"
#include "model/moe.h"

namespace hearth::model {

namespace {

struct HybridConfig {  // what qwen35* adds to Config
    deltanet::Shape ssm;
    std::vector<bool> recurrent;  // per main layer
    int64_t sections[4] = {0, 0, 0, 0};
    int64_t n_nextn = 0;          // MTP blocks after the main layers; the first one is used
    bool moe = false;
    int64_t n_expert = 0, n_expert_used = 0, n_ff_exp = 0, n_ff_shexp = 0;
};

struct Layer {
    Tensor attn_norm, post_attention_norm;  // (E)
    // Gated DeltaNet.
    Tensor qkv;             // [E, conv_dim]
    Tensor gate;            // [E, value_dim]: z
    Tensor conv1d;          // [Kc, conv_dim], F32
    Tensor dt_bias, ssm_a;  // (Hv)
    Tensor beta, alpha;     // [E, Hv]
    Tensor ssm_norm;        // (dv)
    Tensor ssm_out;         // [value_dim, E]
    // Gated attention.
    Tensor wq;              // [E, 2*H*D]: per head D query rows, then D gate rows
    Tensor wk, wv;          // [E, Hkv*D]
    Tensor wo;              // [H*D, E]
    Tensor q_norm, k_norm;  // (D)
    // FFN.
    Tensor ffn_gate, ffn_up, ffn_down;  // dense: [E, n_ff], [E, n_ff], [n_ff, E]
    MoeWeights moe;
};

// The multi-token-prediction block: [enorm(embed(next token)) | hnorm(hidden)] → eh_proj →
// one gated-attention layer with its FFN → final norm → head.
struct MtpWeights {
    Layer layer;
    Tensor eh_proj;       // [2E, E]
    Tensor enorm, hnorm;  // (E)
    Tensor embed;         // [E, V]: nextn.embed_tokens, else token_embd
    Tensor head_norm;     // (E): nextn.shared_head_norm, else output_norm
    Tensor head;          // [E, V]: nextn.shared_head_head, else the output head
};

struct Weights {
    Tensor token_embd, output_norm, output;
    std::vector<Layer> layers;
    std::optional<MtpWeights> mtp;
};

struct HybridState;

// One sequence's rows in a batch laid end to end: its memory and where its rows start.
struct Seg {
    HybridState* state;
    int64_t row, n;
};

struct HybridState : State {
    using State::State;
    std::vector<KvCache> kv;                           // per layer; empty for recurrent ones
    std::vector<AlignedVector<float>> conv, ssm;        // recurrent: (Kc-1, conv_dim), (Hv, dk, dv)
    AlignedVector<float> x, h, out, mixed, z, beta, g, o, q, k, v, attn, gate, up, logits_out;
    AlignedVector<float> rope;  // (T, n_rot): the batch rows' rotary angles (blocks::rope_angles)
    MoeScratch moe;
    std::vector<Seg> segs;

    std::unique_ptr<State> clone() const override {
        auto c = std::make_unique<HybridState>(n_ctx_);
        c->n_past_ = n_past_;
        c->kv.reserve(kv.size());
        for (const KvCache& layer : kv) c->kv.push_back(layer.copy_prefix(n_past_));
        c->conv = conv, c->ssm = ssm;
        return c;
    }
    // The recurrent state summarises every token seen: it cannot drop the last few.
    bool truncate(int64_t n) override { return n == n_past_; }
    Checkpoint checkpoint() const override {
        Checkpoint cp{.n_past = n_past_, .recurrent = {}};
        for (const auto* part : {&conv, &ssm})
            for (const auto& v : *part) cp.recurrent.insert(cp.recurrent.end(), v.begin(), v.end());
        return cp;
    }
    void restore(const Checkpoint& cp) override {
        HEARTH_CHECK(cp.n_past <= n_past_);
        size_t at = 0;
        for (auto* part : {&conv, &ssm}) {
            for (auto& v : *part) {
                HEARTH_CHECK(at + v.size() <= cp.recurrent.size());
                std::copy(cp.recurrent.begin() + at, cp.recurrent.begin() + at + v.size(), v.begin());
                at += v.size();
            }
        }
        n_past_ = cp.n_past;
    }
    int64_t memory_bytes() const override {
        int64_t n = 0;
        for (const KvCache& c : kv) n += c.bytes();
        for (const auto* part : {&conv, &ssm})
            for (const auto& v : *part) n += static_cast<int64_t>(v.size() * sizeof(float));
        return n;
    }
};

class Hybrid : public Model {
   public:
    Hybrid(Config c, HybridConfig hc, Weights w, ThreadPool& pool)
        : hc_(std::move(hc)), w_(std::move(w)) {
        config_ = std::move(c);
        pool_ = &pool;
        rope_ = blocks::make_rope_multi_section(config_.n_rot, config_.rope_theta, hc_.sections);
    }

    bool has_mtp() const override { return w_.mtp.has_value(); }

    Status eval_mtp(std::span<const int32_t> next_tokens, const float* hidden, State& mtp_state,
                    float* logits, float* hidden_out) override;

    std::vector<LayerKind> layer_kinds() const override {
        std::vector<LayerKind> k;
        for (bool rec : hc_.recurrent) k.push_back(rec ? LayerKind::Recurrent : LayerKind::Attention);
        return k;
    }

   protected:
    std::unique_ptr<State> make_state(int64_t n_ctx, CacheType type) const override {
        auto s = std::make_unique<HybridState>(n_ctx);
        const Config& c = config_;
        const deltanet::Shape& m = hc_.ssm;
        for (int64_t il = 0; il < c.n_layer; ++il) {
            const bool rec = hc_.recurrent[il];
            s->kv.push_back(rec ? KvCache(type, 0, 0, c.head_dim)
                                : KvCache(type, n_ctx, c.n_head_kv, c.head_dim));
            s->conv.emplace_back(rec ? (m.d_conv - 1) * m.conv_dim() : 0);
            s->ssm.emplace_back(rec ? m.n_v_heads * m.d_k * m.d_v : 0);
        }
        return s;
    }

    std::unique_ptr<State> make_mtp_state(int64_t n_ctx, CacheType type) const override {
        if (!w_.mtp) return nullptr;
        auto s = std::make_unique<HybridState>(n_ctx);
        s->kv.emplace_back(type, n_ctx, config_.n_head_kv, config_.head_dim);
        return s;
    }
    void forward(std::span<const int32_t> tokens, State& base, float* logits,
                 bool all_logits) override;
    void forward_batch(std::span<const SeqBatch> seqs) override { run(seqs, false); }

   private:
    // The pass over the sequences' tokens laid end to end (scratch from the first one's
    // state): weights apply to all rows at once; convolution, recurrence, RoPE, KV cache and
    // attention per sequence. all_logits only for a single sequence.
    void run(std::span<const SeqBatch> seqs, bool all_logits);
    // h (T, E) → out (T, E); `segs` split the T rows into sequences.
    void deltanet_block(const Layer& l, int64_t il, HybridState& s, std::span<const Seg> segs, int64_t T);
    void attention_block(const Layer& l, int64_t il, HybridState& s, std::span<const Seg> segs, int64_t T);
    void ffn_block(const Layer& l, HybridState& s, int64_t T);
    // s.rope: each row's rotary angles at its sequence's positions, the same in every layer.
    void rope_rows(HybridState& s, std::span<const Seg> segs, int64_t T) const {
        grow(s.rope, T * rope_.n_rot);
        for (const Seg& sg : segs)
            blocks::rope_angles(rope_, sg.state->n_past(), sg.n, s.rope.data() + sg.row * rope_.n_rot);
    }
    void matmul(const Tensor& t, const float* x, float* y, int64_t T) {
        kernels::matmul(t.view(), x, y, T, *pool_);
    }

    HybridConfig hc_;
    Weights w_;
    blocks::Rope rope_;
};

void Hybrid::forward(std::span<const int32_t> tokens, State& base, float* logits,
                     bool all_logits) {
    const SeqBatch one{.tokens = tokens, .state = &base, .logits = logits};
    run({&one, 1}, all_logits);
}

void Hybrid::run(std::span<const SeqBatch> seqs, bool all_logits) {
    auto& s = static_cast<HybridState&>(*seqs[0].state);
    const Config& c = config_;
    const int64_t E = c.n_embd, n_seq = static_cast<int64_t>(seqs.size());
    s.segs.clear();
    int64_t T = 0;
    for (const SeqBatch& q : seqs) {
        const int64_t n = static_cast<int64_t>(q.tokens.size());
        s.segs.push_back({.state = static_cast<HybridState*>(q.state), .row = T, .n = n});
        T += n;
    }
    const std::span<const Seg> segs(s.segs);
    grow(s.x, T * E), grow(s.h, T * E), grow(s.out, T * E);
    rope_rows(s, segs, T);
    float* x = s.x.data();  // (T, E) residual stream
    int64_t row = 0;
    for (const SeqBatch& q : seqs)
        for (int32_t tok : q.tokens) kernels::get_row(w_.token_embd.view(), tok, x + row++ * E);

    for (int64_t il = 0; il < c.n_layer; ++il) {
        const Layer& l = w_.layers[il];
        blocks::rmsnorm(x, l.attn_norm.f32(), s.h.data(), T, E, c.rms_eps, *pool_);
        if (hc_.recurrent[il]) deltanet_block(l, il, s, segs, T);
        else attention_block(l, il, s, segs, T);
        blocks::add(x, s.out.data(), T * E, *pool_);
        blocks::rmsnorm(x, l.post_attention_norm.f32(), s.h.data(), T, E, c.rms_eps, *pool_);
        ffn_block(l, s, T);
        blocks::add(x, s.out.data(), T * E, *pool_);
    }

    if (n_seq > 1) {  // each sequence's last row: gather (n_seq, E), one head matmul, scatter
        for (int64_t i = 0; i < n_seq; ++i)
            std::copy_n(x + (segs[i].row + segs[i].n - 1) * E, E, s.out.data() + i * E);
        blocks::rmsnorm(s.out.data(), w_.output_norm.f32(), s.h.data(), n_seq, E, c.rms_eps, *pool_);
        grow(s.logits_out, n_seq * c.n_vocab);
        matmul(w_.output, s.h.data(), s.logits_out.data(), n_seq);
        for (int64_t i = 0; i < n_seq; ++i)
            std::copy_n(s.logits_out.data() + i * c.n_vocab, c.n_vocab, seqs[i].logits);
        return;
    }
    float* logits = seqs[0].logits;
    const int64_t n_out = all_logits ? T : 1;
    if (s.keep_hidden) {  // every row normed and kept for the MTP head
        s.hidden.resize(T * E);
        blocks::rmsnorm(x, w_.output_norm.f32(), s.hidden.data(), T, E, c.rms_eps, *pool_);
        matmul(w_.output, s.hidden.data() + (T - n_out) * E, logits, n_out);
        return;
    }
    blocks::rmsnorm(x + (T - n_out) * E, w_.output_norm.f32(), s.h.data(), n_out, E, c.rms_eps, *pool_);
    matmul(w_.output, s.h.data(), logits, n_out);
}

Status Hybrid::eval_mtp(std::span<const int32_t> next_tokens, const float* hidden,
                        State& mtp_state, float* logits, float* hidden_out) {
    if (!w_.mtp) return error("this model has no multi-token-prediction head");
    const MtpWeights& m = *w_.mtp;
    auto& s = static_cast<HybridState&>(mtp_state);
    const Config& c = config_;
    const int64_t T = static_cast<int64_t>(next_tokens.size()), E = c.n_embd;
    if (T == 0 || s.n_past() + T > s.n_ctx()) return error("MTP: batch does not fit its context");
    for (int32_t t : next_tokens)
        if (t < 0 || t >= c.n_vocab) return error(strfmt("MTP: token id %d out of range", t));
    grow(s.x, T * E), grow(s.h, 2 * T * E), grow(s.out, T * E);
    // (T, 2E): [enorm(embed(token)) | hnorm(hidden)] per row.
    for (int64_t t = 0; t < T; ++t) {
        float* row = s.h.data() + t * 2 * E;
        kernels::get_row(m.embed.view(), next_tokens[t], row);
        blocks::rmsnorm(row, m.enorm.f32(), row, 1, E, c.rms_eps);
        blocks::rmsnorm(hidden + t * E, m.hnorm.f32(), row + E, 1, E, c.rms_eps);
    }
    float* x = s.x.data();
    matmul(m.eh_proj, s.h.data(), x, T);
    blocks::rmsnorm(x, m.layer.attn_norm.f32(), s.h.data(), T, E, c.rms_eps, *pool_);
    const Seg one{.state = &s, .row = 0, .n = T};
    rope_rows(s, {&one, 1}, T);
    attention_block(m.layer, 0, s, {&one, 1}, T);
    blocks::add(x, s.out.data(), T * E, *pool_);
    blocks::rmsnorm(x, m.layer.post_attention_norm.f32(), s.h.data(), T, E, c.rms_eps, *pool_);
    ffn_block(m.layer, s, T);
    blocks::add(x, s.out.data(), T * E, *pool_);
    blocks::rmsnorm(x + (T - 1) * E, m.head_norm.f32(), hidden_out, 1, E, c.rms_eps);
    matmul(m.head, hidden_out, logits, 1);
    advance(s, T);
    return Status();
}

// h (T, E) → out (T, E) through one Gated DeltaNet layer, advancing its conv and ssm state.
void Hybrid::deltanet_block(const Layer& l, int64_t il, HybridState& s, std::span<const Seg> segs,
                            int64_t T) {
    const deltanet::Shape& m = hc_.ssm;
    const int64_t Hv = m.n_v_heads, dv = m.d_v;
    grow(s.mixed, T * m.conv_dim()), grow(s.z, T * m.value_dim()), grow(s.beta, T * Hv);
    grow(s.g, T * Hv), grow(s.o, T * m.value_dim());
    const kernels::MatmulOut in_proj[] = {
        {l.qkv.view(), s.mixed.data()},  // (T, conv_dim) = [q | k | v]
        {l.gate.view(), s.z.data()},     // (T, Hv, dv)
        {l.beta.view(), s.beta.data()},  // (T, Hv)
        {l.alpha.view(), s.g.data()},    // (T, Hv)
    };
    kernels::matmul_group(in_proj, s.h.data(), T, *pool_);
    for (int64_t i = 0; i < T * Hv; ++i) {
        s.beta[i] = 1.0f / (1.0f + std::exp(-s.beta[i]));
        const float a = s.g[i] + l.dt_bias.f32()[i % Hv];
        const float softplus = a > 20.0f ? a : std::log1p(std::exp(a));
        s.g[i] = softplus * l.ssm_a.f32()[i % Hv];  // log decay <= 0
    }
    for (const Seg& sg : segs)
        deltanet::conv1d_silu(s.mixed.data() + sg.row * m.conv_dim(), l.conv1d.f32(),
                              sg.state->conv[il].data(), sg.n, m, *pool_);
    float* q = s.mixed.data();
    float* k = q + m.key_dim();
    const float eps = config_.rms_eps;
    deltanet::l2_normalize(q, T, m.n_k_heads, m.d_k, m.conv_dim(), eps, 1.0f / std::sqrt(float(m.d_k)));
    deltanet::l2_normalize(k, T, m.n_k_heads, m.d_k, m.conv_dim(), eps, 1.0f);
    for (const Seg& sg : segs) {
        const int64_t at = sg.row * m.conv_dim();
        const deltanet::Inputs in{.q = q + at, .k = k + at, .v = k + at + m.key_dim(),
                                  .g = s.g.data() + sg.row * Hv, .beta = s.beta.data() + sg.row * Hv,
                                  .row_stride = m.conv_dim()};
        float* state = sg.state->ssm[il].data();
        float* o = s.o.data() + sg.row * m.value_dim();
        // A prompt goes through the chunked form; single decode steps through the recurrence.
        if (sg.n == 1) deltanet::recurrent(in, state, o, sg.n, m, *pool_);
        else deltanet::chunked(in, state, o, sg.n, m, *pool_);
    }
    // Gated RMSNorm per head: rmsnorm(o_j; ssm_norm) * silu(z_j).
    blocks::rmsnorm(s.o.data(), l.ssm_norm.f32(), s.o.data(), T * Hv, dv, eps, *pool_);
    blocks::swiglu(s.z.data(), s.o.data(), T * Hv * dv, *pool_);  // z = silu(z) * o
    matmul(l.ssm_out, s.z.data(), s.out.data(), T);
}

// h (T, E) → out (T, E) through one gated softmax-attention layer over the KV cache.
void Hybrid::attention_block(const Layer& l, int64_t il, HybridState& s, std::span<const Seg> segs,
                             int64_t T) {
    const Config& c = config_;
    const int64_t H = c.n_head, Hkv = c.n_head_kv, D = c.head_dim;
    grow(s.gate, T * 2 * H * D), grow(s.q, T * H * D), grow(s.k, T * Hkv * D);
    grow(s.v, T * Hkv * D), grow(s.attn, T * H * D), grow(s.up, T * H * D);
    const kernels::MatmulOut qkv[] = {
        {l.wq.view(), s.gate.data()},  // (T, H, 2D): query then gate per head
        {l.wk.view(), s.k.data()},
        {l.wv.view(), s.v.data()},
    };
    kernels::matmul_group(qkv, s.h.data(), T, *pool_);
    float* gate = s.up.data();  // (T, H, D)
    pool_->for_range(T * H, 2 * D, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
            std::memcpy(s.q.data() + r * D, s.gate.data() + r * 2 * D, D * sizeof(float));
            std::memcpy(gate + r * D, s.gate.data() + r * 2 * D + D, D * sizeof(float));
        }
    });
    blocks::rmsnorm(s.q.data(), l.q_norm.f32(), s.q.data(), T * H, D, c.rms_eps, *pool_);
    blocks::rmsnorm(s.k.data(), l.k_norm.f32(), s.k.data(), T * Hkv, D, c.rms_eps, *pool_);
    for (const Seg& sg : segs) {  // each sequence at its own positions, in its own cache
        const int64_t pos0 = sg.state->n_past();
        float* q = s.q.data() + sg.row * H * D;
        float* k = s.k.data() + sg.row * Hkv * D;
        const float* angles = s.rope.data() + sg.row * rope_.n_rot;
        const float* v = s.v.data() + sg.row * Hkv * D;
        pool_->for_range(sg.n, (H + 2 * Hkv) * D, [&](int64_t t0, int64_t t1) {
            blocks::apply_rope(rope_, angles + t0 * rope_.n_rot, q + t0 * H * D, t1 - t0, H, D);
            blocks::apply_rope(rope_, angles + t0 * rope_.n_rot, k + t0 * Hkv * D, t1 - t0, Hkv, D);
            sg.state->kv[il].store(k + t0 * Hkv * D, v + t0 * Hkv * D, pos0 + t0, t1 - t0);
        });
        attention(q, sg.state->kv[il], s.attn.data() + sg.row * H * D, sg.n, pos0, H, *pool_);
    }
    pool_->for_range(T * H, 2 * D, [&](int64_t r0, int64_t r1) {
        for (int64_t i = r0 * D; i < r1 * D; ++i) s.attn[i] *= 1.0f / (1.0f + std::exp(-gate[i]));
    });
    matmul(l.wo, s.attn.data(), s.out.data(), T);
}

void Hybrid::ffn_block(const Layer& l, HybridState& s, int64_t T) {
    if (hc_.moe) {
        moe_ffn(l.moe, s.h.data(), s.out.data(), T, s.moe, *pool_);
        return;
    }
    const int64_t n_ff = config_.n_ff;
    grow(s.gate, T * n_ff), grow(s.up, T * n_ff);
    const kernels::MatmulOut gate_up[] = {{l.ffn_gate.view(), s.gate.data()},
                                          {l.ffn_up.view(), s.up.data()}};
    kernels::matmul_group(gate_up, s.h.data(), T, *pool_);
    blocks::swiglu(s.gate.data(), s.up.data(), T * n_ff, *pool_);
    matmul(l.ffn_down, s.gate.data(), s.out.data(), T);
}

Status load_hybrid_config(const gguf::Reader& r, Hparams& hp, Config& c, HybridConfig& hc) {
    const std::string a = c.arch;
    c.head_dim = hp.u("attention.key_length");
    c.n_rot = hp.u("rope.dimension_count");
    hc.ssm = {.n_k_heads = hp.u("ssm.group_count"), .n_v_heads = hp.u("ssm.time_step_rank"),
              .d_k = hp.u("ssm.state_size"), .d_v = hp.u("ssm.state_size"),
              .d_conv = hp.u("ssm.conv_kernel")};
    const int64_t inner = hp.u("ssm.inner_size");
    hc.n_nextn = hp.u_or("nextn_predict_layers", 0);
    const int64_t interval = hp.u_or("full_attention_interval", 4);
    HEARTH_RETURN_IF_ERROR(hp.status());
    auto sec = r.get_array(a + ".rope.dimension_sections");
    if (!sec.ok()) return sec.status();
    if ((*sec)->count != 4 || !(*sec)->data)
        return error(a + ".rope.dimension_sections: expected 4 integers");
    for (int i = 0; i < 4; ++i) hc.sections[i] = gguf::array_int(**sec, i);
    const deltanet::Shape& m = hc.ssm;
    if (m.n_k_heads <= 0 || m.n_v_heads <= 0 || m.n_v_heads % m.n_k_heads != 0)
        return error(strfmt("%s.ssm.time_step_rank %lld must be a multiple of ssm.group_count %lld",
                            a.c_str(), (long long)m.n_v_heads, (long long)m.n_k_heads));
    if (m.d_k <= 0 || m.d_conv < 1 || m.d_conv > 64)
        return error(a + ".ssm.state_size / ssm.conv_kernel: out of range");
    if (inner != m.value_dim())
        return error(strfmt("%s.ssm.inner_size %lld != state_size x time_step_rank (%lld)",
                            a.c_str(), (long long)inner, (long long)m.value_dim()));
    if (hc.n_nextn < 0 || hc.n_nextn >= c.n_layer)
        return error(a + ".nextn_predict_layers: must be below block_count");
    c.n_layer -= hc.n_nextn;
    if (interval <= 0) return error(a + ".full_attention_interval: must be positive");
    for (int64_t il = 0; il < c.n_layer; ++il) hc.recurrent.push_back((il + 1) % interval != 0);
    if (const gguf::Value* rl = r.find(a + ".attention.recurrent_layers")) {
        if (rl->type != gguf::ValueType::Array || !rl->array->data || rl->array->count < uint64_t(c.n_layer))
            return error(a + ".attention.recurrent_layers: expected one flag per block");
        for (int64_t il = 0; il < c.n_layer; ++il) hc.recurrent[il] = gguf::array_int(*rl->array, il) != 0;
    }
    if (std::find(hc.recurrent.begin(), hc.recurrent.end(), true) == hc.recurrent.end())
        return error(a + ": no recurrent (DeltaNet) layer; this is not a valid hybrid model");
    return Status();
}

void bind_layer(Binder& b, const Config& c, const HybridConfig& hc, int64_t il, bool recurrent,
                Layer& l) {
    const std::string p = "blk." + std::to_string(il) + ".";
    const int64_t E = c.n_embd, H = c.n_head, Hkv = c.n_head_kv, D = c.head_dim;
    const deltanet::Shape& m = hc.ssm;
    l.attn_norm = b.req_f32(p + "attn_norm.weight", {E});
    l.post_attention_norm = b.req_f32(p + "post_attention_norm.weight", {E});
    if (recurrent) {
        l.qkv = b.req(p + "attn_qkv.weight", {E, m.conv_dim()});
        l.gate = b.req(p + "attn_gate.weight", {E, m.value_dim()});
        l.conv1d = b.req_f32(p + "ssm_conv1d.weight", {m.d_conv, m.conv_dim()});
        l.dt_bias = b.req_f32(p + "ssm_dt.bias", {m.n_v_heads});
        l.ssm_a = b.req_f32(p + "ssm_a", {m.n_v_heads});
        l.beta = b.req(p + "ssm_beta.weight", {E, m.n_v_heads});
        l.alpha = b.req(p + "ssm_alpha.weight", {E, m.n_v_heads});
        l.ssm_norm = b.req_f32(p + "ssm_norm.weight", {m.d_v});
        l.ssm_out = b.req(p + "ssm_out.weight", {m.value_dim(), E});
    } else {
        l.wq = b.req(p + "attn_q.weight", {E, 2 * H * D});
        l.wk = b.req(p + "attn_k.weight", {E, Hkv * D});
        l.wv = b.req(p + "attn_v.weight", {E, Hkv * D});
        l.wo = b.req(p + "attn_output.weight", {H * D, E});
        l.q_norm = b.req_f32(p + "attn_q_norm.weight", {D});
        l.k_norm = b.req_f32(p + "attn_k_norm.weight", {D});
    }
    if (hc.moe) {
        l.moe = bind_moe_weights(b, p, E, hc.n_expert, hc.n_expert_used, hc.n_ff_exp, hc.n_ff_shexp);
    } else {
        l.ffn_gate = b.req(p + "ffn_gate.weight", {E, c.n_ff});
        l.ffn_up = b.req(p + "ffn_up.weight", {E, c.n_ff});
        l.ffn_down = b.req(p + "ffn_down.weight", {c.n_ff, E});
    }
}

MtpWeights bind_mtp(Binder& b, const Config& c, const HybridConfig& hc, const Weights& w) {
    const std::string p = "blk." + std::to_string(c.n_layer) + ".nextn.";
    MtpWeights m;
    bind_layer(b, c, hc, c.n_layer, false, m.layer);
    m.eh_proj = b.req(p + "eh_proj.weight", {2 * c.n_embd, c.n_embd});
    m.enorm = b.req_f32(p + "enorm.weight", {c.n_embd});
    m.hnorm = b.req_f32(p + "hnorm.weight", {c.n_embd});
    m.embed = b.opt(p + "embed_tokens.weight", {c.n_embd, c.n_vocab});
    m.head_norm = b.opt_f32(p + "shared_head_norm.weight", {c.n_embd});
    m.head = b.opt(p + "shared_head_head.weight", {c.n_embd, c.n_vocab});
    if (!m.embed) m.embed = w.token_embd;
    if (!m.head_norm) m.head_norm = w.output_norm;
    if (!m.head) m.head = w.output;
    return m;
}

Result<std::unique_ptr<Model>> load_hybrid(const gguf::Reader& reader, ThreadPool& pool,
                                           const LoadProgress& progress, const std::string& arch) {
    Hparams hp(reader, arch);
    Config c = load_common_config(reader, hp, arch);
    HybridConfig hc;
    hc.moe = arch == "qwen35moe";
    if (hc.moe) {
        hc.n_expert = hp.u("expert_count");
        hc.n_expert_used = hp.u("expert_used_count");
        hc.n_ff_exp = hp.u("expert_feed_forward_length");
        hc.n_ff_shexp = hp.u_or("expert_shared_feed_forward_length", hc.n_ff_exp);
        c.n_ff = hc.n_ff_exp;
        if (hp.status().ok() && (hc.n_expert_used < 1 || hc.n_expert_used > hc.n_expert))
            hp.fail(arch + ".expert_used_count: must be between 1 and expert_count");
    } else {
        c.n_ff = hp.u("feed_forward_length");
    }
    HEARTH_RETURN_IF_ERROR(hp.status());
    HEARTH_RETURN_IF_ERROR(load_hybrid_config(reader, hp, c, hc));
    HEARTH_RETURN_IF_ERROR(check_attention_config(c, hp));

    Binder b(reader, pool, progress);
    Weights w;
    std::tie(w.token_embd, w.output) = b.embeddings(c.n_embd, c.n_vocab);
    w.output_norm = b.req_f32("output_norm.weight", {c.n_embd});
    w.layers.resize(c.n_layer);
    for (int64_t il = 0; il < c.n_layer; ++il) bind_layer(b, c, hc, il, hc.recurrent[il], w.layers[il]);
    HEARTH_RETURN_IF_ERROR(b.status());
    if (hc.n_nextn > 0) {
        // The first MTP block sits right after the main layers. It is optional equipment: a
        // block laid out differently than expected loses speculation, not the model.
        Binder mb(reader, pool);
        MtpWeights m = bind_mtp(mb, c, hc, w);
        if (mb.status().ok()) w.mtp = std::move(m);
        else std::fprintf(stderr, "hearth: MTP block not used: %s\n", mb.status().message().c_str());
    }
    return std::unique_ptr<Model>(new Hybrid(std::move(c), std::move(hc), std::move(w), pool));
}

}  // namespace

Result<std::unique_ptr<Model>> load_qwen35(const gguf::Reader& reader, ThreadPool& pool,
                                           const LoadProgress& progress) {
    return load_hybrid(reader, pool, progress, "qwen35");
}

Result<std::unique_ptr<Model>> load_qwen35moe(const gguf::Reader& reader, ThreadPool& pool,
                                              const LoadProgress& progress) {
    return load_hybrid(reader, pool, progress, "qwen35moe");
}

}  // namespace hearth::model
