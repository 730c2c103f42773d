// A small register-tiled float matrix product for the model's own inner loops (DeltaNet
// chunks, prompt attention) and a row maximum for the prompt attention's softmax, written with
// the GCC/Clang vector extension so that one source serves the baseline build (SSE2) and the
// AVX2 and AVX-512 builds of the files that include it. In an unnamed namespace: each including
// file keeps its own copy, compiled with its own ISA flags.
#pragma once

#include <algorithm>
#include <cmath>
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

// The largest lane of v, by halves: a chain of W scalar maxss would wait out each one's
// latency (64 lanes of four chains cost as much as the 256 scores they came from).
template <int64_t W>
float lane_max(typename VecOf<W>::type v) {
    if constexpr (W == 2) {
        return std::max(v[0], v[1]);
    } else {
        using Half = typename VecOf<W / 2>::type;
        Half lo, hi;
        std::memcpy(&lo, &v, sizeof lo);
        std::memcpy(&hi, reinterpret_cast<const char*>(&v) + sizeof lo, sizeof hi);
        return lane_max<W / 2>(lo < hi ? hi : lo);
    }
}

// The largest of x[0..n) (-inf for none), as std::max over them would give, W lanes at a time
// in four chains (the prompt attention's softmax: a scalar chain waits out each maxss's
// latency, and took 13% of a 4096-token prompt's time). W as in gemm_acc.
template <int64_t W = kW>
float max_of(const float* x, int64_t n) {
    using Vec = typename VecOf<W>::type;
    float m = -INFINITY;
    int64_t j = 0;
    if (n >= W) {
        Vec v[4];
        for (Vec& c : v) std::memcpy(&c, x, sizeof c);
        for (; j + 4 * W <= n; j += 4 * W) {
            for (int c = 0; c < 4; ++c) {
                Vec e;
                std::memcpy(&e, x + j + c * W, sizeof e);
                v[c] = v[c] < e ? e : v[c];
            }
        }
        for (; j + W <= n; j += W) {
            Vec e;
            std::memcpy(&e, x + j, sizeof e);
            v[0] = v[0] < e ? e : v[0];
        }
        const Vec a = v[0] < v[1] ? v[1] : v[0], b = v[2] < v[3] ? v[3] : v[2];
        m = lane_max<W>(a < b ? b : a);
    }
    for (; j < n; ++j) m = std::max(m, x[j]);
    return m;
}

// Columns per panel of a B stored in panels (see gemm_acc); a multiple of every build's tile.
constexpr int64_t kPanel = 16;

