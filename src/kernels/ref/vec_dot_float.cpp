// Reference dot products for unquantized weights: F32 with F32 activations, F16 and BF16 with
// activations already rounded to the weight type (as the reference does), summed in float.
#include <cstdint>

#include "base/fp16.h"
#include "kernels/ref/vec_dot.h"

namespace hearth::kernels::ref {

float vec_dot_f32_f32(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const float*>(w);
    const auto* y = static_cast<const float*>(a);
    float s = 0.0f;
    for (int64_t i = 0; i < n; ++i) s += x[i] * y[i];
    return s;
}

float vec_dot_f16_f16(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const uint16_t*>(w);
    const auto* y = static_cast<const uint16_t*>(a);
    float s = 0.0f;
    for (int64_t i = 0; i < n; ++i) s += f16_to_f32(x[i]) * f16_to_f32(y[i]);
    return s;
}

float vec_dot_bf16_bf16(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const uint16_t*>(w);
    const auto* y = static_cast<const uint16_t*>(a);
    float s = 0.0f;
    for (int64_t i = 0; i < n; ++i) s += bf16_to_f32(x[i]) * bf16_to_f32(y[i]);
    return s;
}

}  // namespace hearth::kernels::ref
