// The per-type conversion table behind kernels.h: each tensor type maps to its dequantize and
// quantize functions (null where unsupported). Only the scalar reference versions exist so far.
#include "kernels/kernels.h"

#include <array>

#include "base/status.h"
#include "kernels/ref/convert.h"

namespace hearth::kernels {

namespace {

using gguf::TensorType;
using DequantizeFn = void (*)(const void* src, float* dst, int64_t n);
using QuantizeFn = void (*)(const float* src, void* dst, int64_t n);

struct TypeKernels {
    DequantizeFn dequantize = nullptr;
    QuantizeFn quantize = nullptr;
};

// Indexed by the GGUF type id; ids up to BF16 (30) are the ones this build knows.
constexpr size_t kTableSize = static_cast<size_t>(TensorType::BF16) + 1;

constexpr std::array<TypeKernels, kTableSize> make_table() {
    std::array<TypeKernels, kTableSize> t{};
    auto set = [&t](TensorType type, DequantizeFn dq, QuantizeFn q) {
        t[static_cast<size_t>(type)] = {.dequantize = dq, .quantize = q};
    };
    set(TensorType::F32, ref::dequantize_row_f32, ref::quantize_row_f32);
    set(TensorType::F16, ref::dequantize_row_f16, ref::quantize_row_f16);
    set(TensorType::BF16, ref::dequantize_row_bf16, ref::quantize_row_bf16);
    set(TensorType::Q4_0, ref::dequantize_row_q4_0, ref::quantize_row_q4_0);
    set(TensorType::Q4_1, ref::dequantize_row_q4_1, nullptr);
    set(TensorType::Q5_0, ref::dequantize_row_q5_0, nullptr);
    set(TensorType::Q5_1, ref::dequantize_row_q5_1, nullptr);
    set(TensorType::Q8_0, ref::dequantize_row_q8_0, ref::quantize_row_q8_0);
    set(TensorType::Q8_1, ref::dequantize_row_q8_1, ref::quantize_row_q8_1);
    set(TensorType::Q2_K, ref::dequantize_row_q2_K, nullptr);
    set(TensorType::Q3_K, ref::dequantize_row_q3_K, nullptr);
    set(TensorType::Q4_K, ref::dequantize_row_q4_K, ref::quantize_row_q4_K);
    set(TensorType::Q5_K, ref::dequantize_row_q5_K, ref::quantize_row_q5_K);
    set(TensorType::Q6_K, ref::dequantize_row_q6_K, ref::quantize_row_q6_K);
    set(TensorType::Q8_K, ref::dequantize_row_q8_K, ref::quantize_row_q8_K);
    set(TensorType::IQ4_NL, ref::dequantize_row_iq4_nl, nullptr);
    set(TensorType::IQ4_XS, ref::dequantize_row_iq4_xs, nullptr);
    return t;
}

constexpr std::array<TypeKernels, kTableSize> kTable = make_table();

// Null for ids outside the table, so an enum value cast from an unchecked id is safe to ask.
const TypeKernels* lookup(TensorType t) {
    const auto id = static_cast<size_t>(t);
    return id < kTable.size() ? &kTable[id] : nullptr;
}

}  // namespace

bool can_dequantize(TensorType t) {
    const TypeKernels* k = lookup(t);
    return k != nullptr && k->dequantize != nullptr;
}

bool can_quantize(TensorType t) {
    const TypeKernels* k = lookup(t);
    return k != nullptr && k->quantize != nullptr;
}

void dequantize_row(TensorType t, const void* src, float* dst, int64_t n) {
    HEARTH_CHECK(can_dequantize(t));
    HEARTH_DCHECK(n % gguf::traits(t).block_size == 0);
    lookup(t)->dequantize(src, dst, n);
}

void quantize_row(TensorType t, const float* src, void* dst, int64_t n) {
    HEARTH_CHECK(can_quantize(t));
    HEARTH_DCHECK(n % gguf::traits(t).block_size == 0);
    lookup(t)->quantize(src, dst, n);
}

}  // namespace hearth::kernels
