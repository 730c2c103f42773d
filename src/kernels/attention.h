// Kernels of fused attention over a typed KV cache (F32, F16 or Q8_0): the cache formats of
// each type, and a one-pass online-softmax kernel over a range of cached positions for a few
// query rows at once. Threading and the combination of partial results live in the caller
// (model/attention.cpp); this file does not know heads or batches.
//
// V is stored as rows, one per position. K is stored transposed in panels of kKPanel
// positions, so that a query's scores against a panel are a sum of vectors (one per element
// of the head) instead of one horizontal sum per position: a panel holds, for each element d,
// that element of its 16 positions side by side. F32 and F16 panels are (head_dim, 16)
// elements; a Q8_0 panel is, per block of 32 elements, the 16 positions' f16 scales and then
// (32, 16) int8 levels. A panel takes the bytes of 16 rows.
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

// Positions per K panel.
inline constexpr int kKPanel = 16;

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

// Folds positions [j0, j1) of one KV head into rows' state: the K panel of positions
// 16p..16p+15 at k + p * 16 * row_bytes, V row j at v + j * row_bytes. j0 is a multiple of
// kKPanel. Positions are taken in blocks of 32 (two panels): the scores of a block, one rescale
// of the state to the block's maximum, then the V accumulation, so the K and V of each
// position are read once for all rows. Positions of a panel past j1 are never used, so they
// may hold anything.
using AttnChunkFn = void (*)(const AttnRows& rows, const void* k, const void* v, size_t row_bytes,
                             int64_t head_dim, int64_t j0, int64_t j1, float scale);
// A float row (n) into the cache row format, and back (V rows).
using KvStoreFn = void (*)(const float* src, void* dst, int64_t n);
using KvLoadFn = void (*)(const void* src, float* dst, int64_t n);
// A float row (n) into position `lane` (0..15) of a K panel; a whole K panel into (n, 16)
// floats, element d of position `lane` at dst[d * 16 + lane].
using KStoreFn = void (*)(const float* src, void* panel, int lane, int64_t n);
using KLoadFn = void (*)(const void* panel, float* dst, int64_t n);
// x (n) = exp(x * scale - max) in place; returns the sum (the softmax of the tiled path).
using ExpSumFn = float (*)(float* x, int64_t n, float scale, float max);

struct AttentionKernels {
    KvStoreFn store = nullptr;
    KvLoadFn load = nullptr;
    KStoreFn store_k = nullptr;
    KLoadFn load_k = nullptr;
    AttnChunkFn chunk = nullptr;
    ExpSumFn exp_sum = nullptr;
};

// The kernels of cache type t (is_kv_cache_type) on isa. Exact uses the scalar ref kernels.
const AttentionKernels& attention_kernels(gguf::TensorType t, Isa isa);

}  // namespace hearth::kernels
