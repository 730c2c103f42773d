// AVX2 + FMA + F16C matmul kernels (declarations; the table is in dispatch.cpp). Compiled only
// into the x86_avx2/ sources, which CMake builds with -mavx2 -mfma -mf16c.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/attention.h"
#include "kernels/dispatch.h"

namespace hearth::kernels::avx2 {

#define HEARTH_DECLARE_MATMUL(w, act)                                                     \
    float vec_dot_##w##_##act(int64_t n, const void* w_row, const void* a_row);           \
    void gemm_##w##_##act(int64_t n, const void* w, size_t bw, int64_t nr, const void* a, \
                          size_t ba, int ny, float* y, size_t by);

HEARTH_DECLARE_MATMUL(f32, f32)
HEARTH_DECLARE_MATMUL(f16, f16)
HEARTH_DECLARE_MATMUL(bf16, bf16)
HEARTH_DECLARE_MATMUL(q8_0, q8_0)
HEARTH_DECLARE_MATMUL(q4_0, q8_0)
HEARTH_DECLARE_MATMUL(q5_0, q8_0)
HEARTH_DECLARE_MATMUL(iq4_nl, q8_0)
HEARTH_DECLARE_MATMUL(q4_1, q8_1)
HEARTH_DECLARE_MATMUL(q5_1, q8_1)
HEARTH_DECLARE_MATMUL(q2_K, q8_K)
HEARTH_DECLARE_MATMUL(q3_K, q8_K)
HEARTH_DECLARE_MATMUL(q4_K, q8_K)
HEARTH_DECLARE_MATMUL(q5_K, q8_K)
HEARTH_DECLARE_MATMUL(q6_K, q8_K)
HEARTH_DECLARE_MATMUL(iq4_xs, q8_K)

// Activation quantizers, bit-identical to ref::quantize_row_q8_0 / quantize_row_q8_K.
void quantize_row_q8_0(const float* src, void* dst, int64_t n);
void quantize_row_q8_K(const float* src, void* dst, int64_t n);
void quantize_row_f16(const float* src, void* dst, int64_t n);
// Q8_K with bsums[k] the sum of 32-element sub-block k (k < 8), the rest zero: the activations
// of the packed Q4_K/Q5_K path.
void quantize_row_q8_K_paired(const float* src, void* dst, int64_t n);

// The packed batch paths of Q4_K and Q5_K (dispatch.h): one layout, packed_bytes_q4_K(n) bytes
// per group of kPackRows rows; Q5_K's gemm sums its longer levels in shorter runs.
size_t packed_bytes_q4_K(int64_t n);
void pack_q4_K(int64_t n, const void* w, size_t bw, void* dst);
void pack_q5_K(int64_t n, const void* w, size_t bw, void* dst);
void gemm_packed_q4_K_q8_K(int64_t n, const void* packed, int64_t ng, const void* a, size_t ba,
                           int64_t ny, float* y, size_t by);
void gemm_packed_q5_K_q8_K(int64_t n, const void* packed, int64_t ng, const void* a, size_t ba,
                           int64_t ny, float* y, size_t by);
// The packed batch paths of Q6_K, Q3_K and Q2_K, on plain Q8_K activations.
#define HEARTH_DECLARE_PACKED_K16(name)                                                     \
    size_t packed_bytes_##name(int64_t n);                                                  \
    void pack_##name(int64_t n, const void* w, size_t bw, void* dst);                       \
    void gemm_packed_##name##_q8_K(int64_t n, const void* packed, int64_t ng, const void* a, \
                                   size_t ba, int64_t ny, float* y, size_t by);
HEARTH_DECLARE_PACKED_K16(q6_K)
HEARTH_DECLARE_PACKED_K16(q3_K)
HEARTH_DECLARE_PACKED_K16(q2_K)

// The packed paths on AVX-VNNI's 256-bit vpdpbusd (vnni.cpp, built with -mavxvnni; only for
// CPUs that have it). gemm_packed_vnni: the gemm of weight type t, for the K-quants on the
// packing and activations above, for IQ4_XS in Q4_K's layout (packed_bytes_q4_K, Q4_K's
// activations), and for Q8_0, Q4_0, Q5_0 and IQ4_NL in a layout of their own
// (packed_bytes_q8_0_vnni, activations from quantize_row_q8_0_biased_vnni: Q8_0 blocks, each
// level's sign bit flipped); nullptr for other types. pack_vnni: the packing of the types
// whose layout is not AVX2's (IQ4_XS and the Q8_0 family); nullptr for the rest.
PackedGemmFn gemm_packed_vnni(gguf::TensorType t);
PackFn pack_vnni(gguf::TensorType t);
size_t packed_bytes_q8_0_vnni(int64_t n);
void quantize_row_q8_0_biased_vnni(const float* x, void* dst, int64_t n);

// Attention over F32, F16 and Q8_0 KV-cache rows (contracts in kernels/attention.h).
#define HEARTH_DECLARE_ATTN_CHUNK(t)                                                          \
    void attention_chunk_##t(const AttnRows& rows, const void* k, const void* v, size_t rb, \
                             int64_t head_dim, int64_t j0, int64_t j1, float scale);
HEARTH_DECLARE_ATTN_CHUNK(f32)
HEARTH_DECLARE_ATTN_CHUNK(f16)
HEARTH_DECLARE_ATTN_CHUNK(q8_0)
void store_kv_row_q8_0(const float* src, void* dst, int64_t n);
void store_k_f16(const float* src, void* panel, int lane, int64_t n);
void load_kv_row_f16(const void* src, float* dst, int64_t n);
void load_k_f16(const void* panel, float* dst, int64_t n);
void load_kv_row_q8_0(const void* src, float* dst, int64_t n);
float exp_sum(float* x, int64_t n, float scale, float max);

// Element-wise kernels (contracts in kernels/activation.h).
void swiglu(float* gate, const float* up, int64_t n);
void silu(float* x, int64_t n);
double sum_squares(const float* x, int64_t n);

// Throughput loops for kernels/peak.h. read_sum: the 64-bit sum of the whole 128-byte steps of
// [p, p + bytes), read with the ISA's widest loads. The others: `rounds` rounds of independent
// chains of the ISA's int8 dot instruction / float FMA; they return the multiply-adds done.
uint64_t read_sum(const void* p, size_t bytes);
int64_t int8_madd_loop(int64_t rounds);
int64_t int8_madd_loop_vnni(int64_t rounds);  // 256-bit vpdpbusd (vnni.cpp)
int64_t f32_fma_loop(int64_t rounds);

}  // namespace hearth::kernels::avx2
