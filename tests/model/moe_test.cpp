// The MoE FFN against a naive double-precision twin written here (routing, renormalisation,
// SwiGLU experts, shared expert, fused gate_up), and the qwen3moe architecture on tiny models
// from our GGUF writer: batched prefill equals decode, load errors name the key or tensor.
#include "kernels/dispatch.h"
#include "model/moe.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "gguf/writer.h"
#include "kernels/kernels.h"
#include "kernels/matmul.h"
#include "model/loader.h"
#include "model/model.h"
#include "model_test_util.h"

namespace hearth::model {
namespace {

using gguf::TensorType;

// Seeded Gaussian tensors in any type we can quantize to, row by row (rows of ne[0]).
class TensorMaker {
   public:
    explicit TensorMaker(gguf::Writer& w, uint32_t seed = 7) : w_(w), rng_(seed) {}

    void add(const std::string& name, std::vector<int64_t> ne, TensorType type = TensorType::F32) {
        int64_t count = 1;
        for (int64_t d : ne) count *= d;
        add_data(name, ne, type, random(count));
    }

    void add_data(const std::string& name, std::vector<int64_t> ne, TensorType type,
                  const std::vector<float>& x) {
        const gguf::TypeTraits tr = gguf::traits(type);
        const int64_t row_bytes = ne[0] / tr.block_size * tr.block_bytes;
        const int64_t n_rows = static_cast<int64_t>(x.size()) / ne[0];
        std::vector<uint8_t> bytes(n_rows * row_bytes);
        for (int64_t r = 0; r < n_rows; ++r)
            kernels::quantize_row(type, &x[r * ne[0]], &bytes[r * row_bytes], ne[0]);
        w_.add_tensor(name, type, ne, bytes);
    }

    std::vector<float> random(int64_t n) {
        std::vector<float> x(n);
        for (auto& v : x) v = dist_(rng_);
        return x;
    }

