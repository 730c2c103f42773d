// Reference quantizers for the 32-element formats Q4_0, Q8_0 and Q8_1: one scale per block,
// round to nearest. No importance weighting; Q4_1/Q5_x are not produced (read-only types).
#include <algorithm>
#include <cmath>

#include "base/fp16.h"
#include "kernels/ref/blocks.h"
#include "kernels/ref/convert.h"

namespace hearth::kernels::ref {

static inline int round_to_int(float v) { return static_cast<int>(std::nearbyint(v)); }

// Scale d = amax / 127, stored as F16; the quants use 127 / amax, not the rounded d. This is
// the reference engine's x86 activation quantizer, so products on quantized activations see
// the same integers it does (the golden logits are then reproduced far more closely).
static float quantize_q8_block(const float* x, int8_t* qs, uint16_t* d_bits) {
    float amax = 0.0f;
    for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127.0f;
    *d_bits = f32_to_f16(d);
    const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
    for (int j = 0; j < kQK; ++j)
        qs[j] = static_cast<int8_t>(std::clamp(round_to_int(x[j] * id), -127, 127));
    return d;
}

void quantize_row_q8_0(const float* src, void* dst, int64_t n) {
    auto* y = static_cast<BlockQ8_0*>(dst);
    for (int64_t i = 0; i < n / kQK; ++i, src += kQK) quantize_q8_block(src, y[i].qs, &y[i].d);
}

void quantize_row_q8_1(const float* src, void* dst, int64_t n) {
    auto* y = static_cast<BlockQ8_1*>(dst);
    for (int64_t i = 0; i < n / kQK; ++i, src += kQK) {
        const float d = quantize_q8_block(src, y[i].qs, &y[i].d);
        int sum = 0;
        for (int j = 0; j < kQK; ++j) sum += y[i].qs[j];
        y[i].s = f32_to_f16(d * static_cast<float>(sum));
    }
}

// The element of largest magnitude maps to level 0 (value -8 d), so its sign picks the sign of
// d and the asymmetric range [-8, 7] spends its extra level on the largest value.
void quantize_row_q4_0(const float* src, void* dst, int64_t n) {
    auto* y = static_cast<BlockQ4_0*>(dst);
    for (int64_t i = 0; i < n / kQK; ++i, src += kQK) {
        float amax = 0.0f, vmax = 0.0f;
        for (int j = 0; j < kQK; ++j) {
            if (std::fabs(src[j]) > amax) {
                amax = std::fabs(src[j]);
                vmax = src[j];
            }
        }
        y[i].d = f32_to_f16(vmax / -8.0f);
        const float d = f16_to_f32(y[i].d);
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        for (int j = 0; j < kQK / 2; ++j) {
            const int lo = std::clamp(round_to_int(src[j] * id) + 8, 0, 15);
            const int hi = std::clamp(round_to_int(src[j + kQK / 2] * id) + 8, 0, 15);
            y[i].qs[j] = static_cast<uint8_t>(lo | (hi << 4));
        }
    }
}

}  // namespace hearth::kernels::ref
