// Gated DeltaNet numerics. The chunked form follows the WY representation of the delta rule
// (Yang et al., "Gated Delta Networks", 2024): inside a chunk, (I + strictly-lower(β k kᵀ ·
// decay))⁻¹ is built by forward substitution, after which the chunk's outputs and its state
// update are matrix products against the state carried in from the previous chunk.
#include "model/deltanet.h"

#include <algorithm>
#include <cmath>

namespace hearth::model::deltanet {

void conv1d_silu(float* x, const float* w, float* conv_state, int64_t T, const Shape& s) {
    const int64_t C = s.conv_dim(), K = s.d_conv;
    // window (K-1+T, C): the carried inputs followed by this batch's.
    thread_local std::vector<float> window;
    window.resize((K - 1 + T) * C);
    std::copy(conv_state, conv_state + (K - 1) * C, window.begin());
    std::copy(x, x + T * C, window.begin() + (K - 1) * C);
    for (int64_t t = 0; t < T; ++t) {
        for (int64_t c = 0; c < C; ++c) {
            float acc = 0;
            for (int64_t j = 0; j < K; ++j) acc += w[c * K + j] * window[(t + j) * C + c];
            x[t * C + c] = acc / (1.0f + std::exp(-acc));
        }
    }
    std::copy(window.begin() + T * C, window.begin() + (T + K - 1) * C, conv_state);
}

void l2_normalize(float* x, int64_t T, int64_t n_heads, int64_t dim, int64_t token_stride,
                  float eps, float scale) {
    for (int64_t t = 0; t < T; ++t) {
        for (int64_t h = 0; h < n_heads; ++h) {
            float* v = x + t * token_stride + h * dim;
            double ss = 0;
            for (int64_t i = 0; i < dim; ++i) ss += static_cast<double>(v[i]) * v[i];
            const float inv = scale / std::max(static_cast<float>(std::sqrt(ss)), eps);
            for (int64_t i = 0; i < dim; ++i) v[i] *= inv;
        }
    }
}

namespace {

float dot(const float* a, const float* b, int64_t n) {
    float s = 0;
    for (int64_t i = 0; i < n; ++i) s += a[i] * b[i];
    return s;
}

// One V head j over the batch, token by token. S (dk, dv).
void recurrent_head(const Inputs& in, float* S, float* out, int64_t T, const Shape& s, int64_t j) {
    const int64_t dk = s.d_k, dv = s.d_v, m = j % s.n_k_heads;
    thread_local std::vector<float> sk;  // (dv); decode runs this per token: no allocation
    sk.resize(dv);
    for (int64_t t = 0; t < T; ++t) {
        const float* q = in.q + t * in.row_stride + m * dk;
        const float* k = in.k + t * in.row_stride + m * dk;
        const float* v = in.v + t * in.row_stride + j * dv;
        const float decay = std::exp(in.g[t * s.n_v_heads + j]);
        const float beta = in.beta[t * s.n_v_heads + j];
        std::fill(sk.begin(), sk.end(), 0.0f);
        for (int64_t i = 0; i < dk; ++i) {
            float* row = S + i * dv;
            for (int64_t c = 0; c < dv; ++c) {
                row[c] *= decay;
                sk[c] += row[c] * k[i];
            }
        }
        for (int64_t c = 0; c < dv; ++c) sk[c] = beta * (v[c] - sk[c]);  // sk now holds d
        float* o = out + (t * s.n_v_heads + j) * dv;
        std::fill(o, o + dv, 0.0f);
        for (int64_t i = 0; i < dk; ++i) {
            float* row = S + i * dv;
            for (int64_t c = 0; c < dv; ++c) {
                row[c] += k[i] * sk[c];
                o[c] += row[c] * q[i];
            }
        }
    }
}

struct ChunkScratch {
    std::vector<float> G, A, w, u, vnew, attn;
};

// One chunk of n tokens starting at t0 for V head j, advancing S (dk, dv).
void chunk_head(const Inputs& in, float* S, float* out, int64_t t0, int64_t n, const Shape& s,
                int64_t j, ChunkScratch& z) {
    const int64_t dk = s.d_k, dv = s.d_v, m = j % s.n_k_heads, Hv = s.n_v_heads;
    auto q = [&](int64_t i) { return in.q + (t0 + i) * in.row_stride + m * dk; };
    auto k = [&](int64_t i) { return in.k + (t0 + i) * in.row_stride + m * dk; };
    auto v = [&](int64_t i) { return in.v + (t0 + i) * in.row_stride + j * dv; };
    auto beta = [&](int64_t i) { return in.beta[(t0 + i) * Hv + j]; };
    z.G.resize(n), z.A.assign(n * n, 0.0f), z.w.assign(n * dk, 0.0f), z.u.assign(n * dv, 0.0f);
    z.vnew.resize(n * dv), z.attn.resize(n * n);
    float acc = 0;
    for (int64_t i = 0; i < n; ++i) z.G[i] = acc += in.g[(t0 + i) * Hv + j];  // log decay to i
    // A = -strictly_lower(β_i k_i·k_j e^{G_i-G_j}), then (I - A)⁻¹-style forward substitution.
    float* A = z.A.data();
    for (int64_t i = 0; i < n; ++i) {
        for (int64_t c = 0; c < i; ++c)
            A[i * n + c] = -beta(i) * dot(k(i), k(c), dk) * std::exp(z.G[i] - z.G[c]);
        for (int64_t c = 0; c < i; ++c) {
            float sum = A[i * n + c];
            for (int64_t p = c + 1; p < i; ++p) sum += A[i * n + p] * A[p * n + c];
            A[i * n + c] = sum;
        }
    }
    for (int64_t i = 0; i < n; ++i) A[i * n + i] = 1.0f;
    // w = A (β k e^G), u = A (β v): the chunk's keys and values with the in-chunk deltas solved.
    for (int64_t i = 0; i < n; ++i) {
        for (int64_t c = 0; c <= i; ++c) {
            const float a = A[i * n + c] * beta(c), ae = a * std::exp(z.G[c]);
            for (int64_t d = 0; d < dk; ++d) z.w[i * dk + d] += ae * k(c)[d];
            for (int64_t d = 0; d < dv; ++d) z.u[i * dv + d] += a * v(c)[d];
        }
    }
    // v_new = u - w S: each token's correction against the carried-in state.
    for (int64_t i = 0; i < n; ++i) {
        float* vn = z.vnew.data() + i * dv;
        std::copy(z.u.begin() + i * dv, z.u.begin() + (i + 1) * dv, vn);
        for (int64_t d = 0; d < dk; ++d) {
            const float wd = z.w[i * dk + d];
            for (int64_t c = 0; c < dv; ++c) vn[c] -= wd * S[d * dv + c];
        }
    }
    // o_i = e^{G_i} Sᵀq_i + Σ_{c<=i} (q_i·k_c) e^{G_i-G_c} v_new_c
    for (int64_t i = 0; i < n; ++i) {
        float* o = out + ((t0 + i) * Hv + j) * dv;
        std::fill(o, o + dv, 0.0f);
        const float eg = std::exp(z.G[i]);
        for (int64_t d = 0; d < dk; ++d) {
            const float qd = q(i)[d] * eg;
            for (int64_t c = 0; c < dv; ++c) o[c] += qd * S[d * dv + c];
        }
        for (int64_t c = 0; c <= i; ++c) {
            const float a = dot(q(i), k(c), dk) * std::exp(z.G[i] - z.G[c]);
            const float* vn = z.vnew.data() + c * dv;
            for (int64_t e = 0; e < dv; ++e) o[e] += a * vn[e];
        }
    }
    // S ← e^{G_last} S + Σ_i (k_i e^{G_last-G_i}) v_new_iᵀ
    const float g_last = z.G[n - 1], e_last = std::exp(g_last);
    for (int64_t d = 0; d < dk * dv; ++d) S[d] *= e_last;
    for (int64_t i = 0; i < n; ++i) {
        const float f = std::exp(g_last - z.G[i]);
        const float* vn = z.vnew.data() + i * dv;
        for (int64_t d = 0; d < dk; ++d) {
            const float kd = k(i)[d] * f;
            for (int64_t c = 0; c < dv; ++c) S[d * dv + c] += kd * vn[c];
        }
    }
}

}  // namespace

void recurrent(const Inputs& in, float* state, float* out, int64_t T, const Shape& s,
               ThreadPool& pool) {
    pool.run([&](int ith, int nth) {
        Range heads = split_range(s.n_v_heads, ith, nth);
        for (int64_t j = heads.begin; j < heads.end; ++j)
            recurrent_head(in, state + j * s.d_k * s.d_v, out, T, s, j);
    });
}

void chunked(const Inputs& in, float* state, float* out, int64_t T, const Shape& s,
             ThreadPool& pool) {
    pool.run([&](int ith, int nth) {
        thread_local ChunkScratch scratch;
        Range heads = split_range(s.n_v_heads, ith, nth);
        for (int64_t j = heads.begin; j < heads.end; ++j) {
            for (int64_t t0 = 0; t0 < T; t0 += kChunk)
                chunk_head(in, state + j * s.d_k * s.d_v, out, t0, std::min(kChunk, T - t0), s, j,
                           scratch);
        }
    });
}

}  // namespace hearth::model::deltanet