   private:
    gguf::Writer& w_;
    std::mt19937 rng_;
    std::normal_distribution<float> dist_{0.0f, 0.3f};
};

std::unique_ptr<gguf::Reader> read(const gguf::Writer& w) {
    auto r = gguf::Reader::from_file(MappedFile::from_bytes(w.bytes(), "moe.gguf"));
    EXPECT_TRUE(r.ok()) << r.message();
    return std::make_unique<gguf::Reader>(std::move(r.value()));
}

// ---- moe_ffn against a naive twin -------------------------------------------------------

constexpr int64_t kE = 64, kNExp = 5, kK = 2, kFFExp = 32, kFFSh = 64;

struct MoeCase {
    bool shared = false;
    bool fused = false;
};

// One MoE layer "blk.0." with mixed weight types (Q8_0, F16, Q4_0) so that dequantization
// and expert slab offsets are both exercised.
std::unique_ptr<gguf::Reader> moe_layer_file(const MoeCase& c) {
    gguf::Writer w;
    TensorMaker m(w, 11);
    m.add("blk.0.ffn_gate_inp.weight", {kE, kNExp});
    if (c.fused) {
        m.add("blk.0.ffn_gate_up_exps.weight", {kE, 2 * kFFExp, kNExp}, TensorType::Q8_0);
    } else {
        m.add("blk.0.ffn_gate_exps.weight", {kE, kFFExp, kNExp}, TensorType::Q8_0);
        m.add("blk.0.ffn_up_exps.weight", {kE, kFFExp, kNExp}, TensorType::F16);
    }
    m.add("blk.0.ffn_down_exps.weight", {kFFExp, kE, kNExp}, TensorType::Q4_0);
    if (c.shared) {
        m.add("blk.0.ffn_gate_inp_shexp.weight", {kE, 1});
        m.add("blk.0.ffn_gate_shexp.weight", {kE, kFFSh}, TensorType::Q8_0);
        m.add("blk.0.ffn_up_shexp.weight", {kE, kFFSh});
        m.add("blk.0.ffn_down_shexp.weight", {kFFSh, kE}, TensorType::Q8_0);
    }
    return read(w);
}

std::vector<double> row(const kernels::WeightView& v, int64_t r) {
    std::vector<float> f(v.n_in);
    kernels::get_row(v, r, f.data());
    return {f.begin(), f.end()};
}

double dot(const std::vector<double>& a, const float* x) {
    double s = 0;
    for (size_t i = 0; i < a.size(); ++i) s += a[i] * x[i];
    return s;
}

// y (E) += scale * down · (silu(gate · x) * (up · x)); gate row r is row gate_row0 + r.
void naive_swiglu(const kernels::WeightView& gate, int64_t gate_row0, const kernels::WeightView& up,
                  int64_t up_row0, const kernels::WeightView& down, int64_t n_ff, const float* x,
                  double scale, std::vector<double>& y) {
    std::vector<float> h(n_ff);
    for (int64_t r = 0; r < n_ff; ++r) {
        const double g = dot(row(gate, gate_row0 + r), x), u = dot(row(up, up_row0 + r), x);
        h[r] = static_cast<float>(g / (1.0 + std::exp(-g)) * u);
    }
    for (int64_t d = 0; d < static_cast<int64_t>(y.size()); ++d)
        y[d] += scale * dot(row(down, d), h.data());
}

// The MoE output of one token x (E), straight from ARCHITECTURES.md 5.6, in double.
std::vector<double> naive_moe(const MoeWeights& w, const float* x) {
    std::vector<double> p(w.n_expert);
    double max_l = -INFINITY, sum = 0;
    for (int64_t e = 0; e < w.n_expert; ++e) {
        p[e] = dot(row(w.gate_inp.view(), e), x);
        max_l = std::max(max_l, p[e]);
    }
    for (double& v : p) sum += v = std::exp(v - max_l);
    for (double& v : p) v /= sum;
    std::vector<int64_t> sel;
    double sel_sum = 0;
    while (static_cast<int64_t>(sel.size()) < w.n_expert_used) {
        int64_t best = -1;
        for (int64_t e = 0; e < w.n_expert; ++e)
            if (std::find(sel.begin(), sel.end(), e) == sel.end() && (best < 0 || p[e] > p[best]))
                best = e;
        sel.push_back(best);
        sel_sum += p[best];
    }
    std::vector<double> y(w.down_exps.info->ne[1], 0.0);
    for (int64_t e : sel) {
        const double wt = p[e] / std::max(sel_sum, 6.103515625e-5);
        const int64_t F = w.n_ff_exp;
        if (w.gate_up_exps)
            naive_swiglu(w.gate_up_exps.expert(e), 0, w.gate_up_exps.expert(e), F,
                         w.down_exps.expert(e), F, x, wt, y);
        else
            naive_swiglu(w.gate_exps.expert(e), 0, w.up_exps.expert(e), 0, w.down_exps.expert(e), F,
                         x, wt, y);
    }
    if (w.gate_inp_shexp) {
        const double g = 1.0 / (1.0 + std::exp(-dot(row(w.gate_inp_shexp.view(), 0), x)));
        naive_swiglu(w.gate_shexp.view(), 0, w.up_shexp.view(), 0, w.down_shexp.view(),
                     w.n_ff_shexp, x, g, y);
    }
    return y;
}

TEST(Moe, MatchesNaiveTwin) {
    // The twin computes in float64 from dequantized weights: compare with the float path,
    // not with kernels that quantize activations.
    kernels::ScopedIsa exact(kernels::Isa::Exact);
    ThreadPool load_pool(2);
    for (MoeCase c : {MoeCase{}, MoeCase{.shared = true}, MoeCase{.fused = true}}) {
        auto reader = moe_layer_file(c);
        Binder b(*reader, load_pool);
        MoeWeights w = bind_moe_weights(b, "blk.0.", kE, kNExp, kK, kFFExp, c.shared ? kFFSh : 0);
        ASSERT_TRUE(b.status().ok()) << b.status().message();
        std::mt19937 rng(3);
        std::normal_distribution<float> dist(0.0f, 1.0f);
        for (int threads : {1, 3}) {
            ThreadPool pool(threads);
            MoeScratch scratch;  // shared across batch sizes: growing then reusing must work
            // 2100 tokens route 4200 rows: more than one pass of experts (4096 rows at most).
            for (int64_t T : {7, 1, 7, 2100}) {
                std::vector<float> x(T * kE);
                for (auto& v : x) v = dist(rng);
                std::vector<float> out(T * kE, NAN);
                moe_ffn(w, x.data(), out.data(), T, scratch, pool);
                for (int64_t t = 0; t < T; ++t) {
                    const std::vector<double> want = naive_moe(w, x.data() + t * kE);
                    double max_diff = 0, max_abs = 0;
                    for (int64_t d = 0; d < kE; ++d) {
                        max_diff = std::max(max_diff, std::fabs(out[t * kE + d] - want[d]));
                        max_abs = std::max(max_abs, std::fabs(want[d]));
                    }
                    EXPECT_GT(max_abs, 1e-3);
                    EXPECT_LT(max_diff, 1e-5 * max_abs + 1e-7)
                        << "shared " << c.shared << " fused " << c.fused << " threads " << threads
                        << " T " << T << " token " << t;
                }
            }
        }
    }
}

// Where the ISA has interleaved kernels, expert stacks are bound interleaved (this file fits in
// memory) and each expert is read through views that start on a group: the layer stays within
// the activations' rounding of the same file bound as stored on the exact path. A fused stack
// of 2 x 8 rows per expert must stay as stored, since its up half starts mid-group.
TEST(Moe, InterleavedStacksMatchExactPath) {
    constexpr int64_t E = 256, n_exp = 5;
    struct Case {
        bool fused;
        int64_t n_ff;
        bool interleaved;
    };
    for (const Case c : {Case{false, 32, true}, Case{true, 16, true}, Case{true, 8, false}}) {
        gguf::Writer wr;
        TensorMaker m(wr, 5);
        m.add("blk.0.ffn_gate_inp.weight", {E, n_exp});
        if (c.fused) {
            m.add("blk.0.ffn_gate_up_exps.weight", {E, 2 * c.n_ff, n_exp}, TensorType::Q8_0);
        } else {
            m.add("blk.0.ffn_gate_exps.weight", {E, c.n_ff, n_exp}, TensorType::Q4_K);
            m.add("blk.0.ffn_up_exps.weight", {E, c.n_ff, n_exp}, TensorType::Q6_K);
        }
        // Q8_0 needs rows of 32 or more.
        const TensorType down = c.n_ff % 32 == 0 ? TensorType::Q8_0 : TensorType::F32;
        m.add("blk.0.ffn_down_exps.weight", {c.n_ff, E, n_exp}, down);
        const auto reader = read(wr);
        auto bind = [&](Binder& b) {
            MoeWeights w = bind_moe_weights(b, "blk.0.", E, n_exp, 2, c.n_ff, 0);
            EXPECT_TRUE(b.status().ok()) << b.status().message();
            return w;
        };
        ThreadPool pool(2);
        std::mt19937 rng(9);
        std::normal_distribution<float> dist(0.0f, 1.0f);
        std::vector<float> x(9 * E);
        for (auto& v : x) v = dist(rng);
        std::vector<float> exact(x.size());
        {
            kernels::ScopedIsa scoped(kernels::Isa::Exact);
            Binder b(*reader, pool);
            const MoeWeights w = bind(b);
            MoeScratch s;
            moe_ffn(w, x.data(), exact.data(), 9, s, pool);
        }
        for (kernels::Isa isa : kernels::available_isas()) {
            if (!kernels::has_interleaved_kernels(isa)) continue;
            SCOPED_TRACE(std::string(kernels::isa_name(isa)) + " fused " +
                         std::to_string(c.fused) + " n_ff " + std::to_string(c.n_ff));
            kernels::ScopedIsa scoped(isa);
            Binder b(*reader, pool);
            const MoeWeights w = bind(b);
            const Tensor& gate = c.fused ? w.gate_up_exps : w.gate_exps;
            EXPECT_EQ(gate.interleaved, c.interleaved);
            EXPECT_EQ(w.down_exps.interleaved, down == TensorType::Q8_0);
            MoeScratch s;
            for (int64_t T : {1, 4, 9}) {
                std::vector<float> out(T * E, NAN);
                moe_ffn(w, x.data(), out.data(), T, s, pool);
                double err = 0, ref = 0;
                for (int64_t i = 0; i < T * E; ++i) {
                    err += (out[i] - exact[i]) * (out[i] - exact[i]);
                    ref += exact[i] * exact[i];
                }
                EXPECT_GT(ref, 0.0);
                EXPECT_LT(err / ref, 5e-4) << "T " << T;
            }
        }
    }
}

// Decode must only touch the chosen experts: the router here always picks experts 0 and 1
// (x > 0, their router rows are large and positive), and the other experts' weights are NaN.
TEST(Moe, ReadsOnlyChosenExperts) {
    gguf::Writer w;
    TensorMaker m(w);
    std::vector<float> router(kE * kNExp, -1.0f);
    std::fill_n(router.begin(), 2 * kE, 1.0f);
    m.add_data("blk.0.ffn_gate_inp.weight", {kE, kNExp}, TensorType::F32, router);
    for (const char* name : {"gate", "up", "down"}) {
        const std::vector<int64_t> ne = name[0] == 'd' ? std::vector<int64_t>{kFFExp, kE, kNExp}
                                                       : std::vector<int64_t>{kE, kFFExp, kNExp};
        std::vector<float> x = m.random(kE * kFFExp * kNExp);
        std::fill(x.begin() + 2 * kE * kFFExp, x.end(), NAN);
        m.add_data(std::string("blk.0.ffn_") + name + "_exps.weight", ne, TensorType::F32, x);
    }
    auto reader = read(w);
    ThreadPool pool(2);
    Binder b(*reader, pool);
    MoeWeights mw = bind_moe_weights(b, "blk.0.", kE, kNExp, kK, kFFExp, 0);
    ASSERT_TRUE(b.status().ok()) << b.status().message();
    MoeScratch scratch;
    for (int64_t T : {1, 5}) {
        std::vector<float> x(T * kE, 0.5f), out(T * kE);
        moe_ffn(mw, x.data(), out.data(), T, scratch, pool);
        for (float v : out) ASSERT_TRUE(std::isfinite(v)) << "T " << T;
    }
}

// ---- the qwen3moe architecture ------------------------------------------------------------

constexpr int64_t kH = 4, kHkv = 2, kD = 16, kV = 50, kL = 2;

struct Spec {
    std::string skip_tensor;
    int64_t expert_count = kNExp, expert_used_count = kK;
    bool expert_ff_key = true;
    bool tied = false;
};

std::string tiny_qwen3moe(const Spec& s) {
    gguf::Writer w;
    const std::string a = "qwen3moe";
    w.add_string("general.architecture", a);
    w.add_u32(a + ".block_count", kL);
    w.add_u32(a + ".context_length", 128);
    w.add_u32(a + ".embedding_length", kE);
    w.add_u32(a + ".attention.head_count", kH);
    w.add_u32(a + ".attention.head_count_kv", kHkv);
    w.add_u32(a + ".attention.key_length", kD);
    w.add_f32(a + ".attention.layer_norm_rms_epsilon", 1e-6f);
    w.add_f32(a + ".rope.freq_base", 1e6f);
    w.add_u32(a + ".expert_count", static_cast<uint32_t>(s.expert_count));
    w.add_u32(a + ".expert_used_count", static_cast<uint32_t>(s.expert_used_count));
    if (s.expert_ff_key) w.add_u32(a + ".expert_feed_forward_length", kFFExp);
    TensorMaker m(w);
    auto add = [&](const std::string& name, std::vector<int64_t> ne,
                   TensorType type = TensorType::F32) {
        if (name != s.skip_tensor) m.add(name, ne, type);
    };
    add("token_embd.weight", {kE, kV});
    add("output_norm.weight", {kE});
    if (!s.tied) add("output.weight", {kE, kV}, TensorType::Q8_0);
    for (int il = 0; il < kL; ++il) {
        const std::string p = "blk." + std::to_string(il) + ".";
        add(p + "attn_norm.weight", {kE});
        add(p + "attn_q.weight", {kE, kH * kD});
        add(p + "attn_k.weight", {kE, kHkv * kD});
        add(p + "attn_v.weight", {kE, kHkv * kD});
        add(p + "attn_output.weight", {kH * kD, kE});
        add(p + "attn_q_norm.weight", {kD});
        add(p + "attn_k_norm.weight", {kD});
        add(p + "ffn_norm.weight", {kE});
        add(p + "ffn_gate_inp.weight", {kE, kNExp});
        add(p + "ffn_gate_exps.weight", {kE, kFFExp, kNExp}, TensorType::Q8_0);
        add(p + "ffn_up_exps.weight", {kE, kFFExp, kNExp});
        add(p + "ffn_down_exps.weight", {kFFExp, kE, kNExp}, TensorType::Q8_0);
    }
    return w.bytes();
}

Loaded load(const Spec& s, ThreadPool& pool) { return load_bytes(tiny_qwen3moe(s), pool); }

void expect_load_error(const Spec& s, const std::string& needle) {
    expect_load_error_bytes(tiny_qwen3moe(s), needle);
}

TEST(Qwen3Moe, Loads) {
    ThreadPool pool(1);
    for (bool tied : {false, true}) {
        Loaded l = load({.tied = tied}, pool);
        ASSERT_TRUE(l.model.ok()) << l.model.message();
        EXPECT_EQ((*l.model)->config().head_dim, kD);
        EXPECT_EQ((*l.model)->config().n_ff, kFFExp);
    }
    // No expert_feed_forward_length and no feed_forward_length: the width comes from the tensors.
    Loaded l = load({.expert_ff_key = false}, pool);
    ASSERT_TRUE(l.model.ok()) << l.model.message();
    EXPECT_EQ((*l.model)->config().n_ff, kFFExp);
}

TEST(Qwen3Moe, ErrorsNameWhatIsWrong) {
    expect_load_error({.expert_used_count = kNExp + 1},
                      "qwen3moe.expert_used_count: 6 is not in 1..5 (expert_count)");
    expect_load_error({.expert_used_count = 0}, "qwen3moe.expert_used_count");
    expect_load_error({.expert_count = 0}, "qwen3moe.expert_count");
    expect_load_error({.skip_tensor = "blk.1.ffn_gate_exps.weight"},
                      "missing tensor 'blk.1.ffn_gate_exps.weight'");
    expect_load_error({.skip_tensor = "blk.0.ffn_gate_inp.weight"},
                      "missing tensor 'blk.0.ffn_gate_inp.weight'");
    expect_load_error({.skip_tensor = "blk.0.attn_k_norm.weight"}, "attn_k_norm.weight");
    // A wrong expert count shows up as the router's shape.
    expect_load_error({.expert_count = kNExp + 1}, "blk.0.ffn_gate_inp.weight': expected shape");
}

// Prefill groups tokens by expert, decode runs one token's experts: same sums, same order.
TEST(Qwen3Moe, BatchedPromptMatchesTokenByToken) {
    const std::vector<int32_t> tokens = {3, 17, 42, 8, 0, 49, 21, 5, 5, 13, 30};
    for (int threads : {1, 2, 3}) {
        ThreadPool pool(threads);
        Loaded l = load({}, pool);
        ASSERT_TRUE(l.model.ok()) << l.model.message();
        expect_batched_matches_stepwise(**l.model, tokens, "threads " + std::to_string(threads));
    }
}

TEST(Qwen3Moe, EvalBatchMatchesSeparateEvals) {
    ThreadPool pool(2);
    Loaded l = load({}, pool);
    ASSERT_TRUE(l.model.ok()) << l.model.message();
    expect_eval_batch_matches_separate(**l.model, 11, "qwen3moe");
}

}  // namespace
}  // namespace hearth::model
