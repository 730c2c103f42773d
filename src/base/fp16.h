// IEEE half and bfloat16 conversions as bit work (GCC 12 has no usable __bf16 arithmetic).
#pragma once

#include <cstdint>
#include <cstring>

namespace hearth {

inline float f16_to_f32(uint16_t h) {
    _Float16 v;
    std::memcpy(&v, &h, 2);
    return static_cast<float>(v);
}

inline uint16_t f32_to_f16(float f) {
    _Float16 v = static_cast<_Float16>(f);  // round to nearest even
    uint16_t h;
    std::memcpy(&h, &v, 2);
    return h;
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
