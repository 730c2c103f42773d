// Dequantization of the 32-element legacy formats Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 and Q8_1.
// The float expressions (int times scale, then plus min) follow ggml's order exactly.
#include <cstring>

#include "base/fp16.h"
#include "kernels/ref/blocks.h"
#include "kernels/ref/convert.h"

namespace hearth::kernels::ref {

void dequantize_row_q4_0(const void* src, float* dst, int64_t n) {
    const auto* x = static_cast<const BlockQ4_0*>(src);
    for (int64_t i = 0; i < n / kQK; ++i, dst += kQK) {
        const float d = f16_to_f32(x[i].d);
        for (int j = 0; j < kQK / 2; ++j) {
            const int lo = (x[i].qs[j] & 0x0F) - 8;
            const int hi = (x[i].qs[j] >> 4) - 8;
            dst[j] = lo * d;
            dst[j + kQK / 2] = hi * d;
        }
    }
}

void dequantize_row_q4_1(const void* src, float* dst, int64_t n) {
    const auto* x = static_cast<const BlockQ4_1*>(src);
    for (int64_t i = 0; i < n / kQK; ++i, dst += kQK) {
        const float d = f16_to_f32(x[i].d);
        const float m = f16_to_f32(x[i].m);
        for (int j = 0; j < kQK / 2; ++j) {
            const int lo = x[i].qs[j] & 0x0F;
            const int hi = x[i].qs[j] >> 4;
            dst[j] = lo * d + m;
            dst[j + kQK / 2] = hi * d + m;
        }
    }
}

// Bit 4 of element j (j < 16) is qh bit j; of element j + 16 it is qh bit j + 16.
static inline void q5_high_bits(const uint8_t qh_bytes[4], int j, int* lo_bit, int* hi_bit) {
    uint32_t qh;
    std::memcpy(&qh, qh_bytes, sizeof(qh));
    *lo_bit = ((qh >> j) & 1) << 4;
    *hi_bit = ((qh >> (j + 16)) & 1) << 4;
}

void dequantize_row_q5_0(const void* src, float* dst, int64_t n) {
    const auto* x = static_cast<const BlockQ5_0*>(src);
    for (int64_t i = 0; i < n / kQK; ++i, dst += kQK) {
        const float d = f16_to_f32(x[i].d);
        for (int j = 0; j < kQK / 2; ++j) {
            int lo_bit, hi_bit;
            q5_high_bits(x[i].qh, j, &lo_bit, &hi_bit);
            const int lo = ((x[i].qs[j] & 0x0F) | lo_bit) - 16;
            const int hi = ((x[i].qs[j] >> 4) | hi_bit) - 16;
            dst[j] = lo * d;
            dst[j + kQK / 2] = hi * d;
        }
    }
}

void dequantize_row_q5_1(const void* src, float* dst, int64_t n) {
    const auto* x = static_cast<const BlockQ5_1*>(src);
    for (int64_t i = 0; i < n / kQK; ++i, dst += kQK) {
        const float d = f16_to_f32(x[i].d);
        const float m = f16_to_f32(x[i].m);
        for (int j = 0; j < kQK / 2; ++j) {
            int lo_bit, hi_bit;
            q5_high_bits(x[i].qh, j, &lo_bit, &hi_bit);
            const int lo = (x[i].qs[j] & 0x0F) | lo_bit;
            const int hi = (x[i].qs[j] >> 4) | hi_bit;
            dst[j] = lo * d + m;
            dst[j + kQK / 2] = hi * d + m;
        }
    }
}

void dequantize_row_q8_0(const void* src, float* dst, int64_t n) {
    const auto* x = static_cast<const BlockQ8_0*>(src);
    for (int64_t i = 0; i < n / kQK; ++i, dst += kQK) {
        const float d = f16_to_f32(x[i].d);
        for (int j = 0; j < kQK; ++j) dst[j] = x[i].qs[j] * d;
    }
}

void dequantize_row_q8_1(const void* src, float* dst, int64_t n) {
    const auto* x = static_cast<const BlockQ8_1*>(src);
    for (int64_t i = 0; i < n / kQK; ++i, dst += kQK) {
        const float d = f16_to_f32(x[i].d);
        for (int j = 0; j < kQK; ++j) dst[j] = x[i].qs[j] * d;
    }
}

}  // namespace hearth::kernels::ref
