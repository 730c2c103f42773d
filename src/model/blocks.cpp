// Reference-accurate float implementations; accumulation in double where a long sum over
// the embedding would otherwise drift (norms), float elsewhere. SwiGLU and the norms' sums of
// squares run on the ISA's kernels (kernels/activation.h). Attention is in attention.cpp.
#include "model/blocks.h"

#include <algorithm>
#include <cmath>

#include "kernels/activation.h"

namespace hearth::model::blocks {

void rmsnorm(const float* x, const float* w, float* out, int64_t n_rows, int64_t dim, float eps) {
    const auto sum_squares = kernels::activation_kernels(kernels::current_isa()).sum_squares;
    for (int64_t r = 0; r < n_rows; ++r) {
        const float* xr = x + r * dim;
        float* o = out + r * dim;
        const double ss = sum_squares(xr, dim);
        const float scale = static_cast<float>(1.0 / std::sqrt(ss / dim + eps));
        if (w) {
            for (int64_t i = 0; i < dim; ++i) o[i] = xr[i] * scale * w[i];
        } else {
            for (int64_t i = 0; i < dim; ++i) o[i] = xr[i] * scale;
        }
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

void rope_angles(const Rope& rope, int64_t pos0, int64_t n_tokens, float* cs) {
    const int64_t half = rope.n_rot / 2;
    for (int64_t t = 0; t < n_tokens; ++t) {
        const double pos = static_cast<double>(pos0 + t);
        float* c = cs + t * rope.n_rot;
        for (int64_t i = 0; i < half; ++i) {
            const double theta = pos * rope.inv_freq[i];
            c[i] = static_cast<float>(std::cos(theta));
            c[half + i] = static_cast<float>(std::sin(theta));
        }
    }
}

void apply_rope(const Rope& rope, const float* cs, float* x, int64_t n_tokens, int64_t n_heads,
                int64_t head_dim) {
    const int64_t half = rope.n_rot / 2;
    for (int64_t t = 0; t < n_tokens; ++t) {
        const float* c = cs + t * rope.n_rot;
        const float* s = c + half;
        for (int64_t h = 0; h < n_heads; ++h) {
            float* v = x + (t * n_heads + h) * head_dim;
            if (rope.style == RopeStyle::Neox) {  // pairs (i, i + half): runs along i
                for (int64_t i = 0; i < half; ++i) {
                    const float a = v[i], b = v[half + i];
                    v[i] = a * c[i] - b * s[i];
                    v[half + i] = a * s[i] + b * c[i];
                }
            } else {
                for (int64_t i = 0; i < half; ++i) {
                    const float a = v[2 * i], b = v[2 * i + 1];
                    v[2 * i] = a * c[i] - b * s[i];
                    v[2 * i + 1] = a * s[i] + b * c[i];
                }
            }
        }
    }
}

void swiglu(float* gate, const float* up, int64_t n) {
    kernels::activation_kernels(kernels::current_isa()).swiglu(gate, up, n);
}

void add_bias(float* x, const float* b, int64_t n_rows, int64_t dim) {
    for (int64_t r = 0; r < n_rows; ++r) add(x + r * dim, b, dim);
}

void add(float* x, const float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) x[i] += y[i];
}

void rmsnorm(const float* x, const float* w, float* out, int64_t n_rows, int64_t dim, float eps,
             ThreadPool& pool) {
    pool.for_range(n_rows, dim, [&](int64_t r0, int64_t r1) {
        rmsnorm(x + r0 * dim, w, out + r0 * dim, r1 - r0, dim, eps);
    });
}

// fn(begin, end) over the elements [0, n) of two-input element-wise steps, shared out in whole
// 64-byte lines so the threads' shares do not split one.
template <typename Fn>
void for_elements(ThreadPool& pool, int64_t n, Fn fn) {
    constexpr int64_t kLine = 16;
    pool.for_range((n + kLine - 1) / kLine, 3 * kLine, [&](int64_t l0, int64_t l1) {
        fn(l0 * kLine, std::min(n, l1 * kLine));
    });
}

void swiglu(float* gate, const float* up, int64_t n, ThreadPool& pool) {
    for_elements(pool, n, [&](int64_t b, int64_t e) { swiglu(gate + b, up + b, e - b); });
}

void add(float* x, const float* y, int64_t n, ThreadPool& pool) {
    for_elements(pool, n, [&](int64_t b, int64_t e) { add(x + b, y + b, e - b); });
}

}  // namespace hearth::model::blocks
