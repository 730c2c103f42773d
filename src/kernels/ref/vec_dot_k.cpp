// Reference dot products of the 256-element super-block formats (Q2_K..Q6_K, IQ4_XS) with Q8_K
// activations. Each super-block is unpacked to integer levels in element order (the order of
// dequant_k.cpp), dotted per sub-block in int, weighted by the integer sub-block scales, then
// scaled once by d * d_a. Formats with mins subtract dmin * d_a * sum(min_s * bsum_s).
#include "base/fp16.h"
#include "kernels/ref/blocks.h"
#include "kernels/ref/convert.h"
#include "kernels/ref/vec_dot.h"

namespace hearth::kernels::ref {

namespace {

constexpr int8_t kIq4nlValues[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                     1,    13,   25,  38,  53,  69,  89,  113};

// sum over sub-blocks s of scale[s] * dot(q, a) over sub-block s (len elements each).
int scaled_dot(const int8_t* q, const int8_t* a, const int* scale, int len) {
    int total = 0;
    for (int s = 0; s < kQK_K / len; ++s) {
        int sum = 0;
        for (int l = 0; l < len; ++l) sum += q[s * len + l] * a[s * len + l];
        total += scale[s] * sum;
    }
    return total;
}

// The 2-bit field of element e of a Q2_K/Q3_K super-block (see dequantize_row_q2_K).
int two_bits(const uint8_t* qs, int e) {
    const int half = e / 128, r = e % 128;
    return (qs[32 * half + r % 32] >> (2 * (r / 32))) & 3;
}

// Q4_K and Q5_K: level of element e is its nibble (low for the first 32 of each 64, high for
// the next 32), plus 16 when Q5_K's qh bit e / 32 of byte e % 32 is set.
template <typename Block>
float dot_q45_K(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const Block*>(w);
    const auto* y = static_cast<const BlockQ8_K*>(a);
    float s = 0.0f;
    for (int64_t i = 0; i < n / kQK_K; ++i) {
        int8_t q[kQK_K];
        int sc[8], summ = 0;
        for (int e = 0; e < kQK_K; ++e) {
            const uint8_t byte = x[i].qs[32 * (e / 64) + e % 32];
            int v = (e % 64 < 32) ? (byte & 0xF) : (byte >> 4);
            if constexpr (requires { x[i].qh; }) {
                if (x[i].qh[e % 32] & (1 << (e / 32))) v += 16;
            }
            q[e] = static_cast<int8_t>(v);
        }
        for (int j = 0; j < 8; ++j) {
            uint8_t scale, min;
            unpack_scale_min_k4(j, x[i].scales, &scale, &min);
            sc[j] = scale;
            summ += min * (y[i].bsums[2 * j] + y[i].bsums[2 * j + 1]);
        }
        const int isum = scaled_dot(q, y[i].qs, sc, 32);
        s += y[i].d * f16_to_f32(x[i].d) * isum - y[i].d * f16_to_f32(x[i].dmin) * summ;
    }
    return s;
}

}  // namespace

float vec_dot_q2_K_q8_K(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const BlockQ2_K*>(w);
    const auto* y = static_cast<const BlockQ8_K*>(a);
    float s = 0.0f;
    for (int64_t i = 0; i < n / kQK_K; ++i) {
        int8_t q[kQK_K];
        int sc[16], summ = 0;
        for (int e = 0; e < kQK_K; ++e) q[e] = static_cast<int8_t>(two_bits(x[i].qs, e));
        for (int b = 0; b < 16; ++b) {
            sc[b] = x[i].scales[b] & 0xF;
            summ += (x[i].scales[b] >> 4) * y[i].bsums[b];
        }
        const int isum = scaled_dot(q, y[i].qs, sc, 16);
        s += y[i].d * f16_to_f32(x[i].d) * isum - y[i].d * f16_to_f32(x[i].dmin) * summ;
    }
    return s;
}

float vec_dot_q3_K_q8_K(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const BlockQ3_K*>(w);
    const auto* y = static_cast<const BlockQ8_K*>(a);
    float s = 0.0f;
    for (int64_t i = 0; i < n / kQK_K; ++i) {
        int8_t q[kQK_K];
        int sc[16];
        for (int e = 0; e < kQK_K; ++e) {
            const bool high = x[i].hmask[e % 32] & (1 << (e / 32));
            q[e] = static_cast<int8_t>(two_bits(x[i].qs, e) - (high ? 0 : 4));
        }
        for (int b = 0; b < 16; ++b) {
            const int low = b < 8 ? (x[i].scales[b] & 0xF) : (x[i].scales[b - 8] >> 4);
            const int top = (x[i].scales[8 + b % 4] >> (2 * (b / 4))) & 3;
            sc[b] = (low | (top << 4)) - 32;
        }
        s += y[i].d * f16_to_f32(x[i].d) * scaled_dot(q, y[i].qs, sc, 16);
    }
    return s;
}

float vec_dot_q4_K_q8_K(int64_t n, const void* w, const void* a) {
    return dot_q45_K<BlockQ4_K>(n, w, a);
}

float vec_dot_q5_K_q8_K(int64_t n, const void* w, const void* a) {
    return dot_q45_K<BlockQ5_K>(n, w, a);
}

float vec_dot_q6_K_q8_K(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const BlockQ6_K*>(w);
    const auto* y = static_cast<const BlockQ8_K*>(a);
    float s = 0.0f;
    for (int64_t i = 0; i < n / kQK_K; ++i) {
        int8_t q[kQK_K];
        int sc[16];
        for (int e = 0; e < kQK_K; ++e) {
            // Within each 128-element half, element r takes its low nibble from ql byte r % 64
            // (low nibble for r < 64) and its top two bits from qh byte r % 32, field r / 32.
            const int half = e / 128, r = e % 128;
            const uint8_t l = x[i].ql[64 * half + r % 64];
            const int lo = r < 64 ? (l & 0xF) : (l >> 4);
            const int hi = (x[i].qh[32 * half + r % 32] >> (2 * (r / 32))) & 3;
            q[e] = static_cast<int8_t>((lo | (hi << 4)) - 32);
        }
        for (int b = 0; b < 16; ++b) sc[b] = x[i].scales[b];
        s += y[i].d * f16_to_f32(x[i].d) * scaled_dot(q, y[i].qs, sc, 16);
    }
    return s;
}

float vec_dot_iq4_xs_q8_K(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const BlockIQ4_XS*>(w);
    const auto* y = static_cast<const BlockQ8_K*>(a);
    float s = 0.0f;
    for (int64_t i = 0; i < n / kQK_K; ++i) {
        int8_t q[kQK_K];
        int sc[8];
        for (int e = 0; e < kQK_K; ++e) {
            const uint8_t byte = x[i].qs[16 * (e / 32) + e % 16];
            q[e] = kIq4nlValues[(e % 32 < 16) ? (byte & 0xF) : (byte >> 4)];
        }
        for (int b = 0; b < 8; ++b) {
            const int low = (x[i].scales_l[b / 2] >> (4 * (b % 2))) & 0xF;
            const int top = (x[i].scales_h >> (2 * b)) & 3;
            sc[b] = (low | (top << 4)) - 32;
        }
        s += y[i].d * f16_to_f32(x[i].d) * scaled_dot(q, y[i].qs, sc, 32);
    }
    return s;
}

}  // namespace hearth::kernels::ref
