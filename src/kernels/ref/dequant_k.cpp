// Dequantization of the 256-element K-quant super-blocks Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K.
// Each follows ggml's element order and float expression order, so results match it exactly.
#include <cstring>

#include "base/fp16.h"
#include "kernels/ref/blocks.h"
#include "kernels/ref/convert.h"

namespace hearth::kernels::ref {

// Q2_K and Q3_K share the 2-bit layout: each 32-byte group of qs covers 128 elements as four
// 32-element runs, run k taking bits 2k..2k+1; each run is two 16-element sub-blocks.
void dequantize_row_q2_K(const void* src, float* dst, int64_t n) {
    const auto* x = static_cast<const BlockQ2_K*>(src);
    for (int64_t i = 0; i < n / kQK_K; ++i) {
        const float d = f16_to_f32(x[i].d);
        const float dmin = f16_to_f32(x[i].dmin);
        const uint8_t* q = x[i].qs;
        int is = 0;
        for (int half = 0; half < 2; ++half, q += 32) {
            for (int shift = 0; shift < 8; shift += 2) {
                for (int sub = 0; sub < 2; ++sub, ++is) {
                    const float dl = d * (x[i].scales[is] & 0xF);
                    const float ml = dmin * (x[i].scales[is] >> 4);
                    for (int l = 0; l < 16; ++l) {
                        *dst++ = dl * ((q[l + 16 * sub] >> shift) & 3) - ml;
                    }
                }
            }
        }
    }
}

// Unpacks Q3_K's 16 six-bit scales: bytes 0..7 hold low nibbles (scale s in byte s % 8, the
// high nibble for s >= 8); bytes 8..11 hold the top two bits, 2 bits per scale, byte 8 + s % 4,
// bit pair s / 4.
static void unpack_q3_K_scales(const uint8_t packed[12], int scales[16]) {
    for (int s = 0; s < 16; ++s) {
        const int low = (s < 8) ? (packed[s] & 0xF) : (packed[s - 8] >> 4);
        const int high = (packed[8 + s % 4] >> (2 * (s / 4))) & 3;
        scales[s] = (low | (high << 4)) - 32;
    }
}

void dequantize_row_q3_K(const void* src, float* dst, int64_t n) {
    const auto* x = static_cast<const BlockQ3_K*>(src);
    for (int64_t i = 0; i < n / kQK_K; ++i) {
        const float d = f16_to_f32(x[i].d);
        int scales[16];
        unpack_q3_K_scales(x[i].scales, scales);
        const uint8_t* q = x[i].qs;
        const uint8_t* hm = x[i].hmask;
        int is = 0;
        uint8_t mask = 1;  // hmask bit m belongs to the m-th 32-element run of the block
        for (int half = 0; half < 2; ++half, q += 32) {
            for (int shift = 0; shift < 8; shift += 2, mask <<= 1) {
                for (int sub = 0; sub < 2; ++sub, ++is) {
                    const float dl = d * scales[is];
                    for (int l = 16 * sub; l < 16 * sub + 16; ++l) {
                        // A clear high bit means the value is 4 lower: range [-4, 3].
                        const int v = ((q[l] >> shift) & 3) - ((hm[l] & mask) ? 0 : 4);
                        *dst++ = dl * v;
                    }
                }
            }
        }
    }
}

void dequantize_row_q4_K(const void* src, float* dst, int64_t n) {
    const auto* x = static_cast<const BlockQ4_K*>(src);
    for (int64_t i = 0; i < n / kQK_K; ++i) {
        const float d = f16_to_f32(x[i].d);
        const float dmin = f16_to_f32(x[i].dmin);
        const uint8_t* q = x[i].qs;
        // Each 32 bytes of qs hold 64 elements: the first 32 in low nibbles, next 32 in high.
        for (int is = 0; is < 8; is += 2, q += 32) {
            uint8_t sc, m;
            unpack_scale_min_k4(is, x[i].scales, &sc, &m);
            const float d1 = d * sc, m1 = dmin * m;
            unpack_scale_min_k4(is + 1, x[i].scales, &sc, &m);
            const float d2 = d * sc, m2 = dmin * m;
            for (int l = 0; l < 32; ++l) *dst++ = d1 * (q[l] & 0xF) - m1;
            for (int l = 0; l < 32; ++l) *dst++ = d2 * (q[l] >> 4) - m2;
        }
    }
}

void dequantize_row_q5_K(const void* src, float* dst, int64_t n) {
    const auto* x = static_cast<const BlockQ5_K*>(src);
    for (int64_t i = 0; i < n / kQK_K; ++i) {
        const float d = f16_to_f32(x[i].d);
        const float dmin = f16_to_f32(x[i].dmin);
        const uint8_t* q = x[i].qs;
        const uint8_t* qh = x[i].qh;
        // Sub-block s takes its fifth bit from bit s of qh[l].
        for (int is = 0; is < 8; is += 2, q += 32) {
            uint8_t sc, m;
            unpack_scale_min_k4(is, x[i].scales, &sc, &m);
            const float d1 = d * sc, m1 = dmin * m;
            unpack_scale_min_k4(is + 1, x[i].scales, &sc, &m);
            const float d2 = d * sc, m2 = dmin * m;
            const uint8_t u1 = 1 << is, u2 = 2 << is;
            for (int l = 0; l < 32; ++l)
                *dst++ = d1 * ((q[l] & 0xF) + ((qh[l] & u1) ? 16 : 0)) - m1;
            for (int l = 0; l < 32; ++l) *dst++ = d2 * ((q[l] >> 4) + ((qh[l] & u2) ? 16 : 0)) - m2;
        }
    }
}

// Q6_K: per 128 elements, ql covers 64 bytes (elements l and l+64 share byte l, l+32 and l+96
// share byte l+32) and qh 32 bytes (four 2-bit fields for l, l+32, l+64, l+96).
void dequantize_row_q6_K(const void* src, float* dst, int64_t n) {
    const auto* x = static_cast<const BlockQ6_K*>(src);
    for (int64_t i = 0; i < n / kQK_K; ++i) {
        const float d = f16_to_f32(x[i].d);
        const uint8_t* ql = x[i].ql;
        const uint8_t* qh = x[i].qh;
        const int8_t* sc = x[i].scales;
        for (int half = 0; half < 2; ++half, dst += 128, ql += 64, qh += 32, sc += 8) {
            for (int l = 0; l < 32; ++l) {
                const int is = l / 16;
                const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                // (d * scale) * q, in this order: the reference rounds d * scale first.
                dst[l] = d * sc[is] * q1;
                dst[l + 32] = d * sc[is + 2] * q2;
                dst[l + 64] = d * sc[is + 4] * q3;
                dst[l + 96] = d * sc[is + 6] * q4;
            }
        }
    }
}

void dequantize_row_q8_K(const void* src, float* dst, int64_t n) {
    const auto* x = static_cast<const BlockQ8_K*>(src);
    for (int64_t i = 0; i < n / kQK_K; ++i, dst += kQK_K) {
        for (int j = 0; j < kQK_K; ++j) dst[j] = x[i].d * x[i].qs[j];
    }
}

}  // namespace hearth::kernels::ref
