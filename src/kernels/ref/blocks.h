// Typed views of the GGUF quantized block layouts, with sizes checked against the file format.
// Layout only; the arithmetic that packs and unpacks them lives in the ref/*.cpp files.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "gguf/types.h"

namespace hearth::kernels {

// Elements per block: 32 for the legacy and IQ4_NL formats, 256 for K-quant super-blocks.
inline constexpr int kQK = 32;
inline constexpr int kQK_K = 256;

// Every F16 scale is kept as raw IEEE half bits (uint16_t) and converted with base/fp16.h.

// q = d * (n - 8), n in [0, 15]; element j in the low nibble of qs[j], j + 16 in the high one.
struct BlockQ4_0 {
    uint16_t d;
    uint8_t qs[kQK / 2];
};

// q = d * n + m, n in [0, 15]; nibbles as in Q4_0.
struct BlockQ4_1 {
    uint16_t d;
    uint16_t m;
    uint8_t qs[kQK / 2];
};

// q = d * (n - 16), n in [0, 31]; bit 4 of element j is bit j of the little-endian qh word.
struct BlockQ5_0 {
    uint16_t d;
    uint8_t qh[4];
    uint8_t qs[kQK / 2];
};

// q = d * n + m, n in [0, 31]; bits as in Q5_0.
struct BlockQ5_1 {
    uint16_t d;
    uint16_t m;
    uint8_t qh[4];
    uint8_t qs[kQK / 2];
};

struct BlockQ8_0 {
    uint16_t d;
    int8_t qs[kQK];
};

// s = d * sum(qs): the activation format for Q4_1/Q5_1 dot products (they need the sum for m).
struct BlockQ8_1 {
    uint16_t d;
    uint16_t s;
    int8_t qs[kQK];
};

// 16 sub-blocks of 16: scales[i] low nibble = scale, high nibble = min, both times d / dmin.
// qs holds 2-bit values: byte l of each 32-byte group carries four sub-blocks, 2 bits apiece.
struct BlockQ2_K {
    uint8_t scales[kQK_K / 16];
    uint8_t qs[kQK_K / 4];
    uint16_t d;
    uint16_t dmin;
};

// 2 low bits in qs (as Q2_K), the third bit in hmask; 16 six-bit signed scales (bias 32)
// packed into 12 bytes: low nibbles in bytes 0..7, the top two bits in bytes 8..11.
struct BlockQ3_K {
    uint8_t hmask[kQK_K / 8];
    uint8_t qs[kQK_K / 4];
    uint8_t scales[12];
    uint16_t d;
};

// 8 sub-blocks of 32, each with a 6-bit scale and 6-bit min packed into 12 bytes.
struct BlockQ4_K {
    uint16_t d;
    uint16_t dmin;
    uint8_t scales[12];
    uint8_t qs[kQK_K / 2];
};

// Q4_K plus a fifth bit per element in qh (two bits of qh per 64-element chunk).
struct BlockQ5_K {
    uint16_t d;
    uint16_t dmin;
    uint8_t scales[12];
    uint8_t qh[kQK_K / 8];
    uint8_t qs[kQK_K / 2];
};

// 6-bit values (4 low bits in ql, 2 high bits in qh), 16 signed 8-bit scales of 16 elements.
struct BlockQ6_K {
    uint8_t ql[kQK_K / 2];
    uint8_t qh[kQK_K / 4];
    int8_t scales[kQK_K / 16];
    uint16_t d;
};

// The activation format of K-quant dot products: float scale, bsums = sums of 16 qs each.
struct BlockQ8_K {
    float d;
    int8_t qs[kQK_K];
    int16_t bsums[kQK_K / 16];
};

// Nibbles index a fixed non-uniform 16-entry table (kIq4nlValues), times d.
struct BlockIQ4_NL {
    uint16_t d;
    uint8_t qs[kQK / 2];
};

// IQ4_NL values with 8 six-bit sub-block scales (bias 32): low 4 bits in scales_l nibbles,
// high 2 bits in scales_h.
struct BlockIQ4_XS {
    uint16_t d;
    uint16_t scales_h;
    uint8_t scales_l[kQK_K / 64];
    uint8_t qs[kQK_K / 2];
};

static_assert(sizeof(BlockQ4_0) == 18);
static_assert(sizeof(BlockQ4_1) == 20);
static_assert(sizeof(BlockQ5_0) == 22);
static_assert(sizeof(BlockQ5_1) == 24);
static_assert(sizeof(BlockQ8_0) == 34);
static_assert(sizeof(BlockQ8_1) == 36);
static_assert(sizeof(BlockQ2_K) == 84);
static_assert(sizeof(BlockQ3_K) == 110);
static_assert(sizeof(BlockQ4_K) == 144);
static_assert(sizeof(BlockQ5_K) == 176);
static_assert(sizeof(BlockQ6_K) == 210);
static_assert(sizeof(BlockQ8_K) == 292);
static_assert(sizeof(BlockIQ4_NL) == 18);
static_assert(sizeof(BlockIQ4_XS) == 136);

// The byte offsets of the F16 scale fields (d, then m or dmin where there is one) in a weight
// block of type t; none for the float types. Tests and benchmarks that fill blocks with random
// bytes set these to finite scales.
inline std::vector<size_t> half_scale_offsets(gguf::TensorType t) {
    using gguf::TensorType;
    switch (t) {
        case TensorType::Q4_0: return {offsetof(BlockQ4_0, d)};
        case TensorType::Q4_1: return {offsetof(BlockQ4_1, d), offsetof(BlockQ4_1, m)};
        case TensorType::Q5_0: return {offsetof(BlockQ5_0, d)};
        case TensorType::Q5_1: return {offsetof(BlockQ5_1, d), offsetof(BlockQ5_1, m)};
        case TensorType::Q8_0: return {offsetof(BlockQ8_0, d)};
        case TensorType::Q2_K: return {offsetof(BlockQ2_K, d), offsetof(BlockQ2_K, dmin)};
        case TensorType::Q3_K: return {offsetof(BlockQ3_K, d)};
        case TensorType::Q4_K: return {offsetof(BlockQ4_K, d), offsetof(BlockQ4_K, dmin)};
        case TensorType::Q5_K: return {offsetof(BlockQ5_K, d), offsetof(BlockQ5_K, dmin)};
        case TensorType::Q6_K: return {offsetof(BlockQ6_K, d)};
        case TensorType::IQ4_NL: return {offsetof(BlockIQ4_NL, d)};
        case TensorType::IQ4_XS: return {offsetof(BlockIQ4_XS, d)};
        default: return {};
    }
}

}  // namespace hearth::kernels
