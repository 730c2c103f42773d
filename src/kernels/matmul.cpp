// Threaded weight x activation products, one or many (matmul_tasks) per threaded pass. The
// activations are converted once per call into the weight type's activation layout
// (vec_dot_type). A decode step gives each thread a band of weight rows; a batch hands out row
// tiles, each run by the ISA's gemm over groups of up to kMaxGemmTokens tokens, so every weight
// block is decoded once per token group; or, for batches where the kernel has a packed path
// (dispatch.h), each kPackRows rows of the tile are packed once for all tokens.
// HEARTH_ISA=exact keeps the float path: rows dequantized, float activations (the path the
// .deq.bin golden files check).
#include "kernels/matmul.h"

#include <algorithm>
#include <atomic>
#include <vector>

#include "base/aligned.h"
#include "base/status.h"
#include "kernels/dispatch.h"
#include "kernels/interleave.h"
#include "kernels/kernels.h"

namespace hearth::kernels {

namespace {

// Rows per tile: a multiple of 32 rows (those of a 1024-wide Q8_0 matrix, 35 KB, stay in L1
// while the tile is swept over all token groups; the packed Q4_K/Q5_K and Q8_0 kernels take
// their 16-row groups in pairs), more for short rows, up to about kTileBytes, so that a tile of
// a small matrix (a MoE expert's down projection) is still worth its claim, prefetch and
// packing set-up.
constexpr int64_t kRowTile = 2 * kPackRows;
constexpr uint64_t kTileBytes = 32 * 1024;
int64_t tile_rows(uint64_t row_bytes) {
    const int64_t rows = static_cast<int64_t>(kTileBytes / row_bytes) / kRowTile * kRowTile;
    return std::clamp<int64_t>(rows, kRowTile, 8 * kRowTile);
}
// Below this many activation elements one thread quantizes (a decode step's row).
constexpr int64_t kParallelQuantize = 16384;

// One thread's band of rows [front, back) in a decode step: the owner takes pieces from the
// front, other threads from the back, both by compare-and-swap on the packed pair.
constexpr int kMaxBands = 64;  // threads past this many sit decode steps out
constexpr int64_t kMinPieceRows = 16;
struct alignas(64) Band {
    std::atomic<uint64_t> v{0};
    static uint64_t pack(int64_t front, int64_t back) { return uint64_t(front) << 32 | uint64_t(back); }
    void set(int64_t front, int64_t back) { v.store(pack(front, back), std::memory_order_relaxed); }
    // A quarter of what is left (at least kMinPieceRows rows) from the front.
    bool take_front(int64_t& g0, int64_t& g1) {
        uint64_t cur = v.load(std::memory_order_acquire);
        for (;;) {
            const int64_t front = int64_t(cur >> 32), back = int64_t(cur & 0xFFFFFFFFu);
            if (front >= back) return false;
            const int64_t end = std::min(back, front + std::max(kMinPieceRows, (back - front) / 4));
            if (v.compare_exchange_weak(cur, pack(end, back), std::memory_order_acq_rel)) {
                g0 = front, g1 = end;
                return true;
            }
        }
    }
    // Half of what is left (at least kMinPieceRows rows) from the back.
    bool take_back(int64_t& g0, int64_t& g1) {
        uint64_t cur = v.load(std::memory_order_acquire);
        for (;;) {
            const int64_t front = int64_t(cur >> 32), back = int64_t(cur & 0xFFFFFFFFu);
            if (front >= back) return false;
            const int64_t begin = std::max(front, back - std::max(kMinPieceRows, (back - front) / 2));
            if (v.compare_exchange_weak(cur, pack(front, begin), std::memory_order_acq_rel)) {
                g0 = begin, g1 = back;
                return true;
            }
        }
    }
};

float dot(const float* a, const float* b, int64_t n) {
    // Four partial sums: lets the compiler vectorize without -ffast-math.
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += a[i] * b[i];
        s1 += a[i + 1] * b[i + 1];
        s2 += a[i + 2] * b[i + 2];
        s3 += a[i + 3] * b[i + 3];
    }
    for (; i < n; ++i) s0 += a[i] * b[i];
    return (s0 + s1) + (s2 + s3);
}

// The float path: a row tile is dequantized once into a thread-local buffer and reused for
// every token of the batch.
void matmul_exact(const WeightView& w, const float* x, float* y, int64_t n_tokens,
                  ThreadPool& pool) {
    constexpr int64_t kExactTile = 16;
    pool.run([&](int ith, int nth) {
        thread_local AlignedVector<float> rows;
        Range band = split_range(w.n_out, ith, nth);
        const bool is_f32 = w.type == gguf::TensorType::F32;
        if (!is_f32 && static_cast<int64_t>(rows.size()) < kExactTile * w.n_in)
            rows.resize(kExactTile * w.n_in);
        for (int64_t r0 = band.begin; r0 < band.end; r0 += kExactTile) {
            const int64_t nr = std::min(kExactTile, band.end - r0);
            const float* wr;
            if (is_f32) {
                wr = reinterpret_cast<const float*>(w.data + r0 * w.row_bytes);
            } else {
                for (int64_t k = 0; k < nr; ++k) get_row(w, r0 + k, rows.data() + k * w.n_in);
                wr = rows.data();
            }
            for (int64_t t = 0; t < n_tokens; ++t) {
                const float* xt = x + t * w.n_in;
                float* yt = y + t * w.n_out + r0;
                for (int64_t k = 0; k < nr; ++k) yt[k] = dot(wr + k * w.n_in, xt, w.n_in);
            }
        }
    });
}

void prefetch(const uint8_t* p, size_t bytes) {
    for (size_t off = 0; off < bytes; off += 64) __builtin_prefetch(p + off, 0, 3);
}

}  // namespace

