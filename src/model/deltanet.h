// Gated DeltaNet (Qwen3.5/3.6 linear-attention layers): the causal depthwise convolution
// with its rolling state, and the gated delta-rule recurrence in two equivalent forms, one
// token at a time (decode) and chunked (prefill). Projections and norms are the caller's.
#pragma once

#include <cstdint>
#include <vector>

#include "base/thread_pool.h"

namespace hearth::model::deltanet {

struct Shape {
    int64_t n_k_heads;  // Hk: query/key heads (ssm.group_count)
    int64_t n_v_heads;  // Hv: value heads (ssm.time_step_rank); V head j reads K head j % Hk
    int64_t d_k;        // key/query head size (ssm.state_size)
    int64_t d_v;        // value head size
    int64_t d_conv;     // Kc: convolution taps (ssm.conv_kernel)

    int64_t key_dim() const { return n_k_heads * d_k; }
    int64_t value_dim() const { return n_v_heads * d_v; }
    int64_t conv_dim() const { return 2 * key_dim() + value_dim(); }
};

// Causal depthwise conv over the batch followed by SiLU, in place.
// x (T, conv_dim): the projected inputs; becomes silu(conv(x)).
// w (conv_dim, Kc): taps, tap Kc-1 weighs the current token.
// conv_state (Kc-1, conv_dim): the inputs before the batch (zeros at sequence start);
// updated to the batch's last Kc-1 inputs. Channels are shared out across the pool when the
// batch is large enough.
void conv1d_silu(float* x, const float* w, float* conv_state, int64_t T, const Shape& s,
                 ThreadPool& pool);

// Per-token inputs of the recurrence, all row-major over the batch.
struct Inputs {
    const float* q;     // (T, Hk, dk), L2-normalised and scaled by 1/sqrt(dk)
    const float* k;     // (T, Hk, dk), L2-normalised
    const float* v;     // (T, Hv, dv)
    const float* g;     // (T, Hv) log decay, <= 0
    const float* beta;  // (T, Hv) in (0, 1)
    int64_t row_stride;  // floats between consecutive tokens' q/k/v rows (conv_dim when they
                         // are views into the convolved buffer)
};

// S ← exp(g) S; S ← S + k (β (v - Sᵀk))ᵀ; o = Sᵀq, token by token.
// state (Hv, dk, dv); out (T, Hv, dv).
void recurrent(const Inputs& in, float* state, float* out, int64_t T, const Shape& s,
               ThreadPool& pool);

// The same result computed in chunks of kChunk tokens: within a chunk the delta rule is
// solved as a small triangular system (WY form), so the work is matrix products.
inline constexpr int64_t kChunk = 64;
void chunked(const Inputs& in, float* state, float* out, int64_t T, const Shape& s,
             ThreadPool& pool);

// x holds T rows `token_stride` floats apart, each starting with n_heads vectors of dim:
// each vector becomes x / max(||x||, eps) * scale.
void l2_normalize(float* x, int64_t T, int64_t n_heads, int64_t dim, int64_t token_stride,
                  float eps, float scale);

}  // namespace hearth::model::deltanet
