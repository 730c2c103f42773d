// AVX-512 (F, BW, VL, VBMI, VNNI; BF16 in bf16.cpp alone) matmul, attention and activation kernels
// (declarations; the tables are in dispatch.cpp). Types without an entry here use the AVX2
// kernels on an AVX-512 machine.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/attention.h"

namespace hearth::kernels::avx512 {

// SwiGLU and SiLU (activation.h's signatures).
void swiglu(float* gate, const float* up, int64_t n);
void silu(float* x, int64_t n);

#define HEARTH_DECLARE_MATMUL_512(w, act)                                                 \
    float vec_dot_##w##_##act(int64_t n, const void* w_row, const void* a_row);           \
    void gemm_##w##_##act(int64_t n, const void* w, size_t bw, int64_t nr, const void* a, \
                          size_t ba, int ny, float* y, size_t by);

HEARTH_DECLARE_MATMUL_512(f32, f32)
HEARTH_DECLARE_MATMUL_512(f16, f16)
HEARTH_DECLARE_MATMUL_512(bf16, bf16)
// F16 and BF16 batches, rows in lanes (dispatch.h's packed path): 16 rows widened to floats,
// packed_bytes_f16(n) bytes for either; the activations rounded to the format and widened
// back, row_bytes_f32(n) bytes per row.
size_t packed_bytes_f16(int64_t n);
size_t row_bytes_f32(int64_t n);
void quantize_row_f16_widened(const float* x, void* dst, int64_t n);
void quantize_row_bf16_widened(const float* x, void* dst, int64_t n);
void pack_f16(int64_t n, const void* w, size_t bw, void* dst);
void gemm_packed_f16_f16(int64_t n, const void* packed, int64_t ng, const void* a, size_t ba,
                         int64_t ny, float* y, size_t by);
void pack_bf16(int64_t n, const void* w, size_t bw, void* dst);
void gemm_packed_bf16_bf16(int64_t n, const void* packed, int64_t ng, const void* a, size_t ba,
                           int64_t ny, float* y, size_t by);
HEARTH_DECLARE_MATMUL_512(q8_0, q8_0)
HEARTH_DECLARE_MATMUL_512(q4_0, q8_0)
HEARTH_DECLARE_MATMUL_512(iq4_nl, q8_0)
HEARTH_DECLARE_MATMUL_512(q2_K, q8_K)
HEARTH_DECLARE_MATMUL_512(q3_K, q8_K)
HEARTH_DECLARE_MATMUL_512(q4_K, q8_K)
HEARTH_DECLARE_MATMUL_512(q5_K, q8_K)
// Q4_K, Q5_K, Q6_K and Q8_0 batches, rows in lanes (dispatch.h's packed path). Q5_K and
// IQ4_XS share Q4_K's layout (packed_bytes_q4_K, gemm_packed_q4_K_q8_K), which takes Q8_K
// activations with bsums[k] the sum of 32-element sub-block k (quantize_row_q8_K_paired;
// bsums 8..15 zero).
// The Q8_0 one takes activations with their levels plus 128 (quantize_row_q8_0_biased);
// Q4_0, Q5_0 and IQ4_NL share its layout and gemm, their levels widened to bytes as they pack.
size_t packed_bytes_q4_K(int64_t n);
void pack_q4_K(int64_t n, const void* w, size_t bw, void* dst);
void pack_q5_K(int64_t n, const void* w, size_t bw, void* dst);
// IQ4_XS in the same layout (levels biased by 128, the bias taken off through the mins).
void pack_iq4_xs(int64_t n, const void* w, size_t bw, void* dst);
// Q4_K in the interleaved layout (kernels/interleave.h): nr a multiple of 16, w a group's
// start, activations from quantize_row_q8_K_paired; pack turns one group into pack_q4_K's
// layout.
void gemm_q4_K_interleaved_q8_K(int64_t n, const void* w, size_t bw, int64_t nr, const void* a,
                                size_t ba, int ny, float* y, size_t by);
void pack_q4_K_interleaved(int64_t n, const void* w, size_t bw, void* dst);
void gemm_packed_q4_K_q8_K(int64_t n, const void* packed, int64_t ng, const void* a, size_t ba,
                           int64_t ny, float* y, size_t by);
