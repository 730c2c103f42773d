// Random weight rows of any type for the kernel tests: quantized from Gaussian rows where hearth
// can quantize the type, otherwise random bytes with each block's f16 scales set to small sane
// values (random bits would give NaN and infinite scales).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "base/fp16.h"
#include "gguf/types.h"
#include "kernels/kernels.h"
#include "kernels/ref/blocks.h"

namespace hearth::kernels::testing {

inline size_t row_bytes(gguf::TensorType t, int64_t n) {
    const auto tr = gguf::traits(t);
    return static_cast<size_t>(n / tr.block_size * tr.block_bytes);
}

inline std::vector<float> gaussian(size_t count, std::mt19937& rng, float offset = 0.0f) {
    std::normal_distribution<float> g(0.0f, 1.0f);
    std::vector<float> v(count);
    for (auto& x : v) x = g(rng) + offset;
    return v;
}

// 1000 floats for checks of roundings to F16 and BF16: Gaussian values up to a few thousand,
// with ties, subnormals, overflow, infinities and NaN both on 16-lane steps and in the tail
// (1000 = 62 * 16 + 8).
inline std::vector<float> rounding_cases() {
    std::mt19937 rng(8);
    std::vector<float> x = gaussian(1000, rng);
    for (float& v : x) v *= 1000.0f;  // past the largest half too
    const uint32_t bits[] = {0x3f800fff, 0x3f801000, 0x3f803000, 0x3f808000, 0x3f818000,
                             0x33000000, 0x33000001, 0x38800000, 0x387fffff, 0x477fefff,
                             0x477ff000, 0x7f800000, 0xff800000, 0x7fc00001, 0x00000001,
                             0x80000000, 0x3f7fffff};
    for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); ++i) {
        std::memcpy(&x[3 * i], &bits[i], 4);
        std::memcpy(&x[x.size() - 1 - i], &bits[i], 4);
    }
    return x;
}

// The first element of got that is not ref's rounding of x to t (F16 or BF16) widened back to
// a float, bit for bit (any NaN for a NaN); -1 when there is none.
inline int64_t first_unlike_widened_rounding(gguf::TensorType t, const std::vector<float>& x,
                                            const float* got) {
    const int64_t n = static_cast<int64_t>(x.size());
    std::vector<uint16_t> h(n);
    quantize_row(t, x.data(), h.data(), n);
    for (int64_t i = 0; i < n; ++i) {
        const float want = t == gguf::TensorType::F16 ? f16_to_f32(h[i]) : bf16_to_f32(h[i]);
        if (want != want) {
            if (got[i] == got[i]) return i;
            continue;
        }
        if (std::memcmp(&got[i], &want, 4) != 0) return i;
    }
    return -1;
}

// nr rows of n weights of type t, row after row.
inline std::vector<uint8_t> make_weights(gguf::TensorType t, int64_t nr, int64_t n,
                                         std::mt19937& rng) {
    const size_t rb = row_bytes(t, n);
    std::vector<uint8_t> w(rb * nr);
    if (can_quantize(t)) {
        const std::vector<float> x = gaussian(static_cast<size_t>(nr * n), rng, 0.3f);
        for (int64_t r = 0; r < nr; ++r) quantize_row(t, x.data() + r * n, w.data() + r * rb, n);
        return w;
    }
    for (auto& b : w) b = static_cast<uint8_t>(rng());
    const auto tr = gguf::traits(t);
    for (size_t off = 0; off < w.size(); off += tr.block_bytes) {
        for (size_t at : half_scale_offsets(t)) {
            const uint16_t h = f32_to_f16(std::uniform_real_distribution<float>(0.001f, 0.02f)(rng));
            std::memcpy(w.data() + off + at, &h, 2);
        }
    }
    return w;
}

}  // namespace hearth::kernels::testing
