// Reference-accurate float implementations; accumulation in double where a long sum over
// the embedding would otherwise drift (norms), float elsewhere.
#include "model/blocks.h"

#include <algorithm>
#include <cmath>

#include "kernels/dispatch.h"

namespace hearth::model::blocks {

void rmsnorm(const float* x, const float* w, float* out, int64_t n_rows, int64_t dim, float eps) {
    for (int64_t r = 0; r < n_rows; ++r) {
        const float* xr = x + r * dim;
        float* o = out + r * dim;
        double ss = 0;
        for (int64_t i = 0; i < dim; ++i) ss += static_cast<double>(xr[i]) * xr[i];
        const float scale = static_cast<float>(1.0 / std::sqrt(ss / dim + eps));
        for (int64_t i = 0; i < dim; ++i) o[i] = xr[i] * scale * (w ? w[i] : 1.0f);
    }
}

Rope make_rope(RopeStyle style, int64_t n_rot, float base, const float* freq_factors) {
    Rope r{.style = style, .n_rot = n_rot, .inv_freq = {}};
    r.inv_freq.resize(n_rot / 2);
    for (int64_t i = 0; i < n_rot / 2; ++i) {
        double f = std::pow(static_cast<double>(base), -2.0 * i / n_rot);
        r.inv_freq[i] = freq_factors ? f / freq_factors[i] : f;
    }
    return r;
}

Rope make_rope_multi_section(int64_t n_rot, float base, const int64_t sections[4]) {
    Rope r = make_rope(RopeStyle::Neox, n_rot, base, nullptr);
    const int64_t total = sections[0] + sections[1] + sections[2] + sections[3];
    for (int64_t i = 0; total > 0 && i < n_rot / 2; ++i) {
        const int64_t sec = i % total;
        const bool positional = (sec % 3 == 0 && sec < 3 * sections[0]) ||
                                (sec % 3 == 1 && sec < 3 * sections[1]) ||
                                (sec % 3 == 2 && sec < 3 * sections[2]);
        if (!positional) r.inv_freq[i] = 0.0;
    }
    return r;
}

void apply_rope(const Rope& rope, float* x, int64_t n_tokens, int64_t n_heads, int64_t head_dim,
                int64_t pos0) {
    const int64_t half = rope.n_rot / 2;
    for (int64_t t = 0; t < n_tokens; ++t) {
        const double pos = static_cast<double>(pos0 + t);
        for (int64_t i = 0; i < half; ++i) {
            const double theta = pos * rope.inv_freq[i];
            const float c = static_cast<float>(std::cos(theta));
            const float s = static_cast<float>(std::sin(theta));
            const int64_t i0 = rope.style == RopeStyle::Norm ? 2 * i : i;
            const int64_t i1 = rope.style == RopeStyle::Norm ? 2 * i + 1 : i + half;
            for (int64_t h = 0; h < n_heads; ++h) {
                float* v = x + (t * n_heads + h) * head_dim;
                const float a = v[i0], b = v[i1];
                v[i0] = a * c - b * s;
                v[i1] = a * s + b * c;
            }
        }
    }
}

namespace {

// The float dot/gemm kernels of the active ISA (scalar ones for the exact path).
const kernels::MatmulKernels& f32_kernels() {
    kernels::Isa isa = kernels::current_isa();
    if (isa == kernels::Isa::Exact) isa = kernels::Isa::Ref;
    return *kernels::matmul_kernels(gguf::TensorType::F32, isa);
}

// Softmax of the first n_valid scores of row (scaled first); the rest of the n entries become 0.
void softmax_row(float* row, int64_t n_valid, int64_t n, float scale) {
    float max_s = -INFINITY;
    for (int64_t j = 0; j < n_valid; ++j) max_s = std::max(max_s, row[j] *= scale);
    double sum = 0;
    for (int64_t j = 0; j < n_valid; ++j) sum += (row[j] = std::exp(row[j] - max_s));
    const float inv = static_cast<float>(1.0 / sum);
    for (int64_t j = 0; j < n_valid; ++j) row[j] *= inv;
    std::fill(row + n_valid, row + n, 0.0f);
}

// Decode: one (token, head) at a time, keys dotted one by one, values accumulated in place.
void attention_rows(const float* q, const float* k_cache, const float* v_cache, float* out,
                    int64_t n_tokens, int64_t pos0, const AttentionShape& shape, ThreadPool& pool) {
    const int64_t H = shape.n_head, Hkv = shape.n_head_kv, D = shape.head_dim, group = H / Hkv;
    const float scale = 1.0f / std::sqrt(static_cast<float>(D));
    const kernels::MatmulKernels& kf = f32_kernels();
    pool.run([&](int ith, int nth) {
        thread_local std::vector<float> scores;
        Range work = split_range(n_tokens * H, ith, nth);
        for (int64_t item = work.begin; item < work.end; ++item) {
            const int64_t t = item / H, h = item % H, hk = h / group, n_keys = pos0 + t + 1;
            if (static_cast<int64_t>(scores.size()) < n_keys) scores.resize(n_keys);
            const float* qh = q + (t * H + h) * D;
            for (int64_t j = 0; j < n_keys; ++j)
                scores[j] = kf.vec_dot(D, k_cache + (j * Hkv + hk) * D, qh);
            softmax_row(scores.data(), n_keys, n_keys, scale);
            float* o = out + (t * H + h) * D;
            std::fill(o, o + D, 0.0f);
            for (int64_t j = 0; j < n_keys; ++j) {
                const float p = scores[j];
                const float* vj = v_cache + (j * Hkv + hk) * D;
                for (int64_t d = 0; d < D; ++d) o[d] += p * vj[d];
            }
        }
    });
}

// Prefill: tiles of tokens per head. Scores are a gemm of the tile's queries against the
// keys; with V transposed to (Hkv, D, n_keys), the outputs are a gemm against the
// probabilities, so both halves run on the matmul kernels.
void attention_tiles(const float* q, const float* k_cache, const float* v_cache, float* out,
                     int64_t n_tokens, int64_t pos0, const AttentionShape& shape,
                     ThreadPool& pool) {
    const int64_t H = shape.n_head, Hkv = shape.n_head_kv, D = shape.head_dim, group = H / Hkv;
    const int64_t n_all = pos0 + n_tokens;
    const float scale = 1.0f / std::sqrt(static_cast<float>(D));
    const kernels::MatmulKernels& kf = f32_kernels();
    const int tile = std::min(kf.gemm_tokens, kernels::kMaxGemmTokens);
    thread_local std::vector<float> vt;  // (Hkv, D, n_all); grows, never shrinks
    if (static_cast<int64_t>(vt.size()) < Hkv * D * n_all) vt.resize(Hkv * D * n_all);
    float* vtp = vt.data();
    pool.run([&](int ith, int nth) {
        Range rows = split_range(Hkv * D, ith, nth);
        for (int64_t r = rows.begin; r < rows.end; ++r) {
            const int64_t hk = r / D, d = r % D;
            for (int64_t j = 0; j < n_all; ++j) vtp[r * n_all + j] = v_cache[(j * Hkv + hk) * D + d];
        }
    });
    const int64_t n_tiles = (n_tokens + tile - 1) / tile;
    pool.run([&](int ith, int nth) {
        thread_local std::vector<float> probs;
        Range work = split_range(n_tiles * H, ith, nth);
        for (int64_t item = work.begin; item < work.end; ++item) {
            const int64_t h = item % H, hk = h / group, t0 = (item / H) * tile;
            const int ny = static_cast<int>(std::min<int64_t>(tile, n_tokens - t0));
            const int64_t nk = pos0 + t0 + ny;  // keys the tile's last token sees
            if (static_cast<int64_t>(probs.size()) < ny * nk) probs.resize(ny * nk);
            kf.gemm(D, k_cache + hk * D, Hkv * D * sizeof(float), nk, q + (t0 * H + h) * D,
                    H * D * sizeof(float), ny, probs.data(), nk);
            for (int i = 0; i < ny; ++i) softmax_row(probs.data() + i * nk, pos0 + t0 + i + 1, nk, scale);
            kf.gemm(nk, vtp + hk * D * n_all, n_all * sizeof(float), D, probs.data(),
                    nk * sizeof(float), ny, out + (t0 * H + h) * D, H * D);
        }
    });
}

}  // namespace

void attention(const float* q, const float* k_cache, const float* v_cache, float* out,
               int64_t n_tokens, int64_t pos0, const AttentionShape& shape, ThreadPool& pool) {
    if (n_tokens < 4) attention_rows(q, k_cache, v_cache, out, n_tokens, pos0, shape, pool);
    else attention_tiles(q, k_cache, v_cache, out, n_tokens, pos0, shape, pool);
}

void swiglu(float* gate, const float* up, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
        const float g = gate[i];
        gate[i] = g / (1.0f + std::exp(-g)) * up[i];
    }
}

void add_bias(float* x, const float* b, int64_t n_rows, int64_t dim) {
    for (int64_t r = 0; r < n_rows; ++r) add(x + r * dim, b, dim);
}

void add(float* x, const float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) x[i] += y[i];
}

}  // namespace hearth::model::blocks
