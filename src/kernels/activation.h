// Element-wise kernels of the norm and feed-forward blocks (model/blocks.h), per ISA: the
// SwiGLU gate, SiLU and the sum of squares behind RMSNorm. Scalar versions in ref/ are the oracle.
#pragma once

#include <cstdint>

#include "kernels/dispatch.h"

namespace hearth::kernels {

struct ActivationKernels {
    // gate (n) = silu(gate) * up = gate / (1 + exp(-gate)) * up, in place.
    void (*swiglu)(float* gate, const float* up, int64_t n) = nullptr;
    // x (n) = silu(x) = x / (1 + exp(-x)), in place.
    void (*silu)(float* x, int64_t n) = nullptr;
    // The sum of x[i]² over n floats, accumulated in double.
    double (*sum_squares)(const float* x, int64_t n) = nullptr;
};

// The kernels of isa (Exact and Ref get the scalar ones).
const ActivationKernels& activation_kernels(Isa isa);

}  // namespace hearth::kernels
