// Mixture-of-experts FFN: route every token, then group the batch by expert so each chosen
// expert's weights are streamed once per batch (its gathered rows multiplied together), all
// the experts of a pass in one threaded job (kernels::matmul_tasks). Each token sums its
// experts in index order for every batch size, so prefill and decode sum alike.
#include "model/moe.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/matmul.h"
#include "model/blocks.h"

namespace hearth::model {

namespace {

// The reference's floor on the selected probability mass before renormalising.
constexpr float kMinWeightSum = 6.103515625e-5f;
// Routed rows per pass at most (unless one expert has more): a pass gathers its experts'
// input and output rows, (rows, E) floats each, so a long prompt goes through in passes.
constexpr int64_t kPassRows = 4096;

// The three matrices of one SwiGLU expert.
struct ExpertViews {
    kernels::WeightView gate, up, down;  // [E, n_ff], [E, n_ff], [n_ff, E]
};

ExpertViews expert_views(const MoeWeights& w, int64_t e) {
    ExpertViews v{.down = w.down_exps.expert(e)};
    if (w.gate_up_exps) {
        // Fused slab (2*n_ff rows): gate rows, then up rows.
        v.gate = w.gate_up_exps.expert(e);
        v.gate.n_out = w.n_ff_exp;
        v.up = v.gate;
        v.up.data += w.n_ff_exp * v.gate.row_bytes;
    } else {
        v.gate = w.gate_exps.expert(e);
        v.up = w.up_exps.expert(e);
    }
    return v;
}

// ys (n, E) = down · (silu(gate · xs) * (up · xs)) for xs (n, E).
void swiglu_ffn(const ExpertViews& v, const float* xs, float* ys, int64_t n, MoeScratch& s,
                ThreadPool& pool) {
    const int64_t n_ff = v.gate.n_out;
    const kernels::MatmulOut gate_up[] = {{v.gate, s.gate.data()}, {v.up, s.up.data()}};
    kernels::matmul_group(gate_up, xs, n, pool);
    blocks::swiglu(s.gate.data(), s.up.data(), n * n_ff, pool);
    kernels::matmul(v.down, s.gate.data(), ys, n, pool);
}

// Fills s.sel / s.sel_w (T, k): softmax over all experts, the k most probable (ties go to
// the lower index), their probabilities renormalised to sum to 1.
void route(const MoeWeights& w, const float* x, int64_t T, MoeScratch& s, ThreadPool& pool) {
    const int64_t n_exp = w.n_expert, k = w.n_expert_used;
    kernels::matmul(w.gate_inp.view(), x, s.probs.data(), T, pool);
    pool.for_range(T, n_exp, [&](int64_t t0, int64_t t1) {
        for (int64_t t = t0; t < t1; ++t) {
            float* p = s.probs.data() + t * n_exp;
            const float max_l = *std::max_element(p, p + n_exp);
            double sum = 0;
            for (int64_t e = 0; e < n_exp; ++e) sum += p[e] = std::exp(p[e] - max_l);
            const float inv = static_cast<float>(1.0 / sum);
            for (int64_t e = 0; e < n_exp; ++e) p[e] *= inv;

            // One pass keeping the k best in order: an expert enters ahead of those it beats
            // strictly, so among equals the lower index (seen first) stays ahead.
            int32_t* sel = s.sel.data() + t * k;
            int64_t n = 0;
            for (int32_t e = 0; e < n_exp; ++e) {
                if (n == k && !(p[e] > p[sel[k - 1]])) continue;
                int64_t j = n < k ? n++ : k - 1;
                for (; j > 0 && p[e] > p[sel[j - 1]]; --j) sel[j] = sel[j - 1];
                sel[j] = e;
            }
            float* sw = s.sel_w.data() + t * k;
            float sel_sum = 0;
            for (int64_t j = 0; j < k; ++j) sel_sum += sw[j] = p[sel[j]];
            const float denom = std::max(sel_sum, kMinWeightSum);
            for (int64_t j = 0; j < k; ++j) sw[j] /= denom;
        }
    });
}

// Counting sort of the (token, slot) pairs by expert: expert e's routed rows are
// s.rows[offsets[e] .. offsets[e+1]) in token order, with weights s.row_w.
void group_by_expert(const MoeWeights& w, int64_t T, MoeScratch& s) {
    const int64_t n_exp = w.n_expert, k = w.n_expert_used;
    std::fill(s.offsets.begin(), s.offsets.begin() + n_exp + 1, 0);
    for (int64_t i = 0; i < T * k; ++i) ++s.offsets[s.sel[i] + 1];
    for (int64_t e = 0; e < n_exp; ++e) s.offsets[e + 1] += s.offsets[e];
    std::copy(s.offsets.begin(), s.offsets.begin() + n_exp, s.cursor.begin());
    for (int64_t i = 0; i < T * k; ++i) {
        const int32_t at = s.cursor[s.sel[i]]++;
        s.rows[at] = static_cast<int32_t>(i / k);
        s.row_w[at] = s.sel_w[i];
    }
}

void reserve(const MoeWeights& w, int64_t T, MoeScratch& s) {
    const int64_t E = w.down_exps.info->ne[1], k = w.n_expert_used;
    const int64_t pass = std::max(T, std::min(T * k, kPassRows));  // rows of a pass, at most
    grow(s.probs, T * w.n_expert), grow(s.sel, T * k), grow(s.sel_w, T * k);
    grow(s.offsets, w.n_expert + 1), grow(s.cursor, w.n_expert);
    grow(s.rows, T * k), grow(s.row_w, T * k), grow(s.shexp_gate, T);
    grow(s.xs, pass * E), grow(s.ys, pass * E);
    grow(s.gate, pass * std::max(w.n_ff_exp, w.n_ff_shexp));
    grow(s.up, pass * std::max(w.n_ff_exp, w.n_ff_shexp));
}

// The routed rows [base, base + n) of experts [e0, e1) (s.rows order): gathered, through
// their experts, and added into out, each row scaled by its routing weight.
void run_pass(const MoeWeights& w, const float* x, float* out, int64_t T, int64_t e0, int64_t e1,
              MoeScratch& s, ThreadPool& pool) {
    const int64_t E = w.down_exps.info->ne[1], n_ff = w.n_ff_exp;
    const int32_t base = s.offsets[e0], n = s.offsets[e1] - base;
    // A batch of one token needs no gathering: every routed row is x.
    const bool gather = T > 1;
    if (gather)
        pool.for_range(n, E, [&](int64_t i0, int64_t i1) {
            for (int64_t i = i0; i < i1; ++i)
                std::memcpy(s.xs.data() + i * E, x + s.rows[base + i] * E, E * sizeof(float));
        });
    thread_local std::vector<kernels::MatmulTask> tasks;
    tasks.clear();
    for (int64_t e = e0; e < e1; ++e) {
        const int32_t at = s.offsets[e] - base, ne = s.offsets[e + 1] - s.offsets[e];
        if (ne == 0) continue;  // never touch an unused expert's weights
        const ExpertViews v = expert_views(w, e);
        const float* xe = gather ? s.xs.data() + at * E : x;
        tasks.push_back({.w = v.gate, .x = xe, .n_tokens = ne, .y = s.gate.data() + at * n_ff});
        tasks.push_back({.w = v.up, .x = xe, .n_tokens = ne, .y = s.up.data() + at * n_ff});
    }
    kernels::matmul_tasks(tasks, pool);
    blocks::swiglu(s.gate.data(), s.up.data(), n * n_ff, pool);
    tasks.clear();
    for (int64_t e = e0; e < e1; ++e) {
        const int32_t at = s.offsets[e] - base, ne = s.offsets[e + 1] - s.offsets[e];
        if (ne == 0) continue;
        tasks.push_back({.w = expert_views(w, e).down, .x = s.gate.data() + at * n_ff,
                         .n_tokens = ne, .y = s.ys.data() + at * E});
    }
    kernels::matmul_tasks(tasks, pool);
    // Each token's rows in s.rows order, that is in expert order; the threads take columns.
    pool.for_range(E, n, [&](int64_t d0, int64_t d1) {
        for (int32_t i = 0; i < n; ++i) {
            float* o = out + s.rows[base + i] * E;
            const float* y = s.ys.data() + i * E;
            const float wt = s.row_w[base + i];
            for (int64_t d = d0; d < d1; ++d) o[d] += wt * y[d];
        }
    });
}

}  // namespace

MoeWeights bind_moe_weights(Binder& b, const std::string& prefix, int64_t n_embd, int64_t n_expert,
                            int64_t n_expert_used, int64_t n_ff_exp, int64_t n_ff_shexp) {
    const int64_t E = n_embd;
    MoeWeights w{.n_expert = n_expert, .n_expert_used = n_expert_used, .n_ff_exp = n_ff_exp};
    w.gate_inp = b.req_f32(prefix + "ffn_gate_inp.weight", {E, n_expert});
    // The fused stack is read as gate and up halves of n_ff_exp rows each (expert_views).
    w.gate_up_exps = b.experts(prefix + "ffn_gate_up_exps.weight", {E, 2 * n_ff_exp, n_expert},
                               false, n_ff_exp);
    if (!w.gate_up_exps) {
        w.gate_exps = b.experts(prefix + "ffn_gate_exps.weight", {E, n_ff_exp, n_expert}, true,
                                n_ff_exp);
        w.up_exps = b.experts(prefix + "ffn_up_exps.weight", {E, n_ff_exp, n_expert}, true,
                              n_ff_exp);
    }
    w.down_exps = b.experts(prefix + "ffn_down_exps.weight", {n_ff_exp, E, n_expert}, true, E);
    if (n_ff_shexp > 0) {
        w.n_ff_shexp = n_ff_shexp;
        w.gate_inp_shexp = b.req_f32(prefix + "ffn_gate_inp_shexp.weight", {E});
        w.gate_shexp = b.req(prefix + "ffn_gate_shexp.weight", {E, n_ff_shexp});
        w.up_shexp = b.req(prefix + "ffn_up_shexp.weight", {E, n_ff_shexp});
        w.down_shexp = b.req(prefix + "ffn_down_shexp.weight", {n_ff_shexp, E});
    }
    return w;
}

void moe_ffn(const MoeWeights& w, const float* x, float* out, int64_t T, MoeScratch& s,
             ThreadPool& pool) {
    const int64_t E = w.down_exps.info->ne[1];
    reserve(w, T, s);
    route(w, x, T, s, pool);
    group_by_expert(w, T, s);

    std::fill(out, out + T * E, 0.0f);
    // Passes of whole experts, in index order, of at most kPassRows rows (or one expert).
    for (int64_t e0 = 0; e0 < w.n_expert;) {
        int64_t e1 = e0 + 1;
        while (e1 < w.n_expert && s.offsets[e1 + 1] - s.offsets[e0] <= kPassRows) ++e1;
        if (s.offsets[e1] > s.offsets[e0]) run_pass(w, x, out, T, e0, e1, s, pool);
        e0 = e1;
    }

    if (w.gate_inp_shexp) {
        // Shared expert on every token, scaled by its own sigmoid gate.
        kernels::matmul(w.gate_inp_shexp.view(), x, s.shexp_gate.data(), T, pool);
        const ExpertViews v{
            .gate = w.gate_shexp.view(), .up = w.up_shexp.view(), .down = w.down_shexp.view()};
        swiglu_ffn(v, x, s.ys.data(), T, s, pool);
        for (int64_t t = 0; t < T; ++t) {
            const float g = 1.0f / (1.0f + std::exp(-s.shexp_gate[t]));
            float* o = out + t * E;
            const float* y = s.ys.data() + t * E;
            for (int64_t d = 0; d < E; ++d) o[d] += g * y[d];
        }
    }
}

}  // namespace hearth::model
