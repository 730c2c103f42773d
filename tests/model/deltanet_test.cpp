// Gated DeltaNet: the chunked prefill form must equal the token-by-token recurrence (several
// chunks, a partial last chunk, a carried-in state, tiled K→V head mapping), and the conv
// state must carry across batch boundaries exactly.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "kernels/dispatch.h"
#include "model/deltanet.h"

namespace hearth::model::deltanet {
namespace {

struct Case {
    Shape shape;
    int64_t T;
    std::vector<float> qkv, g, beta;  // qkv (T, conv_dim) normalised like the model does
};

Case make_case(const Shape& s, int64_t T, uint32_t seed) {
    Case c{s, T, {}, {}, {}};
    std::mt19937 rng(seed);
    std::normal_distribution<float> n(0.0f, 1.0f);
    std::uniform_real_distribution<float> u(0.0f, 1.0f);
    c.qkv.resize(T * s.conv_dim());
    for (auto& x : c.qkv) x = n(rng);
    l2_normalize(c.qkv.data(), T, s.n_k_heads, s.d_k, s.conv_dim(), 1e-6f, 1.0f / std::sqrt(float(s.d_k)));
    l2_normalize(c.qkv.data() + s.key_dim(), T, s.n_k_heads, s.d_k, s.conv_dim(), 1e-6f, 1.0f);
    c.g.resize(T * s.n_v_heads);
    c.beta.resize(T * s.n_v_heads);
    for (auto& x : c.g) x = -0.5f * u(rng) * u(rng);  // decays from 1 down to ~0.6
    for (auto& x : c.beta) x = u(rng);
    return c;
}

Inputs inputs(const Case& c) {
    const float* q = c.qkv.data();
    return {.q = q, .k = q + c.shape.key_dim(), .v = q + 2 * c.shape.key_dim(), .g = c.g.data(),
            .beta = c.beta.data(), .row_stride = c.shape.conv_dim()};
}

double max_rel_diff(const std::vector<float>& a, const std::vector<float>& b) {
    double d = 0, m = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        d = std::max(d, double(std::fabs(a[i] - b[i])));
        m = std::max(m, double(std::fabs(a[i])));
    }
    EXPECT_GT(m, 1e-3) << "degenerate outputs";
    return d / m;
}

TEST(DeltaNet, ChunkedEqualsRecurrent) {
    // Hv = 2 Hk exercises the tiled head mapping; T = 150 spans three chunks, the last partial.
    const Shape s{.n_k_heads = 2, .n_v_heads = 4, .d_k = 32, .d_v = 24, .d_conv = 4};
    for (int threads : {1, 3}) {
        ThreadPool pool(threads);
        for (int64_t T : {1, 5, 64, 150}) {
            Case c = make_case(s, T, 11 + static_cast<uint32_t>(T));
            const int64_t n_state = s.n_v_heads * s.d_k * s.d_v;
            std::vector<float> s_rec(n_state), s_chk(n_state);
            // A carried-in state, as after an earlier prompt.
            std::mt19937 rng(3);
            std::normal_distribution<float> n(0.0f, 0.2f);
            for (int64_t i = 0; i < n_state; ++i) s_rec[i] = s_chk[i] = n(rng);
            std::vector<float> o_rec(T * s.value_dim()), o_chk(T * s.value_dim());
            recurrent(inputs(c), s_rec.data(), o_rec.data(), T, s, pool);
            chunked(inputs(c), s_chk.data(), o_chk.data(), T, s, pool);
            EXPECT_LT(max_rel_diff(o_rec, o_chk), 1e-5) << "outputs, T=" << T;
            EXPECT_LT(max_rel_diff(s_rec, s_chk), 1e-5) << "state, T=" << T;
        }
    }
}

TEST(DeltaNet, RecurrenceMatchesTheDeltaRuleByHand) {
    // One head, dk = dv = 1: S' = a S + k β (v - a S k), o = S' q.
    const Shape s{.n_k_heads = 1, .n_v_heads = 1, .d_k = 1, .d_v = 1, .d_conv = 1};
    float qkv[3] = {0.5f, 2.0f, 3.0f}, g = std::log(0.5f), beta = 0.25f, state = 4.0f, out = 0;
    ThreadPool pool(1);
    recurrent({qkv, qkv + 1, qkv + 2, &g, &beta, 3}, &state, &out, 1, s, pool);
    const float decayed = 0.5f * 4.0f;
    const float want_state = decayed + 2.0f * 0.25f * (3.0f - decayed * 2.0f);
    EXPECT_FLOAT_EQ(state, want_state);
    EXPECT_FLOAT_EQ(out, want_state * 0.5f);
}

// The recurrence on each ISA against the rule written out in double precision, token by
// token, with a carried-in state: d_v = 152 takes every column path of each build (blocks of
// several vectors, single vectors, and with AVX-512 8 columns past the last whole vector).
TEST(DeltaNet, RecurrenceMatchesTheRuleInDoubleOnEveryIsa) {
    const Shape s{.n_k_heads = 1, .n_v_heads = 2, .d_k = 40, .d_v = 152, .d_conv = 4};
    const int64_t T = 3, dk = s.d_k, dv = s.d_v;
    const Case c = make_case(s, T, 21);
    const Inputs in = inputs(c);
    const int64_t n_state = s.n_v_heads * dk * dv;
    std::vector<float> state0(n_state);
    std::mt19937 rng(4);
    std::normal_distribution<float> n(0.0f, 0.2f);
    for (float& x : state0) x = n(rng);
    // S ← e^g S; d = β (v - Sᵀk); S ← S + k dᵀ; o = Sᵀq.
    std::vector<double> S(state0.begin(), state0.end());
    std::vector<float> want(T * s.value_dim()), want_state(n_state);
    for (int64_t t = 0; t < T; ++t)
        for (int64_t j = 0; j < s.n_v_heads; ++j) {
            const float* q = in.q + t * in.row_stride;
            const float* k = in.k + t * in.row_stride;
            const float* v = in.v + t * in.row_stride + j * dv;
            double* Sj = S.data() + j * dk * dv;
            const double decay = std::exp(double(in.g[t * s.n_v_heads + j]));
            for (int64_t e = 0; e < dk * dv; ++e) Sj[e] *= decay;
            for (int64_t col = 0; col < dv; ++col) {
                double sk = 0;
                for (int64_t i = 0; i < dk; ++i) sk += Sj[i * dv + col] * k[i];
                const double d = in.beta[t * s.n_v_heads + j] * (v[col] - sk);
                double o = 0;
                for (int64_t i = 0; i < dk; ++i) {
                    Sj[i * dv + col] += k[i] * d;
                    o += Sj[i * dv + col] * q[i];
                }
                want[(t * s.n_v_heads + j) * dv + col] = static_cast<float>(o);
            }
        }
    for (int64_t e = 0; e < n_state; ++e) want_state[e] = static_cast<float>(S[e]);
    ThreadPool pool(2);
    for (kernels::Isa isa : kernels::available_isas()) {
        SCOPED_TRACE(kernels::isa_name(isa));
        kernels::ScopedIsa forced(isa);
        std::vector<float> state = state0, out(T * s.value_dim());
        recurrent(in, state.data(), out.data(), T, s, pool);
        EXPECT_LT(max_rel_diff(want, out), 1e-5) << "outputs";
        EXPECT_LT(max_rel_diff(want_state, state), 1e-5) << "state";
    }
}

TEST(DeltaNet, ConvStateCarriesAcrossBatches) {
    const Shape s{.n_k_heads = 1, .n_v_heads = 1, .d_k = 4, .d_v = 4, .d_conv = 4};
    const int64_t C = s.conv_dim(), T = 9;
    std::mt19937 rng(5);
    std::normal_distribution<float> n(0.0f, 1.0f);
    std::vector<float> x(T * C), w(C * s.d_conv);
    for (auto& v : x) v = n(rng);
    for (auto& v : w) v = n(rng);
    std::vector<float> whole = x, split = x;
    std::vector<float> st1((s.d_conv - 1) * C), st2((s.d_conv - 1) * C);
    ThreadPool pool(1);
    conv1d_silu(whole.data(), w.data(), st1.data(), T, s, pool);
    conv1d_silu(split.data(), w.data(), st2.data(), 2, s, pool);
    conv1d_silu(split.data() + 2 * C, w.data(), st2.data(), 1, s, pool);
    conv1d_silu(split.data() + 3 * C, w.data(), st2.data(), T - 3, s, pool);
    EXPECT_EQ(whole, split);
    EXPECT_EQ(st1, st2);
    // Token 0 sees only its own input through tap Kc-1 (earlier inputs are zero).
    const float a = w[0 * s.d_conv + 3] * x[0];
    EXPECT_FLOAT_EQ(whole[0], a / (1.0f + std::exp(-a)));
}

// A prompt-sized batch, its channels shared out across threads (a channel count that leaves
// a partial 16-channel line), against the convolution written out per element, with a carried
// state from an earlier batch.
TEST(DeltaNet, ConvOverThreadsMatchesTheFormula) {
    const Shape s{.n_k_heads = 3, .n_v_heads = 3, .d_k = 40, .d_v = 44, .d_conv = 4};
    const int64_t C = s.conv_dim(), T = 300, K = s.d_conv;
    ASSERT_NE(C % 16, 0);
    std::mt19937 rng(9);
    std::normal_distribution<float> n(0.0f, 1.0f);
    std::vector<float> x(T * C), w(C * K), state((K - 1) * C);
    for (auto& v : x) v = n(rng);
    for (auto& v : w) v = n(rng);
    for (auto& v : state) v = n(rng);
    std::vector<float> y = x, st = state;
    ThreadPool pool(2);
    conv1d_silu(y.data(), w.data(), st.data(), T, s, pool);
    auto input = [&](int64_t t, int64_t c) {  // t < 0: the carried state
        return t < 0 ? state[(K - 1 + t) * C + c] : x[t * C + c];
    };
    for (int64_t t = 0; t < T; ++t)
        for (int64_t c = 0; c < C; ++c) {
            double a = 0;
            for (int64_t j = 0; j < K; ++j) a += double(w[c * K + j]) * input(t - (K - 1) + j, c);
            const double want = a / (1.0 + std::exp(-a));
            ASSERT_NEAR(y[t * C + c], want, 1e-5 * (1.0 + std::fabs(want))) << "t " << t << " c " << c;
        }
    for (int64_t r = 0; r < K - 1; ++r)
        for (int64_t c = 0; c < C; ++c) ASSERT_EQ(st[r * C + c], x[(T - (K - 1) + r) * C + c]);
}

}  // namespace
}  // namespace hearth::model::deltanet
