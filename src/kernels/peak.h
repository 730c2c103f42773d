// This machine's ceilings, which the benchmarks (`hearth bench --roofline`, bench/) report
// against: memory read bandwidth bounds decode, the int8 multiply-add rate bounds quantized
// prefill, the float FMA rate bounds attention and DeltaNet. Each is measured with all of the
// pool's threads, best of three short runs.
#pragma once

#include "base/thread_pool.h"
#include "kernels/dispatch.h"

namespace hearth::kernels {

// Streaming reads of a 1 GiB buffer, far beyond any cache, in GB/s (10^9 bytes per second).
double measure_read_bandwidth(ThreadPool& pool);

// Operations per second (two per multiply-add, in 10^9) of the instruction isa's integer
// matmul kernels are built on: vpmaddubsw for AVX2, VNNI vpdpbusd for AVX-512. 0 for the
// exact and ref paths, which have no such ceiling.
double measure_int8_peak(ThreadPool& pool, Isa isa);

// The same for isa's float FMA (8 lanes with AVX2, 16 with AVX-512); 0 for exact and ref.
double measure_f32_peak(ThreadPool& pool, Isa isa);

// The instruction measure_int8_peak times on isa ("vpmaddubsw", "vpdpbusd"), or "".
const char* int8_peak_instruction(Isa isa);

}  // namespace hearth::kernels
