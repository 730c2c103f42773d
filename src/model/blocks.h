// Numeric building blocks shared by the architectures: RMSNorm, RoPE, SwiGLU (attention over
// the KV cache is model/attention.h). Plain float loops over row-major buffers; shapes are in
// each comment.
#pragma once

#include <cstdint>
#include <vector>

#include "base/thread_pool.h"

namespace hearth::model::blocks {

// out (n_rows, dim) = x / sqrt(mean(x²) + eps) * w, per row. out may alias x. w may be null.
void rmsnorm(const float* x, const float* w, float* out, int64_t n_rows, int64_t dim, float eps);

enum class RopeStyle {
    Norm,  // pairs (2i, 2i+1): llama
    Neox,  // pairs (i, i + n_rot/2): qwen2, qwen3, and the text case of qwen35's IMROPE
};

struct Rope {
    RopeStyle style = RopeStyle::Neox;
    int64_t n_rot = 0;
    std::vector<double> inv_freq;  // (n_rot/2): base^(-2i/n_rot) / freq_factor[i]
};
// freq_factors (n_rot/2) may be null (all 1).
Rope make_rope(RopeStyle style, int64_t n_rot, float base, const float* freq_factors);

// IMROPE (qwen35*): NEOX pairs, each pair rotated by one of four position components chosen
// from `sections`. For text all components but the last equal the position and the last is
// 0, so a pair mapped to the last component does not rotate: its frequency is set to 0.
Rope make_rope_multi_section(int64_t n_rot, float base, const int64_t sections[4]);

// The cosine and sine of every rotated pair's angle for n_tokens tokens at positions pos0,
// pos0 + 1, ...: cs (n_tokens, n_rot), per token the n_rot / 2 cosines, then the n_rot / 2 sines.
// Computed once per batch, they serve the queries and keys of every layer.
void rope_angles(const Rope& rope, int64_t pos0, int64_t n_tokens, float* cs);
// Rotates x (n_tokens, n_heads, head_dim) in place by its tokens' rows of rope_angles.
void apply_rope(const Rope& rope, const float* cs, float* x, int64_t n_tokens, int64_t n_heads,
                int64_t head_dim);

// gate (n) = silu(gate) * up, in place.
void swiglu(float* gate, const float* up, int64_t n);

// x (n_rows, dim) += b (dim) for every row.
void add_bias(float* x, const float* b, int64_t n_rows, int64_t dim);

// x (n) += y (n).
void add(float* x, const float* y, int64_t n);

// rmsnorm, swiglu and add over a batch, shared out across the pool where that pays
// (ThreadPool::for_range); a decode step's row stays on the calling thread. Same results.
void rmsnorm(const float* x, const float* w, float* out, int64_t n_rows, int64_t dim, float eps,
             ThreadPool& pool);
void swiglu(float* gate, const float* up, int64_t n, ThreadPool& pool);
void add(float* x, const float* y, int64_t n, ThreadPool& pool);

}  // namespace hearth::model::blocks
