// Scalar reference kernels of attention over F32, F16 and Q8_0 KV caches (the contracts
// are in kernels/attention.h). The oracle for the SIMD versions.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/attention.h"

namespace hearth::kernels::ref {

void store_kv_row_f32(const float* src, void* dst, int64_t n);
void store_kv_row_f16(const float* src, void* dst, int64_t n);
void store_kv_row_q8_0(const float* src, void* dst, int64_t n);
void load_kv_row_f32(const void* src, float* dst, int64_t n);
void load_kv_row_f16(const void* src, float* dst, int64_t n);
void load_kv_row_q8_0(const void* src, float* dst, int64_t n);
void store_k_f32(const float* src, void* panel, int lane, int64_t n);
void store_k_f16(const float* src, void* panel, int lane, int64_t n);
void store_k_q8_0(const float* src, void* panel, int lane, int64_t n);
void load_k_f32(const void* panel, float* dst, int64_t n);
void load_k_f16(const void* panel, float* dst, int64_t n);
void load_k_q8_0(const void* panel, float* dst, int64_t n);

void attention_chunk_f32(const AttnRows& rows, const void* k, const void* v, size_t row_bytes,
                         int64_t head_dim, int64_t j0, int64_t j1, float scale);
void attention_chunk_f16(const AttnRows& rows, const void* k, const void* v, size_t row_bytes,
                         int64_t head_dim, int64_t j0, int64_t j1, float scale);
void attention_chunk_q8_0(const AttnRows& rows, const void* k, const void* v, size_t row_bytes,
                          int64_t head_dim, int64_t j0, int64_t j1, float scale);

float exp_sum(float* x, int64_t n, float scale, float max);

}  // namespace hearth::kernels::ref
