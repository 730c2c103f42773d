// The mixture-of-experts feed-forward block (qwen3moe, qwen35moe): softmax router, top-k
// experts with renormalised weights, SwiGLU experts, optional sigmoid-gated shared expert.
// Only the experts a batch routes to are read. No expert-parallel threading beyond matmul's.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/aligned.h"
#include "base/thread_pool.h"
#include "model/loader.h"

namespace hearth::model {

struct MoeWeights {
    Tensor gate_inp;            // [E, n_expert] router, F32
    Tensor gate_exps, up_exps;  // [E, n_ff_exp, n_expert]; unset when gate_up_exps is
    Tensor gate_up_exps;        // optional fused [E, 2*n_ff_exp, n_expert]: gate rows first
    Tensor down_exps;           // [n_ff_exp, E, n_expert]
    int64_t n_expert = 0, n_expert_used = 0, n_ff_exp = 0;
    // Optional shared expert (qwen35moe), run on every token.
    Tensor gate_inp_shexp;        // [E] or [E, 1], F32: scalar gate per token
    Tensor gate_shexp, up_shexp;  // [E, n_ff_shexp]
    Tensor down_shexp;            // [n_ff_shexp, E]
    int64_t n_ff_shexp = 0;
};

// Binds "<prefix>ffn_gate_inp.weight", the expert tensors (separate gate/up, or the fused
// gate_up alternative) and, when n_ff_shexp > 0, the shared expert. Errors go to the binder.
MoeWeights bind_moe_weights(Binder& b, const std::string& prefix, int64_t n_embd, int64_t n_expert,
                            int64_t n_expert_used, int64_t n_ff_exp, int64_t n_ff_shexp);

// Buffers moe_ffn reuses across calls; they grow to the largest batch and then stay.
struct MoeScratch {
    std::vector<float> probs;       // (T, n_expert) router logits, then probabilities
    std::vector<int32_t> sel;       // (T, k) chosen experts per token
    std::vector<float> sel_w;       // (T, k) their renormalised weights
    std::vector<int32_t> offsets;   // (n_expert + 1) start of each expert's rows in rows/row_w
    std::vector<int32_t> cursor;    // (n_expert) fill position while grouping
    std::vector<int32_t> rows;      // (T * k) token index of each routed row, grouped by expert
    std::vector<float> row_w;       // (T * k) weight of each routed row
    AlignedVector<float> xs;        // (pass rows, E) the gathered input rows of a pass's experts
    AlignedVector<float> gate, up;  // (pass rows, n_ff) their hidden activations
    AlignedVector<float> ys;        // (pass rows, E) their output rows
    std::vector<float> shexp_gate;  // (T) shared-expert gate logits
};

// out (T, E) = sum over each token's top-k experts of w_e * SwiGLU_e(x), plus the gated
// shared expert when present. x (T, E) is the already normed input; out must not alias x.
void moe_ffn(const MoeWeights& w, const float* x, float* out, int64_t T, MoeScratch& s,
             ThreadPool& pool);

}  // namespace hearth::model
