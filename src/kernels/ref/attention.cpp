// Scalar reference attention kernels over F32, F16 and Q8_0 caches: row and K panel
// conversions, the online-softmax chunk and exp-and-sum. The oracle for the SIMD chunks; plain
// loops, K panels and V rows dequantized to float one at a time, sums in float like the SIMD
// twins.
#include "kernels/ref/attention.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/ref/blocks.h"
#include "kernels/ref/convert.h"

namespace hearth::kernels::ref {

void store_kv_row_f32(const float* src, void* dst, int64_t n) { quantize_row_f32(src, dst, n); }
void store_kv_row_f16(const float* src, void* dst, int64_t n) { quantize_row_f16(src, dst, n); }
void load_kv_row_f32(const void* src, float* dst, int64_t n) { dequantize_row_f32(src, dst, n); }
void load_kv_row_f16(const void* src, float* dst, int64_t n) { dequantize_row_f16(src, dst, n); }

// Whole blocks directly; the last partial block through a zero-padded copy.
void store_kv_row_q8_0(const float* src, void* dst, int64_t n) {
    const int64_t full = n / kQK * kQK;
    quantize_row_q8_0(src, dst, full);
    if (full == n) return;
    float tmp[kQK] = {};
    std::memcpy(tmp, src + full, (n - full) * sizeof(float));
    quantize_row_q8_0(tmp, static_cast<BlockQ8_0*>(dst) + full / kQK, kQK);
}

void load_kv_row_q8_0(const void* src, float* dst, int64_t n) {
    const int64_t full = n / kQK * kQK;
    dequantize_row_q8_0(src, dst, full);
    if (full == n) return;
    float tmp[kQK];
    dequantize_row_q8_0(static_cast<const BlockQ8_0*>(src) + full / kQK, tmp, kQK);
    std::memcpy(dst + full, tmp, (n - full) * sizeof(float));
}

// F32 and F16 panels: element d of position `lane` at d * 16 + lane.
void store_k_f32(const float* src, void* panel, int lane, int64_t n) {
    for (int64_t d = 0; d < n; ++d) static_cast<float*>(panel)[d * kKPanel + lane] = src[d];
}
void store_k_f16(const float* src, void* panel, int lane, int64_t n) {
    uint16_t half[64];  // the row converted a piece at a time, then spread over the panel
    for (int64_t d0 = 0; d0 < n; d0 += 64) {
        const int64_t m = std::min<int64_t>(64, n - d0);
        quantize_row_f16(src + d0, half, m);
        for (int64_t d = 0; d < m; ++d)
            static_cast<uint16_t*>(panel)[(d0 + d) * kKPanel + lane] = half[d];
    }
}
void load_k_f32(const void* panel, float* dst, int64_t n) {
    load_kv_row_f32(panel, dst, n * kKPanel);
}
void load_k_f16(const void* panel, float* dst, int64_t n) {
    load_kv_row_f16(panel, dst, n * kKPanel);
}

// A Q8_0 panel block (32 elements of 16 positions): the positions' scales, then the levels of
// each element for the 16 positions. The same scales and levels as a row's Q8_0 blocks.
struct PanelBlockQ8_0 {
    uint16_t d[kKPanel];
    int8_t qs[kQK][kKPanel];
};
static_assert(sizeof(PanelBlockQ8_0) == kKPanel * sizeof(BlockQ8_0));

void store_k_q8_0(const float* src, void* panel, int lane, int64_t n) {
    auto* pb = static_cast<PanelBlockQ8_0*>(panel);
    for (int64_t b = 0; b * kQK < n; ++b) {
        BlockQ8_0 row;
        store_kv_row_q8_0(src + b * kQK, &row, std::min<int64_t>(kQK, n - b * kQK));
        pb[b].d[lane] = row.d;
        for (int i = 0; i < kQK; ++i) pb[b].qs[i][lane] = row.qs[i];
    }
}

void load_k_q8_0(const void* panel, float* dst, int64_t n) {
    const auto* pb = static_cast<const PanelBlockQ8_0*>(panel);
    float scale[kKPanel];
    for (int64_t d = 0; d < n; ++d) {
        const PanelBlockQ8_0& b = pb[d / kQK];
        if (d % kQK == 0) dequantize_row_f16(b.d, scale, kKPanel);
        for (int j = 0; j < kKPanel; ++j) dst[d * kKPanel + j] = scale[j] * b.qs[d % kQK][j];
    }
}

float exp_sum(float* x, int64_t n, float scale, float max) {
    float sum = 0.0f;
    for (int64_t i = 0; i < n; ++i) sum += (x[i] = std::exp(x[i] * scale - max));
    return sum;
}

namespace {

constexpr int kBlock = 32;  // positions per softmax rescale

template <KLoadFn LoadK, KvLoadFn Load>
void attention_chunk(const AttnRows& rows, const void* k, const void* v, size_t row_bytes,
                     int64_t head_dim, int64_t j0, int64_t j1, float scale) {
    const int64_t D = head_dim;
    const auto* kb = static_cast<const uint8_t*>(k);
    const auto* vb = static_cast<const uint8_t*>(v);
    thread_local std::vector<float> row, panel;  // a dequantized V row (D), K panel (D, 16)
    if (static_cast<int64_t>(row.size()) < D) row.resize(D), panel.resize(D * kKPanel);
    float s[kMaxAttnRows][kBlock];
    int64_t nv[kMaxAttnRows];
    for (int64_t jb = j0; jb < j1; jb += kBlock) {
        const int64_t n_block = std::min<int64_t>(kBlock, j1 - jb);
        int64_t nv_max = 0;
        for (int r = 0; r < rows.n_rows; ++r) {
            nv[r] = std::clamp<int64_t>(rows.n_keys[r] - jb, 0, n_block);
            nv_max = std::max(nv_max, nv[r]);
        }
        if (nv_max == 0) break;  // later blocks are masked for every row too
        for (int64_t jj = 0; jj < nv_max; ++jj) {
            const int64_t j = jb + jj, lane = j % kKPanel;
            if (lane == 0) LoadK(kb + j / kKPanel * kKPanel * row_bytes, panel.data(), D);
            for (int r = 0; r < rows.n_rows; ++r) {
                if (jj >= nv[r]) continue;
                const float* q = rows.q + r * rows.q_stride;
                float dot = 0.0f;
                for (int64_t d = 0; d < D; ++d) dot += q[d] * panel[d * kKPanel + lane];
                s[r][jj] = dot * scale;
            }
        }
        for (int r = 0; r < rows.n_rows; ++r) {
            if (nv[r] == 0) continue;
            const float bm = *std::max_element(s[r], s[r] + nv[r]);
            if (bm > rows.m[r]) {  // rescale the state to the new maximum (exp(-inf) = 0)
                const float f = std::exp(rows.m[r] - bm);
                rows.l[r] *= f;
                for (int64_t d = 0; d < D; ++d) rows.acc[r * D + d] *= f;
                rows.m[r] = bm;
            }
            rows.l[r] += exp_sum(s[r], nv[r], 1.0f, rows.m[r]);
        }
        for (int64_t jj = 0; jj < nv_max; ++jj) {
            Load(vb + (jb + jj) * row_bytes, row.data(), D);
            for (int r = 0; r < rows.n_rows; ++r) {
                if (jj >= nv[r]) continue;
                float* acc = rows.acc + r * D;
                for (int64_t d = 0; d < D; ++d) acc[d] += s[r][jj] * row[d];
            }
        }
    }
}

}  // namespace

void attention_chunk_f32(const AttnRows& rows, const void* k, const void* v, size_t row_bytes,
                         int64_t head_dim, int64_t j0, int64_t j1, float scale) {
    attention_chunk<load_k_f32, load_kv_row_f32>(rows, k, v, row_bytes, head_dim, j0, j1, scale);
}
void attention_chunk_f16(const AttnRows& rows, const void* k, const void* v, size_t row_bytes,
                         int64_t head_dim, int64_t j0, int64_t j1, float scale) {
    attention_chunk<load_k_f16, load_kv_row_f16>(rows, k, v, row_bytes, head_dim, j0, j1, scale);
}
void attention_chunk_q8_0(const AttnRows& rows, const void* k, const void* v, size_t row_bytes,
                          int64_t head_dim, int64_t j0, int64_t j1, float scale) {
    attention_chunk<load_k_q8_0, load_kv_row_q8_0>(rows, k, v, row_bytes, head_dim, j0, j1, scale);
}

}  // namespace hearth::kernels::ref
