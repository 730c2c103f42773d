// IEEE half and bfloat16 conversions as bit work (GCC 12 has no usable __bf16 arithmetic).
#pragma once

#include <cstdint>
#include <cstring>

namespace hearth {

// Half precision by bit manipulation (clang 14 has no _Float16 on x86; this is exact either way).
inline float f16_to_f32(uint16_t h) {
    const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
    const uint32_t exp = (h >> 10) & 0x1f;
    uint32_t mant = h & 0x3ff;
    uint32_t bits;
    if (exp == 0x1f) {
        bits = sign | 0x7f800000 | (mant << 13);  // inf / NaN
    } else if (exp != 0) {
        bits = sign | ((exp + 112) << 23) | (mant << 13);
    } else if (mant == 0) {
        bits = sign;  // signed zero
    } else {  // subnormal: renormalize
        int e = -1;
        do {
            ++e;
            mant <<= 1;
        } while ((mant & 0x400) == 0);
        bits = sign | (static_cast<uint32_t>(112 - e) << 23) | ((mant & 0x3ff) << 13);
    }
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

// Round to nearest even, overflow to infinity, NaN kept quiet.
inline uint16_t f32_to_f16(float f) {
    uint32_t x;
    std::memcpy(&x, &f, 4);
    const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000);
    const uint32_t ax = x & 0x7fffffff;
    if (ax > 0x7f800000) return sign | 0x7e00;        // NaN
    if (ax >= 0x477ff000) return sign | 0x7c00;       // rounds to >= 65520: infinity
    if (ax >= 0x38800000) {                           // normal half
        const uint32_t round = 0xfff + ((ax >> 13) & 1);
        return sign | static_cast<uint16_t>((ax - 0x38000000 + round) >> 13);
    }
    if (ax < 0x33000000) return sign;                 // below half the smallest subnormal
    // Subnormal half: shift the full mantissa into place with round to nearest even.
    const uint32_t mant = (ax & 0x7fffff) | 0x800000;
    const int shift = 126 - static_cast<int>(ax >> 23);  // 14..24
    const uint32_t half_ulp = 1u << (shift - 1);
    uint32_t r = mant >> shift;
    const uint32_t rem = mant & ((1u << shift) - 1);
    if (rem > half_ulp || (rem == half_ulp && (r & 1))) ++r;
    return sign | static_cast<uint16_t>(r);
}

inline float bf16_to_f32(uint16_t h) {
    uint32_t u = static_cast<uint32_t>(h) << 16;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}

inline uint16_t f32_to_bf16(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    if ((u & 0x7fffffff) > 0x7f800000) return static_cast<uint16_t>((u >> 16) | 64);  // quiet NaN
    return static_cast<uint16_t>((u + (0x7fff + ((u >> 16) & 1))) >> 16);  // round to nearest even
}

}  // namespace hearth
