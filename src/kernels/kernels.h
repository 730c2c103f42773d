// Block-format conversions: dequantize any supported tensor type to float, quantize float to
// the types we can produce. Scalar reference code in ref/ is the oracle for any SIMD version.
#pragma once

#include <cstdint>

#include "gguf/types.h"

namespace hearth::kernels {

// True when dequantize_row handles this type.
bool can_dequantize(gguf::TensorType t);
// True when quantize_row handles this type.
bool can_quantize(gguf::TensorType t);

// Dequantizes n elements (a multiple of the type's block size) from src into dst.
void dequantize_row(gguf::TensorType t, const void* src, float* dst, int64_t n);

// Quantizes n floats (a multiple of the type's block size) into dst, in the type's block layout.
void quantize_row(gguf::TensorType t, const float* src, void* dst, int64_t n);

}  // namespace hearth::kernels
