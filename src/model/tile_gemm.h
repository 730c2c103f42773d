// A small register-tiled float matrix product for the model's own inner loops (DeltaNet
// chunks, prompt attention), written with the GCC/Clang vector extension so that one source
// serves the baseline build (SSE2) and the AVX2 and AVX-512 builds of the files that include it. In an
// unnamed namespace: each including file keeps its own copy, compiled with its own ISA flags.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace hearth::model {
namespace {

// Floats per SIMD register of the build that includes this file: 16 with AVX-512, 8 with AVX2,
// 4 (SSE2) in the baseline build.
#if defined(__AVX512F__)
constexpr int64_t kW = 16;
#elif defined(__AVX__)
constexpr int64_t kW = 8;
#else
constexpr int64_t kW = 4;
#endif

// W floats as one value (GCC/Clang vector extension). Named variables of this type stay in
// registers, where a float array of accumulators would be kept in memory.
template <int64_t W>
struct VecOf {
    typedef float type __attribute__((vector_size(W * sizeof(float))));
};

// Columns per panel of a B stored in panels (see gemm_acc); a multiple of every build's tile.
constexpr int64_t kPanel = 16;

// C (M, N) += A (M, K) · B (K, N), row-major with leading dimensions lda, ldb, ldc; with
// row_scale, row i of A counts row_scale[i] times. A tile of C stays in eight vector registers
// while K streams through: 4 rows x 2 vectors of columns up to AVX2, 8 rows x 1 vector with
// AVX-512 (its 16 columns are one panel).
// With b_panel > 0, B is stored in panels of kPanel columns, b_panel floats apart: element
// (d, c) at B + (c / kPanel) * b_panel + d * ldb + c % kPanel (ldb is then usually kPanel).
// A tile's K x kC slice of B is then contiguous, where a row-major B whose rows lie a multiple
// of 4 KiB apart maps every row of the slice to the same L1 set.
// W is the vector width; the build's own (kW) unless a test asks for another.
template <int64_t W = kW>
void gemm_acc(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb,
              float* C, int64_t ldc, const float* row_scale = nullptr, int64_t b_panel = 0) {
    using Vec = typename VecOf<W>::type;
    constexpr int64_t kR = W == 16 ? 8 : 4, kV = W == 16 ? 1 : 2, kC = kV * W;
    static_assert(kPanel % kC == 0);
    auto scale_of = [&](int64_t i) { return row_scale ? row_scale[i] : 1.0f; };
    auto column = [&](int64_t c) {  // B + column c of row 0
        return b_panel > 0 ? B + (c / kPanel) * b_panel + c % kPanel : B + c;
    };
    // C row i0 + r += the tile's row r (sums of rows past M are dropped).
    auto store = [&](int64_t i0, int64_t nr, int64_t c0, const Vec* tile) {
        for (int64_t r = 0; r < nr; ++r)
            for (int64_t v = 0; v < kV; ++v)
                for (int64_t l = 0; l < W; ++l)
                    C[(i0 + r) * ldc + c0 + v * W + l] += scale_of(i0 + r) * tile[r * kV + v][l];
    };
    // Column tiles outside, row tiles inside: a tile's K x kC slice of B is read from memory
    // once and then served from L1 to every row tile.
    int64_t c0 = 0;
    for (; c0 + kC <= N; c0 += kC) {
        const float* bc = column(c0);
        for (int64_t i0 = 0; i0 < M; i0 += kR) {
            const int64_t nr = std::min(kR, M - i0);
            // Rows past M repeat the last one.
            auto a_row = [&](int64_t r) { return A + (i0 + std::min(r, nr - 1)) * lda; };
            if constexpr (kR == 8) {
                const float *a0 = a_row(0), *a1 = a_row(1), *a2 = a_row(2), *a3 = a_row(3),
                            *a4 = a_row(4), *a5 = a_row(5), *a6 = a_row(6), *a7 = a_row(7);
                Vec c0v = {}, c1v = {}, c2v = {}, c3v = {}, c4v = {}, c5v = {}, c6v = {}, c7v = {};
                for (int64_t d = 0; d < K; ++d) {
                    Vec b;
                    std::memcpy(&b, bc + d * ldb, sizeof b);
                    c0v += a0[d] * b, c1v += a1[d] * b, c2v += a2[d] * b, c3v += a3[d] * b;
                    c4v += a4[d] * b, c5v += a5[d] * b, c6v += a6[d] * b, c7v += a7[d] * b;
                }
                const Vec tile[kR] = {c0v, c1v, c2v, c3v, c4v, c5v, c6v, c7v};
                store(i0, nr, c0, tile);
            } else {
                const float *a0 = a_row(0), *a1 = a_row(1), *a2 = a_row(2), *a3 = a_row(3);
                Vec c00 = {}, c01 = {}, c10 = {}, c11 = {}, c20 = {}, c21 = {}, c30 = {}, c31 = {};
                for (int64_t d = 0; d < K; ++d) {
                    Vec b0, b1;
                    std::memcpy(&b0, bc + d * ldb, sizeof b0);
                    std::memcpy(&b1, bc + d * ldb + W, sizeof b1);
                    c00 += a0[d] * b0, c01 += a0[d] * b1;
                    c10 += a1[d] * b0, c11 += a1[d] * b1;
                    c20 += a2[d] * b0, c21 += a2[d] * b1;
                    c30 += a3[d] * b0, c31 += a3[d] * b1;
                }
                const Vec tile[kR * kV] = {c00, c01, c10, c11, c20, c21, c30, c31};
                store(i0, nr, c0, tile);
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