// C (M, N) += A (M, K) · B (K, N), row-major with leading dimensions lda, ldb, ldc; with
// row_scale, row i of A counts row_scale[i] times. A tile of C stays in registers while K
// streams through: 4 rows x 2 vectors of columns up to AVX2 (eight registers), 8 rows x 2
// vectors with AVX-512 (sixteen: two FMA pipes of four-cycle latency need eight chains in
// flight, and each broadcast row element then serves two vectors), then 8 x 1 for a last
// 16 columns.
// With b_panel > 0, B is stored in panels of kPanel columns, b_panel floats apart: element
// (d, c) at B + (c / kPanel) * b_panel + d * ldb + c % kPanel (ldb is then usually kPanel).
// A vector's K x W slice of B is then contiguous, where a row-major B whose rows lie a multiple
// of 4 KiB apart maps every row of the slice to the same L1 set.
// W is the vector width; the build's own (kW) unless a test asks for another.
template <int64_t W = kW>
void gemm_acc(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb,
              float* C, int64_t ldc, const float* row_scale = nullptr, int64_t b_panel = 0) {
    using Vec = typename VecOf<W>::type;
    constexpr int64_t kR = W == 16 ? 8 : 4;
    static_assert(kPanel % W == 0);
    auto scale_of = [&](int64_t i) { return row_scale ? row_scale[i] : 1.0f; };
    auto column = [&](int64_t c) {  // B + column c of row 0
        return b_panel > 0 ? B + (c / kPanel) * b_panel + c % kPanel : B + c;
    };
    // C rows i0.. (nr of them), columns c.. c + W += the vectors col[0..nr) (one per row).
    auto store = [&](int64_t i0, int64_t nr, int64_t c, const Vec* col) {
        for (int64_t r = 0; r < nr; ++r)
            for (int64_t l = 0; l < W; ++l) C[(i0 + r) * ldc + c + l] += scale_of(i0 + r) * col[r][l];
    };
    // Columns [c0, c0 + NV * W) for every row: tiles of kR rows x NV vectors. Column tiles
    // outside, row tiles inside: a tile's K x W slices of B are read from memory once and then
    // served from L1 to every row tile.
    auto columns = [&]<int NV>(int64_t c0) {
        const float* b0 = column(c0);
        const float* b1 = NV == 2 ? column(c0 + W) : b0;
        for (int64_t i0 = 0; i0 < M; i0 += kR) {
            const int64_t nr = std::min(kR, M - i0);
            // Rows past M repeat the last one.
            auto a_row = [&](int64_t r) { return A + (i0 + std::min(r, nr - 1)) * lda; };
            if constexpr (kR == 8) {
                const float *a0 = a_row(0), *a1 = a_row(1), *a2 = a_row(2), *a3 = a_row(3),
                            *a4 = a_row(4), *a5 = a_row(5), *a6 = a_row(6), *a7 = a_row(7);
                Vec x0 = {}, x1 = {}, x2 = {}, x3 = {}, x4 = {}, x5 = {}, x6 = {}, x7 = {};
                Vec y0 = {}, y1 = {}, y2 = {}, y3 = {}, y4 = {}, y5 = {}, y6 = {}, y7 = {};
                for (int64_t d = 0; d < K; ++d) {
                    Vec p, q;
                    std::memcpy(&p, b0 + d * ldb, sizeof p);
                    x0 += a0[d] * p, x1 += a1[d] * p, x2 += a2[d] * p, x3 += a3[d] * p;
                    x4 += a4[d] * p, x5 += a5[d] * p, x6 += a6[d] * p, x7 += a7[d] * p;
                    if constexpr (NV == 2) {
                        std::memcpy(&q, b1 + d * ldb, sizeof q);
                        y0 += a0[d] * q, y1 += a1[d] * q, y2 += a2[d] * q, y3 += a3[d] * q;
                        y4 += a4[d] * q, y5 += a5[d] * q, y6 += a6[d] * q, y7 += a7[d] * q;
                    }
                }
                const Vec xs[kR] = {x0, x1, x2, x3, x4, x5, x6, x7};
                store(i0, nr, c0, xs);
                if constexpr (NV == 2) {
                    const Vec ys[kR] = {y0, y1, y2, y3, y4, y5, y6, y7};
                    store(i0, nr, c0 + W, ys);
                }
            } else {
                static_assert(NV == 2);
                const float *a0 = a_row(0), *a1 = a_row(1), *a2 = a_row(2), *a3 = a_row(3);
                Vec x0 = {}, y0 = {}, x1 = {}, y1 = {}, x2 = {}, y2 = {}, x3 = {}, y3 = {};
                for (int64_t d = 0; d < K; ++d) {
                    Vec p, q;
                    std::memcpy(&p, b0 + d * ldb, sizeof p);
                    std::memcpy(&q, b1 + d * ldb, sizeof q);
                    x0 += a0[d] * p, y0 += a0[d] * q;
                    x1 += a1[d] * p, y1 += a1[d] * q;
                    x2 += a2[d] * p, y2 += a2[d] * q;
                    x3 += a3[d] * p, y3 += a3[d] * q;
                }
                const Vec xs[kR] = {x0, x1, x2, x3}, ys[kR] = {y0, y1, y2, y3};
                store(i0, nr, c0, xs);
                store(i0, nr, c0 + W, ys);
            }
        }
    };
    int64_t c0 = 0;
    for (; c0 + 2 * W <= N; c0 += 2 * W) columns.template operator()<2>(c0);
    if constexpr (kR == 8) {
        if (c0 + W <= N) columns.template operator()<1>(c0), c0 += W;
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
