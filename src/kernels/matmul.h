// Matrix products of a (possibly quantized) weight matrix with float activations, threaded.
// Activations are quantized like the reference engine does (see dispatch.h for the kernels
// and the HEARTH_ISA switch); HEARTH_ISA=exact dots dequantized rows in float instead.
#pragma once

#include <cstdint>
#include <span>

#include "base/thread_pool.h"
#include "gguf/types.h"
#include "kernels/dispatch.h"

namespace hearth::kernels {

// A weight matrix as GGUF stores it: n_out rows of n_in elements, row r at data + r * row_bytes;
// or, when interleaved, in groups of 16 rows (kernels/interleave.h), group g at
// data + 16g * row_bytes.
struct WeightView {
    gguf::TensorType type = gguf::TensorType::F32;
    const uint8_t* data = nullptr;
    int64_t n_in = 0;
    int64_t n_out = 0;
    uint64_t row_bytes = 0;
    bool interleaved = false;
};

// The kernels for w on isa (nullptr: the exact float path).
const MatmulKernels* matmul_kernels(const WeightView& w, Isa isa);

// y (n_tokens, n_out) = x (n_tokens, n_in) · Wᵀ, all row-major float.
void matmul(const WeightView& w, const float* x, float* y, int64_t n_tokens, ThreadPool& pool);
// The same on a chosen ISA (tests and benchmarks; isa must be available).
void matmul(const WeightView& w, const float* x, float* y, int64_t n_tokens, ThreadPool& pool,
            Isa isa);

// One product of a group: y (n_tokens, w.n_out) = x · wᵀ.
struct MatmulOut {
    WeightView w;
    float* y = nullptr;
};
inline constexpr int kMaxMatmulGroup = 4;

// Up to kMaxMatmulGroup products of the same x (n_tokens, n_in) in one threaded pass: x is
// quantized once per activation layout and the threads share out the rows of all the weights,
// so a decode step's q/k/v or gate/up products cost one job instead of several.
void matmul_group(std::span<const MatmulOut> outs, const float* x, int64_t n_tokens,
                  ThreadPool& pool);
void matmul_group(std::span<const MatmulOut> outs, const float* x, int64_t n_tokens,
                  ThreadPool& pool, Isa isa);

// matmul_group with the kernels given per product (nullptr: the exact float path), for tests
// that run kernels outside the tables (the AVX-512 files emulated on AVX2 machines).
void matmul_group_with(std::span<const MatmulOut> outs, const MatmulKernels* const* kernels,
                       const float* x, int64_t n_tokens, ThreadPool& pool);

// One product of a batch whose products each have their own input: y (n_tokens, w.n_out) =
// x (n_tokens, w.n_in) · wᵀ.
struct MatmulTask {
    WeightView w;
    const float* x = nullptr;
    int64_t n_tokens = 0;
    float* y = nullptr;
};

// Any number of products, each with its own input and token count, in one threaded pass: the
// inputs are quantized in one pass and the threads share out the rows of all the weights, so
// the experts of a MoE layer cost one job, not one per expert. Tasks that share an input
// should come together (each task looks for its input's copy among the last few made).
void matmul_tasks(std::span<const MatmulTask> tasks, ThreadPool& pool);
// matmul_tasks with the kernels given per task (nullptr: the exact float path).
void matmul_tasks_with(std::span<const MatmulTask> tasks, const MatmulKernels* const* kernels,
                       ThreadPool& pool);

// Dequantizes row r of w into dst (n_in floats): the embedding lookup.
void get_row(const WeightView& w, int64_t r, float* dst);

}  // namespace hearth::kernels
