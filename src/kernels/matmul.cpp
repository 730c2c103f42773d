// Threaded weight × activation products. Each thread owns a band of weight rows; a row is
// dequantized once into a thread-local buffer and reused for every token of the batch, so
// prompt evaluation pays the dequantization once per row rather than once per token.
#include "kernels/matmul.h"

#include <algorithm>
#include <vector>

#include "base/status.h"

#include "kernels/kernels.h"

namespace hearth::kernels {

namespace {

// Rows dequantized at a time: 16 rows of up to 16k floats stay within L2.
constexpr int64_t kRowTile = 16;

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

}  // namespace

void get_row(const WeightView& w, int64_t r, float* dst) {
    HEARTH_DCHECK(r >= 0 && r < w.n_out);
    dequantize_row(w.type, w.data + r * w.row_bytes, dst, w.n_in);
}

void matmul(const WeightView& w, const float* x, float* y, int64_t n_tokens, ThreadPool& pool) {
    pool.run([&](int ith, int nth) {
        thread_local std::vector<float> rows;
        Range band = split_range(w.n_out, ith, nth);
        const bool is_f32 = w.type == gguf::TensorType::F32;
        if (!is_f32 && static_cast<int64_t>(rows.size()) < kRowTile * w.n_in)
            rows.resize(kRowTile * w.n_in);
        for (int64_t r0 = band.begin; r0 < band.end; r0 += kRowTile) {
            const int64_t nr = std::min(kRowTile, band.end - r0);
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

}  // namespace hearth::kernels
