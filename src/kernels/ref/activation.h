// Scalar reference element-wise kernels (contracts in kernels/activation.h).
#pragma once

#include <cstdint>

namespace hearth::kernels::ref {

void swiglu(float* gate, const float* up, int64_t n);
void silu(float* x, int64_t n);
double sum_squares(const float* x, int64_t n);

}  // namespace hearth::kernels::ref