void quantize_row_q8_K_paired(const float* x, void* dst, int64_t n);
// Q8_K activations as ref's quantize_row_q8_K writes them.
void quantize_row_q8_K(const float* x, void* dst, int64_t n);
size_t packed_bytes_q6_K(int64_t n);
void pack_q6_K(int64_t n, const void* w, size_t bw, void* dst);
// Q3_K in Q6_K's layout (levels plus 32, scales less 32), for gemm_packed_q6_K_q8_K.
void pack_q3_K(int64_t n, const void* w, size_t bw, void* dst);
void gemm_packed_q6_K_q8_K(int64_t n, const void* packed, int64_t ng, const void* a, size_t ba,
                           int64_t ny, float* y, size_t by);
// Q5_K and Q6_K in the interleaved layout, as the Q4_K ones above; Q6_K's activations are
// the plain Q8_K ones (quantize_row_q8_K).
void gemm_q5_K_interleaved_q8_K(int64_t n, const void* w, size_t bw, int64_t nr, const void* a,
                                size_t ba, int ny, float* y, size_t by);
void pack_q5_K_interleaved(int64_t n, const void* w, size_t bw, void* dst);
void gemm_q6_K_interleaved_q8_K(int64_t n, const void* w, size_t bw, int64_t nr, const void* a,
                                size_t ba, int ny, float* y, size_t by);
void pack_q6_K_interleaved(int64_t n, const void* w, size_t bw, void* dst);
size_t packed_bytes_q8_0(int64_t n);
void pack_q8_0(int64_t n, const void* w, size_t bw, void* dst);
void pack_q4_0(int64_t n, const void* w, size_t bw, void* dst);
void pack_q5_0(int64_t n, const void* w, size_t bw, void* dst);
void pack_iq4_nl(int64_t n, const void* w, size_t bw, void* dst);
void gemm_packed_q8_0_q8_0(int64_t n, const void* packed, int64_t ng, const void* a, size_t ba,
                           int64_t ny, float* y, size_t by);
void quantize_row_q8_0_biased(const float* x, void* dst, int64_t n);
// Q8_0 in the interleaved layout, as the Q4_K ones above, its levels stored plus 128. gemm
// takes activations of row_bytes_q8_0_sum(n) bytes from quantize_row_q8_0_sum (signed levels
// with a float scale and -128 * their sum per block); pack turns a group into pack_q8_0's
// layout, for gemm_packed_q8_0_q8_0.
size_t row_bytes_q8_0_sum(int64_t n);
void quantize_row_q8_0_sum(const float* x, void* dst, int64_t n);
void gemm_q8_0_interleaved_q8_0(int64_t n, const void* w, size_t bw, int64_t nr, const void* a,
                                size_t ba, int ny, float* y, size_t by);
void pack_q8_0_interleaved(int64_t n, const void* w, size_t bw, void* dst);
HEARTH_DECLARE_MATMUL_512(q6_K, q8_K)
HEARTH_DECLARE_MATMUL_512(iq4_xs, q8_K)

// Attention over F32, F16 and Q8_0 KV-cache rows, and the prompt softmax's exp_sum (contracts
// in kernels/attention.h).
float exp_sum(float* x, int64_t n, float scale, float max);
void attention_chunk_f32(const AttnRows& rows, const void* k, const void* v, size_t rb,
                         int64_t head_dim, int64_t j0, int64_t j1, float scale);
void attention_chunk_f16(const AttnRows& rows, const void* k, const void* v, size_t rb,
                         int64_t head_dim, int64_t j0, int64_t j1, float scale);
void attention_chunk_q8_0(const AttnRows& rows, const void* k, const void* v, size_t rb,
                          int64_t head_dim, int64_t j0, int64_t j1, float scale);

// Throughput loops for kernels/peak.h. read_sum: the 64-bit sum of the whole 128-byte steps of
// [p, p + bytes), read with the ISA's widest loads. The others: `rounds` rounds of independent
// chains of the ISA's int8 dot instruction / float FMA; they return the multiply-adds done.
uint64_t read_sum(const void* p, size_t bytes);
int64_t int8_madd_loop(int64_t rounds);
int64_t f32_fma_loop(int64_t rounds);

}  // namespace hearth::kernels::avx512