void get_row(const WeightView& w, int64_t r, float* dst) {
    HEARTH_DCHECK(r >= 0 && r < w.n_out);
    if (w.interleaved) {
        thread_local std::vector<uint8_t> row;
        row.resize(w.row_bytes);
        deinterleave_row(w.type, w.n_in, w.data, r, row.data());
        dequantize_row(w.type, row.data(), dst, w.n_in);
        return;
    }
    dequantize_row(w.type, w.data + r * w.row_bytes, dst, w.n_in);
}

const MatmulKernels* matmul_kernels(const WeightView& w, Isa isa) {
    return w.interleaved ? interleaved_kernels(w.type, isa) : matmul_kernels(w.type, isa);
}

void matmul(const WeightView& w, const float* x, float* y, int64_t n_tokens, ThreadPool& pool) {
    matmul(w, x, y, n_tokens, pool, current_isa());
}

void matmul(const WeightView& w, const float* x, float* y, int64_t n_tokens, ThreadPool& pool,
            Isa isa) {
    const MatmulOut out{w, y};
    matmul_group({&out, 1}, x, n_tokens, pool, isa);
}

void matmul_group(std::span<const MatmulOut> outs, const float* x, int64_t n_tokens,
                  ThreadPool& pool) {
    matmul_group(outs, x, n_tokens, pool, current_isa());
}

void matmul_group(std::span<const MatmulOut> outs, const float* x, int64_t n_tokens,
                  ThreadPool& pool, Isa isa) {
    const int n_outs = static_cast<int>(outs.size());
    HEARTH_CHECK(n_outs >= 1 && n_outs <= kMaxMatmulGroup);
    const MatmulKernels* kernels[kMaxMatmulGroup];
    for (int i = 0; i < n_outs; ++i) kernels[i] = matmul_kernels(outs[i].w, isa);
    matmul_group_with(outs, kernels, x, n_tokens, pool);
}

void matmul_group_with(std::span<const MatmulOut> outs, const MatmulKernels* const* kernels,
                       const float* x, int64_t n_tokens, ThreadPool& pool) {
    const int n_outs = static_cast<int>(outs.size());
    HEARTH_CHECK(n_outs >= 1 && n_outs <= kMaxMatmulGroup);
    MatmulTask tasks[kMaxMatmulGroup];
    for (int i = 0; i < n_outs; ++i) {
        HEARTH_CHECK(outs[i].w.n_in == outs[0].w.n_in);
        tasks[i] = {.w = outs[i].w, .x = x, .n_tokens = n_tokens, .y = outs[i].y};
    }
    matmul_tasks_with({tasks, outs.size()}, kernels, pool);
}

void matmul_tasks(std::span<const MatmulTask> tasks, ThreadPool& pool) {
    thread_local std::vector<const MatmulKernels*> kernels;
    kernels.resize(tasks.size());
    const Isa isa = current_isa();
    for (size_t i = 0; i < tasks.size(); ++i) kernels[i] = matmul_kernels(tasks[i].w, isa);
    matmul_tasks_with(tasks, kernels.data(), pool);
}

