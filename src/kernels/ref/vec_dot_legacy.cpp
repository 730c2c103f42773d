// Reference dot products of the 32-element formats (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL) with
// Q8_0 or Q8_1 activations: each block's weights are unpacked to integer levels, dotted in int,
// then scaled. Q4_1/Q5_1 add m * s, where Q8_1's s = d_a * sum(a) carries the activation sum.
#include <cstring>

#include "base/fp16.h"
#include "kernels/ref/blocks.h"
#include "kernels/ref/vec_dot.h"

namespace hearth::kernels::ref {

namespace {

constexpr int8_t kIq4nlValues[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                     1,    13,   25,  38,  53,  69,  89,  113};

int dot32(const int8_t* q, const int8_t* a) {
    int s = 0;
    for (int j = 0; j < kQK; ++j) s += q[j] * a[j];
    return s;
}

// Element j from the low nibble of qs[j], element j + 16 from the high nibble, plus bit 4 from
// the qh word when present, minus the format's offset.
void unpack_nibbles(const uint8_t* qs, const uint8_t* qh_bytes, int offset, int8_t* q) {
    uint32_t qh = 0;
    if (qh_bytes != nullptr) std::memcpy(&qh, qh_bytes, 4);
    for (int j = 0; j < kQK / 2; ++j) {
        q[j] = static_cast<int8_t>(((qs[j] & 0xF) | (((qh >> j) & 1) << 4)) - offset);
        q[j + 16] = static_cast<int8_t>(((qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4)) - offset);
    }
}

}  // namespace

float vec_dot_q8_0_q8_0(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const BlockQ8_0*>(w);
    const auto* y = static_cast<const BlockQ8_0*>(a);
    float s = 0.0f;
    for (int64_t i = 0; i < n / kQK; ++i) {
        s +=
            static_cast<float>(dot32(x[i].qs, y[i].qs)) * (f16_to_f32(x[i].d) * f16_to_f32(y[i].d));
    }
    return s;
}

float vec_dot_q4_0_q8_0(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const BlockQ4_0*>(w);
    const auto* y = static_cast<const BlockQ8_0*>(a);
    float s = 0.0f;
    for (int64_t i = 0; i < n / kQK; ++i) {
        int8_t q[kQK];
        unpack_nibbles(x[i].qs, nullptr, 8, q);
        s += static_cast<float>(dot32(q, y[i].qs)) * (f16_to_f32(x[i].d) * f16_to_f32(y[i].d));
    }
    return s;
}

float vec_dot_q5_0_q8_0(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const BlockQ5_0*>(w);
    const auto* y = static_cast<const BlockQ8_0*>(a);
    float s = 0.0f;
    for (int64_t i = 0; i < n / kQK; ++i) {
        int8_t q[kQK];
        unpack_nibbles(x[i].qs, x[i].qh, 16, q);
        s += static_cast<float>(dot32(q, y[i].qs)) * (f16_to_f32(x[i].d) * f16_to_f32(y[i].d));
    }
    return s;
}

float vec_dot_q4_1_q8_1(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const BlockQ4_1*>(w);
    const auto* y = static_cast<const BlockQ8_1*>(a);
    float s = 0.0f;
    for (int64_t i = 0; i < n / kQK; ++i) {
        int8_t q[kQK];
        unpack_nibbles(x[i].qs, nullptr, 0, q);
        const float dd = f16_to_f32(x[i].d) * f16_to_f32(y[i].d);
        s += static_cast<float>(dot32(q, y[i].qs)) * dd + f16_to_f32(x[i].m) * f16_to_f32(y[i].s);
    }
    return s;
}

float vec_dot_q5_1_q8_1(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const BlockQ5_1*>(w);
    const auto* y = static_cast<const BlockQ8_1*>(a);
    float s = 0.0f;
    for (int64_t i = 0; i < n / kQK; ++i) {
        int8_t q[kQK];
        unpack_nibbles(x[i].qs, x[i].qh, 0, q);
        const float dd = f16_to_f32(x[i].d) * f16_to_f32(y[i].d);
        s += static_cast<float>(dot32(q, y[i].qs)) * dd + f16_to_f32(x[i].m) * f16_to_f32(y[i].s);
    }
    return s;
}

float vec_dot_iq4_nl_q8_0(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const BlockIQ4_NL*>(w);
    const auto* y = static_cast<const BlockQ8_0*>(a);
    float s = 0.0f;
    for (int64_t i = 0; i < n / kQK; ++i) {
        int8_t q[kQK];
        for (int j = 0; j < kQK / 2; ++j) {
            q[j] = kIq4nlValues[x[i].qs[j] & 0xF];
            q[j + 16] = kIq4nlValues[x[i].qs[j] >> 4];
        }
        s += static_cast<float>(dot32(q, y[i].qs)) * (f16_to_f32(x[i].d) * f16_to_f32(y[i].d));
    }
    return s;
}

}  // namespace hearth::kernels::ref
