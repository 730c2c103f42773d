// KV cache storage and the two attention paths. Decode: the fused online-softmax kernel reads
// each cached K/V row once for all query rows of its KV head; work items are (KV head, row
// batch, position split), the splits merged at the end, so every thread has work even with one
// KV head. Prompt: K and V of each head converted to float once, then tiles of tokens as gemms.
#include "model/attention.h"

#include <algorithm>
#include <atomic>
#include <cmath>

#include "base/aligned.h"
#include "kernels/attention.h"
#include "kernels/dispatch.h"
#include "model/attention_tile.h"

namespace hearth::model {

#if HEARTH_X86_KERNELS
namespace avx2 {  // attention_avx2.cpp
void attend_tile(const float* q, int64_t q_stride, int64_t ny, int64_t group, const float* kT,
                 const float* v, int64_t v_panel, int64_t nk, int64_t n_first, int64_t D, float scale,
                 kernels::ExpSumFn exp_sum, float* scratch, float* out, int64_t out_stride);
}  // namespace avx2
namespace avx512 {  // attention_avx512.cpp
void attend_tile(const float* q, int64_t q_stride, int64_t ny, int64_t group, const float* kT,
                 const float* v, int64_t v_panel, int64_t nk, int64_t n_first, int64_t D, float scale,
                 kernels::ExpSumFn exp_sum, float* scratch, float* out, int64_t out_stride);
}  // namespace avx512
#endif

namespace {

gguf::TensorType tensor_type(CacheType t) {
    switch (t) {
        case CacheType::F32:
            return gguf::TensorType::F32;
        case CacheType::F16:
            return gguf::TensorType::F16;
        case CacheType::Q8_0:
            return gguf::TensorType::Q8_0;
    }
    return gguf::TensorType::F32;
}

const kernels::AttentionKernels& attn_kernels(CacheType t) {
    return kernels::attention_kernels(tensor_type(t), kernels::current_isa());
}

constexpr int64_t kMinSplit = 256;  // fewest positions worth a separate work item

// The partial states of the fused path: per work item (KV head, row batch, split) kR maxima,
// kR sums and (kR, D) accumulators, items ordered (hk, rb, split).
struct Partials {
    const float* ml;
    const float* acc;
    int64_t n_rb, n_split, group, H, D;
};

// out = sum_s exp(m_s - m) acc_s / sum_s exp(m_s - m) l_s, m the largest m_s.
void merge_splits(const Partials& p, int64_t Hkv, int64_t n_rows, float* out) {
    constexpr int64_t kR = kernels::kMaxAttnRows;
    const int64_t D = p.D, group = p.group, n_split = p.n_split;
    for (int64_t hk = 0; hk < Hkv; ++hk) {
        for (int64_t i = 0; i < n_rows; ++i) {
            const int64_t t = i / group, h = hk * group + i % group, rb = i / kR, r = i % kR;
            const int64_t item0 = (hk * p.n_rb + rb) * n_split;
            float m = -INFINITY, l = 0.0f;
            for (int64_t s = 0; s < n_split; ++s) m = std::max(m, p.ml[(item0 + s) * 2 * kR + r]);
            float* o = out + (t * p.H + h) * D;
            std::fill_n(o, D, 0.0f);
            for (int64_t s = 0; s < n_split; ++s) {
                const float ms = p.ml[(item0 + s) * 2 * kR + r];
                if (ms == -INFINITY) continue;  // a split wholly past this row's causal limit
                const float f = std::exp(ms - m);
                l += f * p.ml[(item0 + s) * 2 * kR + kR + r];
                const float* a = p.acc + ((item0 + s) * kR + r) * D;
                for (int64_t d = 0; d < D; ++d) o[d] += f * a[d];
            }
            const float inv = 1.0f / l;
            for (int64_t d = 0; d < D; ++d) o[d] *= inv;
        }
    }
}

void attention_fused(const float* q, const KvCache& c, float* out, int64_t T, int64_t pos0,
                     int64_t H, ThreadPool& pool) {
    const int64_t Hkv = c.n_head_kv, D = c.head_dim, group = H / Hkv, n_all = pos0 + T;
    const int64_t n_rows = T * group,
                  n_rb = (n_rows + kernels::kMaxAttnRows - 1) / kernels::kMaxAttnRows;
    // Split positions until there are ~8 items per thread (or splits get too short); threads
    // claim items from a shared counter, so that one slowed down takes fewer.
    const int64_t base = Hkv * n_rb, want = 8 * static_cast<int64_t>(pool.size());
    int64_t n_split =
        std::clamp<int64_t>((want + base - 1) / base, 1, std::max<int64_t>(1, n_all / kMinSplit));
    const int64_t split_len = ((n_all + n_split - 1) / n_split + 31) / 32 * 32;
    n_split = (n_all + split_len - 1) / split_len;
    const int64_t n_items = base * n_split, kR = kernels::kMaxAttnRows;
    thread_local AlignedVector<float> part_ml, part_acc;  // per item: (kR) m, (kR) l; (kR, D) acc
    grow(part_ml, n_items * 2 * kR), grow(part_acc, n_items * kR * D);
    float* ml = part_ml.data();
    float* acc = part_acc.data();
    const kernels::AttentionKernels& kk = attn_kernels(c.type);
    const float scale = 1.0f / std::sqrt(static_cast<float>(D));
    std::atomic<int64_t> next_item{0};
    pool.run([&](int, int) {
        thread_local AlignedVector<float> qbuf;
        grow(qbuf, kR * D);
        int64_t n_keys[kernels::kMaxAttnRows];
        for (int64_t item; (item = next_item.fetch_add(1, std::memory_order_relaxed)) < n_items;) {
            const int64_t s = item % n_split, rb = (item / n_split) % n_rb,
                          hk = item / (n_split * n_rb);
            const int64_t r0 = rb * kR, nr = std::min(kR, n_rows - r0);
            // Row i of a KV head: token i / group, query head hk * group + i % group.
            for (int64_t r = 0; r < nr; ++r) {
                const int64_t t = (r0 + r) / group, h = hk * group + (r0 + r) % group;
                std::copy_n(q + (t * H + h) * D, D, qbuf.data() + r * D);
                n_keys[r] = pos0 + t + 1;
            }
            float* m = ml + item * 2 * kR;
            std::fill(m, m + kR, -INFINITY);
            std::fill(m + kR, m + 2 * kR, 0.0f);
            std::fill_n(acc + item * kR * D, nr * D, 0.0f);
            const kernels::AttnRows rows{.q = qbuf.data(),
                                         .q_stride = D,
                                         .n_rows = static_cast<int>(nr),
                                         .n_keys = n_keys,
                                         .m = m,
                                         .l = m + kR,
                                         .acc = acc + item * kR * D};
            kk.chunk(rows, c.k_panel(hk, 0), c.v_row(hk, 0), c.row_bytes, D, s * split_len,
                     std::min(n_all, (s + 1) * split_len), scale);
        }
    });
    merge_splits({ml, acc, n_rb, n_split, group, H, D}, Hkv, n_rows, out);
}

// The cached positions as float panels for attend_tile (kPanel = 16): per KV head, K
// transposed in n_pan = ceil(n_all / 16) panels of (D, 16), and V in ceil(D / 16) panels of
// (n_pan * 16, 16). Converted in blocks of 16 positions; padding is zero.
struct FloatPanels {
    int64_t n_pan, n_dpan;  // K panels (of positions) and V panels (of dimensions) per head
    int64_t v_panel;        // floats between V panels
    int64_t d;              // head_dim
    int64_t k_head() const { return n_pan * d * kPanel; }  // floats between heads
    int64_t v_head() const { return n_dpan * v_panel; }
};

// A K panel of the cache converts to a K panel of floats as it is.
static_assert(kPanel == kernels::kKPanel);

FloatPanels float_panels(const KvCache& c, int64_t n_all) {
    const int64_t n_pan = (n_all + kPanel - 1) / kPanel;
    return {n_pan, (c.head_dim + kPanel - 1) / kPanel, n_pan * kPanel * kPanel, c.head_dim};
}

void cache_to_float(const KvCache& c, int64_t n_all, const FloatPanels& fp, float* kt, float* vf,
                    ThreadPool& pool) {
    const int64_t Hkv = c.n_head_kv, D = c.head_dim, n_blk = fp.n_pan;
    const kernels::AttentionKernels& kk = attn_kernels(c.type);
    pool.run([&](int ith, int nth) {
        thread_local AlignedVector<float> tmp;
        grow(tmp, kPanel * fp.n_dpan * kPanel);
        const Range work = split_range(Hkv * n_blk, ith, nth);
        for (int64_t item = work.begin; item < work.end; ++item) {
            const int64_t hk = item / n_blk, blk = item % n_blk, j0 = blk * kPanel,
                          nj = std::min<int64_t>(kPanel, n_all - j0);
            // A K panel is already (D, 16); positions past n_all are zeroed.
            float* kp = kt + hk * fp.k_head() + blk * D * kPanel;
            kk.load_k(c.k_panel(hk, blk), kp, D);
            if (nj < kPanel)
                for (int64_t d = 0; d < D; ++d)
                    std::fill(kp + d * kPanel + nj, kp + (d + 1) * kPanel, 0.0f);
            const int64_t row = fp.n_dpan * kPanel;  // a row of tmp, D padded to whole panels
            std::fill_n(tmp.data(), kPanel * row, 0.0f);
            for (int64_t j = 0; j < nj; ++j) kk.load(c.v_row(hk, j0 + j), tmp.data() + j * row, D);
            for (int64_t p = 0; p < fp.n_dpan; ++p) {
                float* vp = vf + hk * fp.v_head() + p * fp.v_panel + j0 * kPanel;
                for (int64_t j = 0; j < kPanel; ++j)
                    std::copy_n(tmp.data() + j * row + p * kPanel, kPanel, vp + j * kPanel);
            }
        }
    });
}

// Prefill: items of (token tile, KV head), the rows of a tile being its tokens' query heads of
// that KV head, so that the keys and values read for a product serve them all. Scores are a
// product of the rows with the transposed keys, the outputs a product of the probabilities with
// the values (attend_tile); the cache is converted to float panels once per call.
void attention_tiles(const float* q, const KvCache& c, float* out, int64_t T, int64_t pos0,
                     int64_t H, ThreadPool& pool) {
    const int64_t Hkv = c.n_head_kv, D = c.head_dim, group = H / Hkv, n_all = pos0 + T;
    const float scale = 1.0f / std::sqrt(static_cast<float>(D));
    const kernels::ExpSumFn exp_sum = attn_kernels(c.type).exp_sum;
    auto* tile_fn = &attend_tile;
#if HEARTH_X86_KERNELS
    const kernels::Isa isa = kernels::simd_level(kernels::current_isa());
    if (isa == kernels::Isa::Avx2) tile_fn = &avx2::attend_tile;
    if (isa == kernels::Isa::Avx512) tile_fn = &avx512::attend_tile;
#endif
    // Rows per item: each 16-key panel of K (and of V) is read once per item and then serves
    // all its rows from L1; more rows would also grow the (rows, keys) score matrix past L2.
    constexpr int64_t kTileRows = 64;
    const int64_t tile_tokens = std::max<int64_t>(1, kTileRows / group);
    thread_local AlignedVector<float> kt, vbuf;  // grow only
    const FloatPanels fp = float_panels(c, n_all);
    grow(kt, Hkv * fp.k_head());
    grow(vbuf, Hkv * fp.v_head());
    cache_to_float(c, n_all, fp, kt.data(), vbuf.data(), pool);
    // Plain pointers for the workers: the name of a thread_local means each thread's own.
    const float* ktp = kt.data();
    const float* vp = vbuf.data();
    const int64_t n_tiles = (T + tile_tokens - 1) / tile_tokens, n_items = n_tiles * Hkv;
    // A tile's cost grows with its position (causal: later tokens see more keys), so threads
    // take items from a counter, the last tiles of a KV head first; the threads work on the
    // same KV head at a time, sharing its keys and values in the last-level cache.
    std::atomic<int64_t> next_item{0};
    pool.run([&](int, int) {
        thread_local AlignedVector<float> scratch, rows, outs;
        for (int64_t item; (item = next_item.fetch_add(1, std::memory_order_relaxed)) < n_items;) {
            const int64_t hk = item / n_tiles, t0 = (n_tiles - 1 - item % n_tiles) * tile_tokens;
            const int64_t nt = std::min(tile_tokens, T - t0), ny = nt * group;
            grow(rows, ny * D), grow(outs, ny * D), grow(scratch, attend_scratch(ny));
            // A token's query heads of KV head hk are group * D consecutive floats.
            for (int64_t t = 0; t < nt; ++t)
                std::copy_n(q + ((t0 + t) * H + hk * group) * D, group * D, rows.data() + t * group * D);
            tile_fn(rows.data(), D, ny, group, ktp + hk * fp.k_head(), vp + hk * fp.v_head(),
                    fp.v_panel, pos0 + t0 + nt, pos0 + t0 + 1, D, scale, exp_sum, scratch.data(),
                    outs.data(), D);
            for (int64_t t = 0; t < nt; ++t)
                std::copy_n(outs.data() + t * group * D, group * D, out + ((t0 + t) * H + hk * group) * D);
        }
    });
}

}  // namespace

size_t kv_row_bytes(CacheType type, int64_t head_dim) {
    return kernels::kv_row_bytes(tensor_type(type), head_dim);
}

KvCache::KvCache(CacheType type, int64_t n_ctx, int64_t n_head_kv, int64_t head_dim)
    : type(type),
      n_ctx(n_ctx),
      n_head_kv(n_head_kv),
      head_dim(head_dim),
      n_panels((n_ctx + kernels::kKPanel - 1) / kernels::kKPanel),
      row_bytes(kv_row_bytes(type, head_dim)),
      k(n_head_kv * n_panels * kernels::kKPanel * row_bytes),
      v(n_head_kv * n_ctx * row_bytes) {}

KvCache KvCache::copy_prefix(int64_t n) const {
    // A recurrent layer's placeholder cache has no heads and no positions: nothing to copy.
    HEARTH_CHECK(n >= 0 && (n_head_kv == 0 || n <= n_ctx));
    KvCache c(type, n_ctx, n_head_kv, head_dim);
    const size_t panel_bytes = kernels::kKPanel * row_bytes;
    const int64_t used_panels = (n + kernels::kKPanel - 1) / kernels::kKPanel;
    for (int64_t hk = 0; hk < n_head_kv; ++hk) {
        std::copy_n(k.begin() + k_at(hk, 0), used_panels * panel_bytes, c.k.begin() + k_at(hk, 0));
        std::copy_n(v.begin() + v_at(hk, 0), n * row_bytes, c.v.begin() + v_at(hk, 0));
    }
    return c;
}

void KvCache::store(const float* k_rows, const float* v_rows, int64_t pos0, int64_t n_tokens) {
    HEARTH_CHECK(pos0 >= 0 && pos0 + n_tokens <= n_ctx);
    const kernels::AttentionKernels& kk = attn_kernels(type);
    for (int64_t t = 0; t < n_tokens; ++t) {
        const int64_t pos = pos0 + t, panel = pos / kernels::kKPanel;
        for (int64_t hk = 0; hk < n_head_kv; ++hk) {
            const int64_t src = (t * n_head_kv + hk) * head_dim;
            kk.store_k(k_rows + src, k.data() + k_at(hk, panel),
                       static_cast<int>(pos % kernels::kKPanel), head_dim);
            kk.store(v_rows + src, v.data() + v_at(hk, pos), head_dim);
        }
    }
}

void attention(const float* q, const KvCache& cache, float* out, int64_t n_tokens, int64_t pos0,
               int64_t n_head, ThreadPool& pool) {
    if (n_tokens <= kFusedAttentionMaxTokens)
        attention_fused(q, cache, out, n_tokens, pos0, n_head, pool);
    else
        attention_tiles(q, cache, out, n_tokens, pos0, n_head, pool);
}

}  // namespace hearth::model