void matmul_tasks_with(std::span<const MatmulTask> tasks, const MatmulKernels* const* kernels,
                       ThreadPool& pool) {
    const int64_t n_tasks = static_cast<int64_t>(tasks.size());
    if (n_tasks == 0) return;
    // One product at a time where a weight type has no kernels here: the exact float path.
    for (int64_t i = 0; i < n_tasks; ++i) {
        if (kernels[i] != nullptr) continue;
        for (int64_t e = 0; e < n_tasks; ++e) {
            const MatmulTask& t = tasks[e];
            if (kernels[e] == nullptr) matmul_exact(t.w, t.x, t.y, t.n_tokens, pool);
            else matmul_tasks_with(tasks.subspan(e, 1), kernels + e, pool);
        }
        return;
    }

    // Per product: its kernels and activations. Products of the same input whose weight types
    // share an activation layout share one quantized copy; the copies are made in one pass.
    // Buffers grow only: after the first calls of a model's largest shapes, no allocation.
    struct Part {
        const MatmulKernels* k;
        const uint8_t* act;
        const uint8_t* packed_act;  // the packed path's activations
        size_t act_row_bytes, packed_act_row_bytes;
        int64_t ny;           // tokens per gemm call
        bool packed;          // takes the packed path
        int64_t first_tile;   // index of its first row tile among all the tasks' tiles
        int64_t tile_rows;    // rows per tile
        uint64_t first_byte;  // offset of its first weight byte among all the tasks' bytes
        int64_t first_row;    // index of its first row among all the tasks' rows
    };
    // An activation copy to make: n rows of src (n_in floats each) into arena[arena] at
    // dst_offset.
    struct Copy {
        ActQuantizeFn fn;
        const float* src;
        int64_t n, n_in;
        size_t dst_offset, row_bytes;
        int arena;
    };
    // The caller's buffers, by reference: in the workers the names of thread_locals would
    // mean their own.
    thread_local std::vector<Part> parts_buffer;
    thread_local std::vector<Copy> copies_buffer;
    thread_local AlignedVector<uint8_t> arena_buffers[2];  // plain and packed-path activations
    std::vector<Part>& parts = parts_buffer;
    std::vector<Copy>& copies = copies_buffer;
    AlignedVector<uint8_t>(&arena)[2] = arena_buffers;
    parts.resize(n_tasks);
    copies.clear();
    size_t arena_bytes[2] = {0, 0};
    // The copy of fn(src) made for an earlier task, if any: only the last few copies are
    // searched, which finds the products of one input (they come together).
    auto find_copy = [&](ActQuantizeFn fn, const MatmulTask& t) -> int64_t {
        for (int64_t c = static_cast<int64_t>(copies.size()) - 1;
             c >= 0 && c >= static_cast<int64_t>(copies.size()) - 8; --c) {
            const Copy& y = copies[c];
            if (y.fn == fn && y.src == t.x && y.n == t.n_tokens && y.n_in == t.w.n_in) return c;
        }
        return -1;
    };
    auto add_copy = [&](ActQuantizeFn fn, const MatmulTask& t, size_t row_bytes, int a) {
        const size_t bytes = row_bytes * static_cast<size_t>(t.n_tokens);
        copies.push_back({fn, t.x, t.n_tokens, t.w.n_in, arena_bytes[a], row_bytes, a});
        arena_bytes[a] += (bytes + 63) / 64 * 64;
        return static_cast<int64_t>(copies.size()) - 1;
    };
    thread_local std::vector<int64_t> copy_of, packed_copy_of;  // per task, -1: none
    copy_of.assign(n_tasks, -1);
    packed_copy_of.assign(n_tasks, -1);
    int64_t n_tiles = 0, n_rows = 0;
    uint64_t n_bytes = 0;
    bool decode = true;
    for (int64_t i = 0; i < n_tasks; ++i) {
        const MatmulTask& t = tasks[i];
        const MatmulKernels* k = kernels[i];
        const gguf::TypeTraits at = gguf::traits(k->vec_dot_type);
        HEARTH_CHECK(t.w.n_in % at.block_size == 0 && t.n_tokens >= 1);
        Part& p = parts[i];
        p.k = k;
        const size_t block_row_bytes =
            static_cast<size_t>(t.w.n_in / at.block_size * at.block_bytes);
        p.act_row_bytes = k->act_bytes != nullptr ? k->act_bytes(t.w.n_in) : block_row_bytes;
        p.packed_act_row_bytes = k->packed_quantize == nullptr ? p.act_row_bytes
                                 : k->packed_act_bytes != nullptr ? k->packed_act_bytes(t.w.n_in)
                                                                  : block_row_bytes;
        p.packed = k->gemm_packed != nullptr && t.n_tokens >= k->pack_min_tokens;
        // quantize's copy, unless the packed path takes every row (row tiles are whole groups
        // of kPackRows) from activations of its own.
        const bool packed_only =
            p.packed && k->packed_quantize != nullptr && t.w.n_out % kPackRows == 0;
        if (k->quantize != nullptr && !packed_only) {
            copy_of[i] = find_copy(k->quantize, t);
            if (copy_of[i] < 0) copy_of[i] = add_copy(k->quantize, t, p.act_row_bytes, 0);
        }
        if (p.packed && k->packed_quantize != nullptr) {
            packed_copy_of[i] = find_copy(k->packed_quantize, t);
            if (packed_copy_of[i] < 0)
                packed_copy_of[i] = add_copy(k->packed_quantize, t, p.packed_act_row_bytes, 1);
        }
        // Token groups: the table's gemm_tokens, widened to kMaxGemmTokens for SIMD kernels
        // (their gemm takes up to kMaxGemmTokens tokens and splits them as its registers
        // allow), so each weight block of a row tile is decoded once per 8 tokens where the
        // kernel has a wide path.
        p.ny = k->gemm_tokens >= 4 ? kMaxGemmTokens : std::max(1, k->gemm_tokens);
        p.first_tile = n_tiles;
        p.first_byte = n_bytes;
        p.first_row = n_rows;
        n_rows += t.w.n_out;
        p.tile_rows = tile_rows(t.w.row_bytes);
        n_tiles += (t.w.n_out + p.tile_rows - 1) / p.tile_rows;
        n_bytes += t.w.row_bytes * static_cast<uint64_t>(t.w.n_out);
        decode = decode && t.n_tokens == 1;
    }
    for (int b = 0; b < 2; ++b)
        if (arena[b].size() < arena_bytes[b]) arena[b].resize(arena_bytes[b]);
    auto copy_data = [&](int64_t c) { return arena[copies[c].arena].data() + copies[c].dst_offset; };
    for (int64_t i = 0; i < n_tasks; ++i) {
        Part& p = parts[i];
        if (copy_of[i] >= 0) p.act = copy_data(copy_of[i]);
        else p.act = p.k->quantize == nullptr ? reinterpret_cast<const uint8_t*>(tasks[i].x) : nullptr;
        p.packed_act = packed_copy_of[i] < 0 ? p.act : copy_data(packed_copy_of[i]);
    }
    // The copies, rows shared out across threads when there are enough.
    int64_t copy_rows = 0, copy_elements = 0;
    for (const Copy& c : copies) copy_rows += c.n, copy_elements += c.n * c.n_in;
    auto make_copies = [&](int64_t row0, int64_t row1) {
        int64_t at = 0;
        for (const Copy& c : copies) {
            const int64_t b = std::max(row0 - at, int64_t(0)), e = std::min(row1 - at, c.n);
            uint8_t* dst = arena[c.arena].data() + c.dst_offset;
            for (int64_t r = b; r < e; ++r) c.fn(c.src + r * c.n_in, dst + r * c.row_bytes, c.n_in);
            at += c.n;
        }
    };
    if (copy_rows == 1 || copy_elements < kParallelQuantize) {
        make_copies(0, copy_rows);
    } else {
        pool.run([&](int ith, int nth) {
            const Range r = split_range(copy_rows, ith, nth);
            make_copies(r.begin, r.end);
        });
    }

    // Rows [r0, r1) of task i for all its tokens. With a packed path and enough tokens to
    // repay the packing, whole groups of kPackRows rows go through it.
    auto run_rows = [&](int64_t i, int64_t r0, int64_t r1) {
        const MatmulTask& t = tasks[i];
        const WeightView& w = t.w;
        const Part& p = parts[i];
        const int64_t groups = (r1 - r0) / kPackRows;
        if (p.packed && groups > 0) {
            // On a cache line: each of the kernels' 64-byte loads would otherwise touch two
            // (the packed Q6_K gemm was 10% slower so).
            thread_local AlignedVector<uint8_t> buffer;
            const size_t need = p.k->packed_bytes(w.n_in) * groups;
            if (buffer.size() < need) buffer.resize(need);
            uint8_t* packed = buffer.data();
            pack_groups(*p.k, w.n_in, w.data + r0 * w.row_bytes, w.row_bytes, groups, packed);
            p.k->gemm_packed(w.n_in, packed, groups, p.packed_act, p.packed_act_row_bytes,
                             t.n_tokens, t.y + r0, static_cast<size_t>(w.n_out));
            r0 += groups * kPackRows;
        }
        HEARTH_DCHECK(r0 == r1 || p.act != nullptr);
        for (int64_t t0 = 0; r0 < r1 && t0 < t.n_tokens; t0 += p.ny) {
            const int nt = static_cast<int>(std::min(p.ny, t.n_tokens - t0));
            p.k->gemm(w.n_in, w.data + r0 * w.row_bytes, w.row_bytes, r1 - r0,
                      p.act + t0 * p.act_row_bytes, p.act_row_bytes, nt,
                      t.y + t0 * w.n_out + r0, static_cast<size_t>(w.n_out));
        }
    };
    // The task that holds tile, row or byte v of the tasks' tiles, rows or bytes end to end
    // (first: the Part member where each task's own begin).
    auto task_at = [&](auto Part::*first, auto v) -> int64_t {
        return std::upper_bound(parts.begin(), parts.end(), v,
                                [first](auto x, const Part& p) { return x < p.*first; }) -
               parts.begin() - 1;
    };
    // A tile's task and rows [r0, r1).
    struct TileRows {
        int64_t task, r0, r1;
    };
    auto tile_at = [&](int64_t tile) {
        const int64_t i = task_at(&Part::first_tile, tile);
        const int64_t r0 = (tile - parts[i].first_tile) * parts[i].tile_rows;
        return TileRows{i, r0, std::min(r0 + parts[i].tile_rows, tasks[i].w.n_out)};
    };
    // Decode: each thread streams its own band of the tasks' rows, an equal share of the
    // weight bytes, front to back in shrinking pieces; a thread done with its band takes
    // pieces from the back of another's, so a thread slowed down (a busy neighbour, a slower
    // vCPU) does not hold the token up. Batches hand out row tiles from a shared counter.
    Band bands[kMaxBands];
    const int n_bands = std::min(pool.size(), kMaxBands);
    if (decode) {
        HEARTH_CHECK(n_rows < (int64_t(1) << 31));
        // The band boundaries: the row holding byte n_bytes * k / n_bands, rounded up.
        auto boundary = [&](int k) -> int64_t {
            const uint64_t at = n_bytes * k / n_bands;
            if (at >= n_bytes) return n_rows;
            const int64_t i = task_at(&Part::first_byte, at);
            const uint64_t rb = tasks[i].w.row_bytes;
            return parts[i].first_row + static_cast<int64_t>((at - parts[i].first_byte + rb - 1) / rb);
        };
        for (int k = 0; k < n_bands; ++k) bands[k].set(boundary(k), boundary(k + 1));
    }
    // Rows [g0, g1) of the tasks' rows end to end. An interleaved task's share starts and ends
    // at the group boundaries at or past g0 and g1: every piece rounds the same boundaries
    // the same way, so each group is still run exactly once.
    auto run_task_rows = [&](int64_t g0, int64_t g1) {
        for (int64_t i = task_at(&Part::first_row, g0); i < n_tasks && g0 < g1; ++i) {
            const int64_t f = parts[i].first_row, n = tasks[i].w.n_out, e = f + n;
            if (g0 < e && g1 > f) {
                int64_t r0 = std::max(g0, f) - f, r1 = std::min(g1, e) - f;
                if (tasks[i].w.interleaved) {
                    r0 = (r0 + kInterleaveRows - 1) / kInterleaveRows * kInterleaveRows;
                    r1 = (r1 + kInterleaveRows - 1) / kInterleaveRows * kInterleaveRows;
                }
                if (r0 < r1) run_rows(i, r0, r1);
            }
            g0 = std::max(g0, e);
        }
    };
    std::atomic<int64_t> next_tile{0};
    pool.run([&](int ith, int) {
        if (decode) {
            if (ith >= n_bands) return;
            int64_t g0, g1;
            while (bands[ith].take_front(g0, g1)) run_task_rows(g0, g1);
            for (int k = 1; k < n_bands; ++k)
                while (bands[(ith + k) % n_bands].take_back(g0, g1)) run_task_rows(g0, g1);
            return;
        }
        // A thread claims its next tile before it runs this one. Packing reads kPackRows rows
        // side by side, a pattern the hardware prefetcher follows poorly, so the next tile's
        // rows are fetched from memory while this one's are packed and multiplied.
        int64_t tile = next_tile.fetch_add(1, std::memory_order_relaxed);
        while (tile < n_tiles) {
            const int64_t following = next_tile.fetch_add(1, std::memory_order_relaxed);
            if (following < n_tiles) {
                const TileRows f = tile_at(following);
                const WeightView& w = tasks[f.task].w;
                if (parts[f.task].packed) prefetch(w.data + f.r0 * w.row_bytes, (f.r1 - f.r0) * w.row_bytes);
            }
            const TileRows c = tile_at(tile);
            run_rows(c.task, c.r0, c.r1);
            tile = following;
        }
    });
}

}  // namespace hearth::kernels
