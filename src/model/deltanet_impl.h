// The gated delta rule, token by token and chunked, written once and compiled three times: for
// the baseline x86-64 target (deltanet.cpp), with AVX2 + FMA (deltanet_avx2.cpp) and with
// AVX-512 (deltanet_avx512.cpp), where the compiler turns the inner loops into fused
// multiply-adds. Everything here is in an unnamed namespace so that each file keeps its own
// copy: inline code compiled with different ISA flags must not be merged by the linker. (The
// library's inline code that does get merged, such as std::vector<float>'s destructor, is
// plain scalar code; `nm -C` on the objects lists it as W.)
#pragma once

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "base/aligned.h"
#include "kernels/attention.h"
#include "model/deltanet.h"
#include "model/tile_gemm.h"

namespace hearth::model::deltanet {
namespace {

// Columns [c0, c0 + NV * kW) of one token's step of the delta rule on S (dk, dv), as
// S' = e^g S + k dᵀ with d = β (v - e^g Sᵀk), o = S'ᵀq = e^g Sᵀq + (k·q) d: a read-only pass
// over S takes Sᵀk and Sᵀq into registers, a second pass writes S'. (With the sums kept in
// memory and S written twice, a step of a 128 x 128 head took ~9 µs in L2.)
template <int NV>
void recurrent_columns(float* S, int64_t dk, int64_t dv, int64_t c0, const float* q,
                       const float* k, const float* v, float decay, float beta, float kq,
                       float* o) {
    using Vec = typename VecOf<kW>::type;
    Vec sk[NV], sq[NV], d[NV];
#pragma GCC unroll 8
    for (int u = 0; u < NV; ++u) sk[u] = sq[u] = Vec{};
    for (int64_t i = 0; i < dk; ++i) {
        const float* row = S + i * dv + c0;
#pragma GCC unroll 8
        for (int u = 0; u < NV; ++u) {
            Vec x;
            std::memcpy(&x, row + u * kW, sizeof x);
            sk[u] += x * k[i];
            sq[u] += x * q[i];
        }
    }
#pragma GCC unroll 8
    for (int u = 0; u < NV; ++u) {
        Vec vv;
        std::memcpy(&vv, v + c0 + u * kW, sizeof vv);
        d[u] = beta * (vv - decay * sk[u]);
        const Vec ov = decay * sq[u] + kq * d[u];
        std::memcpy(o + c0 + u * kW, &ov, sizeof ov);
    }
    for (int64_t i = 0; i < dk; ++i) {
        float* row = S + i * dv + c0;
#pragma GCC unroll 8
        for (int u = 0; u < NV; ++u) {
            Vec x;
            std::memcpy(&x, row + u * kW, sizeof x);
            x = x * decay + k[i] * d[u];
            std::memcpy(row + u * kW, &x, sizeof x);
        }
    }
}

// One V head j over the batch, token by token. S (dk, dv). Columns go in blocks of eight
// vectors with AVX-512 (16 sums in registers), four below it (sixteen registers in all), then
// single vectors, then one column at a time.
void recurrent_head(const Inputs& in, float* S, float* out, int64_t T, const Shape& s, int64_t j) {
    constexpr int kBlock = kW == 16 ? 8 : 4;
    const int64_t dk = s.d_k, dv = s.d_v, m = j % s.n_k_heads;
    for (int64_t t = 0; t < T; ++t) {
        const float* q = in.q + t * in.row_stride + m * dk;
        const float* k = in.k + t * in.row_stride + m * dk;
        const float* v = in.v + t * in.row_stride + j * dv;
        const float decay = std::exp(in.g[t * s.n_v_heads + j]);
        const float beta = in.beta[t * s.n_v_heads + j];
        float kq = 0;
        for (int64_t i = 0; i < dk; ++i) kq += k[i] * q[i];
        float* o = out + (t * s.n_v_heads + j) * dv;
        int64_t c0 = 0;
        for (; c0 + kBlock * kW <= dv; c0 += kBlock * kW)
            recurrent_columns<kBlock>(S, dk, dv, c0, q, k, v, decay, beta, kq, o);
        for (; c0 + kW <= dv; c0 += kW)
            recurrent_columns<1>(S, dk, dv, c0, q, k, v, decay, beta, kq, o);
        for (; c0 < dv; ++c0) {  // columns past the last whole vector
            float sk = 0, sq = 0;
            for (int64_t i = 0; i < dk; ++i) {
                sk += S[i * dv + c0] * k[i];
                sq += S[i * dv + c0] * q[i];
            }
            const float d = beta * (v[c0] - decay * sk);
            o[c0] = decay * sq + kq * d;
            for (int64_t i = 0; i < dk; ++i) S[i * dv + c0] = S[i * dv + c0] * decay + k[i] * d;
        }
    }
}

struct ChunkScratch {
    AlignedVector<float> G, eG, decay, A, kb, vb, w, u, vnew, P, kT;
};

// One chunk of n tokens starting at t0 for V head j, advancing S (dk, dv). The work is small
// matrix products (gemm_acc) around an n x n triangular solve. exp_sum is the kernels'
// (kernels/attention.h): every exponential here is a run of them.
void chunk_head(const Inputs& in, float* S, float* out, int64_t t0, int64_t n, const Shape& s,
                int64_t j, kernels::ExpSumFn exp_sum, ChunkScratch& z) {
    const int64_t dk = s.d_k, dv = s.d_v, m = j % s.n_k_heads, Hv = s.n_v_heads, rs = in.row_stride;
    const float* q0 = in.q + t0 * rs + m * dk;  // row i at q0 + i * rs
    const float* k0 = in.k + t0 * rs + m * dk;
    const float* v0 = in.v + t0 * rs + j * dv;
    auto beta = [&](int64_t i) { return in.beta[(t0 + i) * Hv + j]; };
    z.G.resize(n), z.eG.resize(n), z.decay.resize(n), z.A.assign(n * n, 0.0f);
    z.P.assign(n * n, 0.0f);
    z.kb.resize(n * dk), z.vb.resize(n * dv), z.w.assign(n * dk, 0.0f), z.u.assign(n * dv, 0.0f);
    z.vnew.resize(n * dv), z.kT.resize(dk * n);
    float acc = 0;
    for (int64_t i = 0; i < n; ++i) z.G[i] = acc += in.g[(t0 + i) * Hv + j];  // log decay to i
    std::copy_n(z.G.data(), n, z.eG.data());
    exp_sum(z.eG.data(), n, 1.0f, 0.0f);
    // decay[c] = e^{G_i - G_c} for c in 0..i: exp_sum's e^{x scale - max} of x = G_c.
    float* decay = z.decay.data();
    auto decays_to = [&](float g_i, int64_t count) {
        std::copy_n(z.G.data(), count, decay);
        exp_sum(decay, count, -1.0f, -g_i);
    };
    // A = -strictly_lower(β_i k_i·k_c e^{G_i-G_c}), then (I - A)⁻¹-style forward substitution;
    // P = lower(q_i·k_c e^{G_i-G_c}), the in-chunk attention of the outputs. The dot products
    // come from two gemm_acc products with the keys as columns (kT, reused below); the upper
    // triangles they also fill are cleared.
    float* A = z.A.data();
    float* P = z.P.data();
    for (int64_t d = 0; d < dk; ++d)  // stores in order; the n key rows stay in L1
        for (int64_t i = 0; i < n; ++i) z.kT[d * n + i] = k0[i * rs + d];
    gemm_acc(n, n, dk, k0, rs, z.kT.data(), n, A, n);
    gemm_acc(n, n, dk, q0, rs, z.kT.data(), n, P, n);
    for (int64_t i = 0; i < n; ++i) {
        float* Ai = A + i * n;
        float* Pi = P + i * n;
        decays_to(z.G[i], i + 1);
        const float b = -beta(i);
        for (int64_t c = 0; c < i; ++c) Ai[c] = b * Ai[c] * decay[c];
        for (int64_t c = 0; c <= i; ++c) Pi[c] *= decay[c];
        std::fill(Ai + i, Ai + n, 0.0f);
        std::fill(Pi + i + 1, Pi + n, 0.0f);
        // Row i of the substitution, A_ic += Σ_{c<p<i} A_ip A_pc, as one row update per p:
        // rows p < i are done, and row p's columns from p on are zero, so the update for p
        // leaves A_ip' (p' >= p) as it was when its own turn comes.
        for (int64_t p = 1; p < i; ++p) {
            const float a = Ai[p];
            const float* Ap = A + p * n;
#pragma GCC ivdep
            for (int64_t c = 0; c < p; ++c) Ai[c] += a * Ap[c];
        }
    }
    for (int64_t i = 0; i < n; ++i) A[i * n + i] = 1.0f;
    // w = A (β k e^G), u = A (β v): the chunk's keys and values with the in-chunk deltas solved.
    for (int64_t c = 0; c < n; ++c) {
        const float b = beta(c), be = b * z.eG[c];
        for (int64_t d = 0; d < dk; ++d) z.kb[c * dk + d] = be * k0[c * rs + d];
        for (int64_t d = 0; d < dv; ++d) z.vb[c * dv + d] = b * v0[c * rs + d];
    }
    gemm_acc(n, dk, n, A, n, z.kb.data(), dk, z.w.data(), dk);
    gemm_acc(n, dv, n, A, n, z.vb.data(), dv, z.u.data(), dv);
    // v_new = u - w S: each token's correction against the carried-in state.
    std::copy(z.u.begin(), z.u.end(), z.vnew.begin());
    for (float& x : z.w) x = -x;
    gemm_acc(n, dv, dk, z.w.data(), dk, S, dv, z.vnew.data(), dv);
    // o_i = e^{G_i} Sᵀq_i + Σ_{c<=i} (q_i·k_c) e^{G_i-G_c} v_new_c
    float* o = out + (t0 * Hv + j) * dv;  // row i at o + i * Hv * dv
    for (int64_t i = 0; i < n; ++i) std::fill(o + i * Hv * dv, o + i * Hv * dv + dv, 0.0f);
    gemm_acc(n, dv, dk, q0, rs, S, dv, o, Hv * dv, z.eG.data());
    gemm_acc(n, dv, n, P, n, z.vnew.data(), dv, o, Hv * dv);
    // S ← e^{G_last} S + Σ_i (k_i e^{G_last-G_i}) v_new_iᵀ
    const float e_last = z.eG[n - 1];
    for (int64_t d = 0; d < dk * dv; ++d) S[d] *= e_last;
    decays_to(z.G[n - 1], n);
    for (int64_t d = 0; d < dk; ++d)
        for (int64_t i = 0; i < n; ++i) z.kT[d * n + i] = k0[i * rs + d] * decay[i];
    gemm_acc(dk, dv, n, z.kT.data(), n, z.vnew.data(), dv, S, dv);
}


void run_recurrent(const Inputs& in, float* state, float* out, int64_t T, const Shape& s,
                   ThreadPool& pool) {
    pool.run([&](int ith, int nth) {
        Range heads = split_range(s.n_v_heads, ith, nth);
        for (int64_t j = heads.begin; j < heads.end; ++j)
            recurrent_head(in, state + j * s.d_k * s.d_v, out, T, s, j);
    });
}

void run_chunked(const Inputs& in, float* state, float* out, int64_t T, const Shape& s,
                 kernels::ExpSumFn exp_sum, ThreadPool& pool) {
    pool.run([&](int ith, int nth) {
        thread_local ChunkScratch scratch;
        Range heads = split_range(s.n_v_heads, ith, nth);
        for (int64_t j = heads.begin; j < heads.end; ++j) {
            for (int64_t t0 = 0; t0 < T; t0 += kChunk)
                chunk_head(in, state + j * s.d_k * s.d_v, out, t0, std::min(kChunk, T - t0), s, j,
                           exp_sum, scratch);
        }
    });
}

}  // namespace
}  // namespace hearth::model::deltanet
