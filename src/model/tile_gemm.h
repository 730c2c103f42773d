// A small register-tiled float matrix product for the model's own inner loops (DeltaNet
// chunks, prompt attention), written with the GCC/Clang vector extension so that one source
// serves the baseline build (SSE2) and the AVX2 build of the files that include it. In an
// unnamed namespace: each including file keeps its own copy, compiled with its own ISA flags.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace hearth::model {
namespace {

// One SIMD register of floats as a value (GCC/Clang vector extension): 8 in the AVX2 build,
// 4 (SSE2) in the baseline one. Named variables of this type stay in registers, where a float
// array of accumulators would be kept in memory.
#ifdef __AVX__
constexpr int64_t kW = 8;
#else
constexpr int64_t kW = 4;
#endif
typedef float Vec __attribute__((vector_size(kW * sizeof(float))));

// c[0..kW) += scale * v.
inline void add_scaled(float* c, const Vec& v, float scale) {
    for (int64_t l = 0; l < kW; ++l) c[l] += scale * v[l];
}

// Columns per panel of a B stored in panels (see gemm_acc); a multiple of every build's tile.
constexpr int64_t kPanel = 16;

// C (M, N) += A (M, K) · B (K, N), row-major with leading dimensions lda, ldb, ldc; with
// row_scale, row i of A counts row_scale[i] times. Tiles of 4 rows x 2 vectors of columns stay
// in eight vector registers while K streams through.
// With b_panel > 0, B is stored in panels of kPanel columns, b_panel floats apart: element
// (d, c) at B + (c / kPanel) * b_panel + d * ldb + c % kPanel (ldb is then usually kPanel).
// A tile's K x kC slice of B is then contiguous, where a row-major B whose rows lie a multiple
// of 4 KiB apart maps every row of the slice to the same L1 set.
void gemm_acc(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb,
              float* C, int64_t ldc, const float* row_scale = nullptr, int64_t b_panel = 0) {
    constexpr int64_t kR = 4, kC = 2 * kW;
    static_assert(kPanel % kC == 0);
    auto scale_of = [&](int64_t i) { return row_scale ? row_scale[i] : 1.0f; };
    auto column = [&](int64_t c) {  // B + column c of row 0
        return b_panel > 0 ? B + (c / kPanel) * b_panel + c % kPanel : B + c;
    };
    // Column tiles outside, row tiles inside: a tile's K x kC slice of B is read from memory
    // once and then served from L1 to every row tile.
    int64_t c0 = 0;
    for (; c0 + kC <= N; c0 += kC) {
        const float* bc = column(c0);
        for (int64_t i0 = 0; i0 < M; i0 += kR) {
            const int64_t nr = std::min(kR, M - i0);
            // Rows past M repeat the last one; their sums are dropped.
            const float* a0 = A + i0 * lda;
            const float* a1 = A + (i0 + std::min<int64_t>(1, nr - 1)) * lda;
            const float* a2 = A + (i0 + std::min<int64_t>(2, nr - 1)) * lda;
            const float* a3 = A + (i0 + std::min<int64_t>(3, nr - 1)) * lda;
            Vec c00 = {}, c01 = {}, c10 = {}, c11 = {}, c20 = {}, c21 = {}, c30 = {}, c31 = {};
            for (int64_t d = 0; d < K; ++d) {
                Vec b0, b1;
                std::memcpy(&b0, bc + d * ldb, sizeof b0);
                std::memcpy(&b1, bc + d * ldb + kW, sizeof b1);
                c00 += a0[d] * b0, c01 += a0[d] * b1;
                c10 += a1[d] * b0, c11 += a1[d] * b1;
                c20 += a2[d] * b0, c21 += a2[d] * b1;
                c30 += a3[d] * b0, c31 += a3[d] * b1;
            }
            const Vec tile[kR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}};
            for (int64_t r = 0; r < nr; ++r) {
                add_scaled(C + (i0 + r) * ldc + c0, tile[r][0], scale_of(i0 + r));
                add_scaled(C + (i0 + r) * ldc + c0 + kW, tile[r][1], scale_of(i0 + r));
            }
        }
    }
    for (; c0 < N; ++c0)  // columns past the last full tile
        for (int64_t i = 0; i < M; ++i) {
            const float* bc = column(c0);
            float sum = 0;
            for (int64_t d = 0; d < K; ++d) sum += A[i * lda + d] * bc[d * ldb];
            C[i * ldc + c0] += scale_of(i) * sum;
        }
}

}  // namespace
}  // namespace hearth::model
