// One work item of the prompt attention path, written once and compiled three times, like the
// delta rule (deltanet_impl.h): for the baseline target in attention.cpp, with AVX2 + FMA in
// attention_avx2.cpp and with AVX-512 in attention_avx512.cpp. Unnamed namespace: each file
// keeps its own copy.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "kernels/attention.h"
#include "model/tile_gemm.h"

namespace hearth::model {
namespace {

// Keys per step of attend_tile: a step's (rows, keys) scores stay in L2 between the two
// products that use them (64 rows x 256 keys: 64 KiB), where the scores of all keys outgrew it
// (1 MiB at 4096 keys, 8 MiB at 32768): one thread ran a KV head of 16384 tokens 20-25% faster
// so, one of 4096 tokens 6-8%.
constexpr int64_t kKeyStep = 256;

// Floats of attend_tile's scratch for ny rows.
constexpr int64_t attend_scratch(int64_t ny) { return ny * (kKeyStep + 2); }

// ny query rows (q_stride floats apart) against nk keys of one KV head: scores = Q Kᵀ, a causal
// softmax where row i, of token i / group (a token's group query heads share the KV head, so
// their rows are adjacent), sees the first n_first + i / group keys, then out = P V. The
// products are gemm_acc's outer products, which need no horizontal sums, over panels of kPanel
// columns: kT holds the head's keys transposed, panel p (positions kPanel p ...) at
// kT + p * D * kPanel as D rows of kPanel floats; v its values, panel p (dimensions kPanel p
// ...) at v + p * v_panel as one row of kPanel floats per position. The keys go kKeyStep at a
// time with an online softmax: each row keeps its largest scaled score so far and the sum of
// its weights, and its output is rescaled when the largest grows. scratch:
// attend_scratch(ny) floats.
void attend_tile(const float* q, int64_t q_stride, int64_t ny, int64_t group, const float* kT,
                 const float* v, int64_t v_panel, int64_t nk, int64_t n_first, int64_t D, float scale,
                 kernels::ExpSumFn exp_sum, float* scratch, float* out, int64_t out_stride) {
    float* probs = scratch;                    // (ny, n) for the step's n keys
    float* row_max = scratch + ny * kKeyStep;  // per row: largest scaled score so far
    float* row_sum = row_max + ny;             // and the sum of exp(score - row_max)
    std::fill_n(row_max, ny, -INFINITY);
    std::fill_n(row_sum, ny, 0.0f);
    for (int64_t i = 0; i < ny; ++i) std::fill_n(out + i * out_stride, D, 0.0f);
    for (int64_t k0 = 0; k0 < nk; k0 += kKeyStep) {  // k0: a multiple of kPanel
        const int64_t n = std::min(kKeyStep, nk - k0);
        std::fill_n(probs, ny * n, 0.0f);
        gemm_acc(ny, n, D, q, q_stride, kT + k0 * D, kPanel, probs, n, nullptr, D * kPanel);
        for (int64_t i = 0; i < ny; ++i) {
            float* row = probs + i * n;
            const int64_t n_valid = std::clamp<int64_t>(n_first + i / group - k0, 0, n);
            const float m = n_valid > 0 ? max_of(row, n_valid) * scale : -INFINITY;
            if (m > row_max[i]) {  // exp(-inf) = 0: a first step rescales nothing
                const float f = std::exp(row_max[i] - m);
                row_sum[i] *= f;
                for (int64_t d = 0; d < D; ++d) out[i * out_stride + d] *= f;
                row_max[i] = m;
            }
            if (n_valid > 0) row_sum[i] += exp_sum(row, n_valid, scale, row_max[i]);
            std::fill(row + n_valid, row + n, 0.0f);
        }
        gemm_acc(ny, D, n, probs, n, v + k0 * kPanel, kPanel, out, out_stride, nullptr, v_panel);
    }
    for (int64_t i = 0; i < ny; ++i) {
        const float inv = 1.0f / row_sum[i];
        for (int64_t d = 0; d < D; ++d) out[i * out_stride + d] *= inv;
    }
}

}  // namespace
}  // namespace hearth::model
