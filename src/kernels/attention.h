// Kernels of fused attention over a typed KV cache (F32, F16 or Q8_0 rows): the row format of
// each cache type, and a one-pass online-softmax kernel over a range of cached positions for a
// few query rows at once. Threading and the combination of partial results live in the caller
// (model/blocks.cpp); this file does not know heads or batches.
#pragma once

#include <cstddef>
#include <cstdint>

#include "gguf/types.h"
#include "kernels/dispatch.h"

namespace hearth::kernels {

// Cache element types with attention kernels: F32, F16 and Q8_0.
bool is_kv_cache_type(gguf::TensorType t);

// Bytes of one cache row of n elements (one position of one KV head). Q8_0 rows are padded
// with zeros to whole 32-element blocks, so every head size works (ceil(n / 32) * 34 bytes).
size_t kv_row_bytes(gguf::TensorType t, int64_t n);

// Most query rows one attention_chunk call takes (the GQA group times a few decode tokens).
inline constexpr int kMaxAttnRows = 16;

// The query rows of one KV head and their running online-softmax state. Row r attends to the
// positions [0, n_keys[r]) (causal mask); m is its running maximum of scaled scores (start at
// -inf), l the running sum of exp(score - m) (start at 0), acc (n_rows, head_dim) the running
// sum of exp(score - m) * v (start at 0). The attention output of row r is acc[r] / l[r].
struct AttnRows {
    const float* q = nullptr;  // (n_rows, q_stride) floats, the first head_dim used
    int64_t q_stride = 0;
    int n_rows = 0;                   // 1..kMaxAttnRows
    const int64_t* n_keys = nullptr;  // (n_rows)
    float* m = nullptr;               // (n_rows)
    float* l = nullptr;               // (n_rows)
    float* acc = nullptr;             // (n_rows, head_dim)
};

// Folds positions [j0, j1) of one KV head into rows' state: K row j at k + j * row_bytes,
// V row j at v + j * row_bytes, both in the cache type's row format. Positions are taken in
// blocks of 32: the scores of a block, one rescale of the state to the block's maximum, then
// the V accumulation, so the K and V of each position are read once for all rows.
using AttnChunkFn = void (*)(const AttnRows& rows, const void* k, const void* v, size_t row_bytes,
                             int64_t head_dim, int64_t j0, int64_t j1, float scale);
// A float row (n) into the cache row format, and back.
using KvStoreFn = void (*)(const float* src, void* dst, int64_t n);
using KvLoadFn = void (*)(const void* src, float* dst, int64_t n);
// x (n) = exp(x * scale - max) in place; returns the sum (the softmax of the tiled path).
using ExpSumFn = float (*)(float* x, int64_t n, float scale, float max);

struct AttentionKernels {
    KvStoreFn store = nullptr;
    KvLoadFn load = nullptr;
    AttnChunkFn chunk = nullptr;
    ExpSumFn exp_sum = nullptr;
};

// The kernels of cache type t (is_kv_cache_type) on isa. Exact uses the scalar ref kernels.
const AttentionKernels& attention_kernels(gguf::TensorType t, Isa isa);

}  // namespace hearth::kernels
