// A layer's KV cache in its element type (F32, F16, Q8_0) and causal GQA softmax attention
// over it: fused online softmax for a few tokens (decode, speculative verification), tiles on
// the float gemm kernels for a prompt. The SIMD inner loops are in kernels/attention.h.
#pragma once

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "base/aligned.h"
#include "base/thread_pool.h"
#include "kernels/attention.h"
#include "model/model.h"

namespace hearth::model {

// Bytes left as allocated instead of zero-filled: a large cache's pages are then committed
// only as positions are written (reads never go past the positions stored). On a cache line.
template <typename T>
struct UninitializedAllocator : CacheLineAllocator<T> {
    template <typename U>
    struct rebind {
        using other = UninitializedAllocator<U>;
    };
    using CacheLineAllocator<T>::CacheLineAllocator;
    template <typename U>
    void construct(U* p) noexcept {
        ::new (static_cast<void*>(p)) U;
    }
    template <typename U, typename... Args>
    void construct(U* p, Args&&... args) {
        ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
    }
};
using CacheBytes = std::vector<uint8_t, UninitializedAllocator<uint8_t>>;

// One layer's K and V for n_head_kv heads: V as (n_head_kv, n_ctx) rows of head_dim elements
// in the cache type's row format (kernels::kv_row_bytes), K as (n_head_kv, n_panels) panels of
// 16 positions transposed (kernels/attention.h), each the bytes of 16 rows; one head's
// positions contiguous so decode streams them.
struct KvCache {
    CacheType type = CacheType::F16;
    int64_t n_ctx = 0, n_head_kv = 0, head_dim = 0;
    int64_t n_panels = 0;  // K panels per head: ceil(n_ctx / 16)
    size_t row_bytes = 0;
    CacheBytes k, v;  // (n_head_kv, n_panels, 16 * row_bytes), (n_head_kv, n_ctx, row_bytes)

    KvCache() = default;
    KvCache(CacheType type, int64_t n_ctx, int64_t n_head_kv, int64_t head_dim);
    // Converts k, v (n_tokens, n_head_kv, head_dim) into the cache at positions pos0...
    void store(const float* k_rows, const float* v_rows, int64_t pos0, int64_t n_tokens);
    // A cache of the same shape holding this one's positions [0, n) (a forked sequence): only
    // the panels and rows in use are copied, so the copy commits no more memory than they take.
    KvCache copy_prefix(int64_t n) const;
    // Where head hk's K panel of positions 16p .. 16p + 15 starts in k, and its row of
    // position pos in v.
    size_t k_at(int64_t hk, int64_t p) const {
        return static_cast<size_t>(hk * n_panels + p) * kernels::kKPanel * row_bytes;
    }
    size_t v_at(int64_t hk, int64_t pos) const {
        return static_cast<size_t>(hk * n_ctx + pos) * row_bytes;
    }
    const uint8_t* k_panel(int64_t hk, int64_t p) const { return k.data() + k_at(hk, p); }
    const uint8_t* v_row(int64_t hk, int64_t pos) const { return v.data() + v_at(hk, pos); }
    int64_t bytes() const { return static_cast<int64_t>(k.size() + v.size()); }
};

// The bytes of one head's K or V row of one position in a cache of this type.
size_t kv_row_bytes(CacheType type, int64_t head_dim);

// Batches of up to this many tokens take the fused online-softmax path; longer ones the tiles.
inline constexpr int64_t kFusedAttentionMaxTokens = 8;

// Causal GQA softmax attention of a batch whose first token sits at pos0, scale 1/sqrt(D).
// q (n_tokens, n_head, head_dim); cache holds positions [0, pos0 + n_tokens);
// out (n_tokens, n_head * head_dim). Query head h reads KV head h / (n_head / n_head_kv).
void attention(const float* q, const KvCache& cache, float* out, int64_t n_tokens, int64_t pos0,
               int64_t n_head, ThreadPool& pool);

}  // namespace hearth::model
