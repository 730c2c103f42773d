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

// Softmax of the first n_valid raw scores of row at `scale`; the rest of the n entries become 0.
void softmax_row(float* row, int64_t n_valid, int64_t n, float scale, kernels::ExpSumFn exp_sum) {
    const float max_s = max_of(row, n_valid);
    const float inv = 1.0f / exp_sum(row, n_valid, scale, max_s * scale);
    for (int64_t j = 0; j < n_valid; ++j) row[j] *= inv;
    std::fill(row + n_valid, row + n, 0.0f);
}

// ny query rows (q_stride floats apart) against nk keys of one KV head: scores = Q Kᵀ, a causal
// softmax where row i, of token i / group (a token's group query heads share the KV head, so
// their rows are adjacent), sees the first n_first + i / group keys, then out = P V. The
// products are gemm_acc's outer products, which need no horizontal sums, over panels of kPanel
// columns: kT holds the head's keys transposed, panel p (positions kPanel p ...) at
// kT + p * D * kPanel as D rows of kPanel floats; v its values, panel p (dimensions kPanel p
// ...) at v + p * v_panel as one row of kPanel floats per position. probs: room for ny * nk.
void attend_tile(const float* q, int64_t q_stride, int64_t ny, int64_t group, const float* kT,
                 const float* v, int64_t v_panel, int64_t nk, int64_t n_first, int64_t D, float scale,
                 kernels::ExpSumFn exp_sum, float* probs, float* out, int64_t out_stride) {
    std::fill_n(probs, ny * nk, 0.0f);
    gemm_acc(ny, nk, D, q, q_stride, kT, kPanel, probs, nk, nullptr, D * kPanel);
    for (int64_t i = 0; i < ny; ++i) {
        softmax_row(probs + i * nk, n_first + i / group, nk, scale, exp_sum);
        std::fill_n(out + i * out_stride, D, 0.0f);
    }
    gemm_acc(ny, D, nk, probs, nk, v, kPanel, out, out_stride, nullptr, v_panel);
}

}  // namespace
}  // namespace hearth::model
