// matmul() throughput per weight type and ISA on Qwen3-0.6B shapes, with 2 threads: decode-like
// (T = 1, reported as weight GB/s and as % of the read bandwidth) and prefill-like (T = 64,
// reported as GFLOP/s and, for the SIMD ISAs, as % of their int8 multiply-add peak, or of their
// float one for F16 and BF16 weights). Every weight type with SIMD kernels runs on the layer
// shapes; the types of the benchmarked GGUF files (Q8_0, Q4_K, Q6_K) also on the output head's.
// Weights are random blocks with sane scales; only the timing matters here, not the values.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "base/fp16.h"
#include "base/thread_pool.h"
#include "gguf/types.h"
#include "kernels/dispatch.h"
#include "kernels/interleave.h"
#include "kernels/matmul.h"
#include "kernels/ref/blocks.h"
#include "peaks.h"

namespace hearth::kernels {
namespace {

using gguf::TensorType;

struct Shape {
    int64_t n_in, n_out;
};

ThreadPool& pool() {
    static ThreadPool p(2);
    return p;
}

// Random levels with every block scale set to a small half; F16 and BF16 weights small random
// values.
std::vector<uint8_t> random_weights(TensorType t, const Shape& s) {
    const auto tr = gguf::traits(t);
    const size_t bytes = static_cast<size_t>(s.n_out * (s.n_in / tr.block_size) * tr.block_bytes);
    std::vector<uint8_t> w(bytes);
    std::mt19937 rng(42);
    if (t == TensorType::F16 || t == TensorType::BF16) {
        std::uniform_real_distribution<float> u(-0.1f, 0.1f);
        for (size_t i = 0; i + 2 <= bytes; i += 2) {
            const uint16_t h = t == TensorType::F16 ? f32_to_f16(u(rng)) : f32_to_bf16(u(rng));
            std::memcpy(&w[i], &h, 2);
        }
        return w;
    }
    for (size_t i = 0; i + 4 <= bytes; i += 4) {
        const uint32_t v = rng();
        std::memcpy(&w[i], &v, 4);
    }
    const uint16_t d = f32_to_f16(0.01f);
    for (size_t off = 0; off < bytes; off += tr.block_bytes)
        for (size_t at : half_scale_offsets(t)) std::memcpy(&w[off + at], &d, 2);
    return w;
}

// Unpacked: on an ISA with a packed batch path, time the per-row kernels instead, to show what
// the packing gains. Interleaved: the weights in the layout the loader makes for the ISA
// (kernels/interleave.h), as a model's matrices of that type are.
enum class Variant { Plain, Unpacked, Interleaved };

void run(benchmark::State& state, TensorType t, Shape s, int64_t n_tokens, Isa isa,
         Variant variant) {
    std::vector<uint8_t> w = random_weights(t, s);
    const auto tr = gguf::traits(t);
    if (variant == Variant::Interleaved) {
        std::vector<uint8_t> plain = w;
        interleave(t, s.n_in, s.n_out, plain.data(), w.data());
    }
    // On a cache line, as the loader's arenas put a model's matrices (a vector's data is not).
    const std::unique_ptr<uint8_t, decltype(&std::free)> aligned(
        static_cast<uint8_t*>(std::aligned_alloc(64, (w.size() + 63) / 64 * 64)), &std::free);
    std::memcpy(aligned.get(), w.data(), w.size());
    const WeightView view{
        .type = t,
        .data = aligned.get(),
        .n_in = s.n_in,
        .n_out = s.n_out,
        .row_bytes = static_cast<uint64_t>(s.n_in / tr.block_size * tr.block_bytes),
        .interleaved = variant == Variant::Interleaved};
    std::vector<float> x(n_tokens * s.n_in), y(n_tokens * s.n_out);
    std::mt19937 rng(7);
    std::normal_distribution<float> g;
    for (auto& v : x) v = g(rng);
    // Exact has no kernel set: nullptr takes the float path.
    const MatmulKernels* table = isa == Isa::Exact ? nullptr : matmul_kernels(view, isa);
    MatmulKernels k = table != nullptr ? *table : MatmulKernels{};
    if (variant == Variant::Unpacked) k.pack_min_tokens = INT64_MAX;
    const MatmulKernels* kernels[] = {table != nullptr ? &k : nullptr};
    const MatmulOut out[] = {{view, y.data()}};
    matmul_group_with(out, kernels, x.data(), n_tokens, pool());  // warm-up: scratch, page faults
    const auto t0 = std::chrono::steady_clock::now();
    for (auto _ : state) {
        matmul_group_with(out, kernels, x.data(), n_tokens, pool());
        benchmark::DoNotOptimize(y.data());
    }
    const double seconds = bench::seconds_since(t0);
    const double iters = static_cast<double>(state.iterations());
    const bench::Peaks& peak = bench::peaks(pool());
    if (n_tokens == 1) {
        const double gb = iters * static_cast<double>(w.size()) / 1e9;
        state.counters["GB/s"] = benchmark::Counter(gb, benchmark::Counter::kIsRate);
        state.counters["%peak"] = bench::percent_of(gb, seconds, peak.read_gbs);
    } else {
        const double gflop = iters * 2.0 * static_cast<double>(s.n_in * s.n_out * n_tokens) / 1e9;
        state.counters["GFLOP/s"] = benchmark::Counter(gflop, benchmark::Counter::kIsRate);
        // Float weights are multiplied in float: their ceiling is the FMA peak.
        const bool float_weights = t == TensorType::F16 || t == TensorType::BF16;
        const double top = float_weights ? peak.f32_gflops[static_cast<int>(isa)]
                                         : peak.int8_gops[static_cast<int>(isa)];
        if (top > 0) state.counters["%peak"] = bench::percent_of(gflop, seconds, top);
    }
}

void register_all() {
    const Shape layers[] = {{1024, 3072}, {3072, 1024}}, head = {1024, 151936};
    for (TensorType t : {TensorType::Q8_0, TensorType::Q4_K, TensorType::Q6_K, TensorType::Q5_K,
                         TensorType::Q4_0, TensorType::Q5_0, TensorType::Q2_K, TensorType::Q3_K,
                         TensorType::IQ4_XS, TensorType::IQ4_NL, TensorType::F16,
                         TensorType::BF16}) {
        std::vector<Shape> shapes(std::begin(layers), std::end(layers));
        if (t == TensorType::Q8_0 || t == TensorType::Q4_K || t == TensorType::Q6_K)
            shapes.push_back(head);
        for (const Shape& s : shapes) {
            for (int64_t n_tokens : {1, 64}) {
                for (Isa isa : available_isas()) {
                    // The scalar kernels would take seconds per head product at T = 64.
                    if (isa == Isa::Ref && n_tokens > 1 && s.n_out > 100000) continue;
                    const std::string name = "matmul/" + std::string(gguf::type_name(t)) + "/" +
                                             std::to_string(s.n_in) + "x" +
                                             std::to_string(s.n_out) + "/T" +
                                             std::to_string(n_tokens) + "/" + isa_name(isa);
                    const MatmulKernels* k = matmul_kernels(t, isa);
                    const bool packs = k != nullptr && k->pack != nullptr &&
                                       n_tokens >= k->pack_min_tokens;
                    const bool interleaves = interleaved_kernels(t, isa) != nullptr &&
                                             can_interleave(t, s.n_in, s.n_out);
                    for (Variant v : {Variant::Plain, Variant::Unpacked, Variant::Interleaved}) {
                        if ((v == Variant::Unpacked && !packs) ||
                            (v == Variant::Interleaved && !interleaves))
                            continue;
                        const char* suffix = v == Variant::Unpacked      ? "-unpacked"
                                             : v == Variant::Interleaved ? "-interleaved"
                                                                         : "";
                        benchmark::RegisterBenchmark(
                            (name + suffix).c_str(),
                            [=](benchmark::State& st) { run(st, t, s, n_tokens, isa, v); })
                            ->UseRealTime()
                            ->Unit(benchmark::kMicrosecond);
                    }
                }
            }
        }
    }
}

}  // namespace
}  // namespace hearth::kernels

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    hearth::bench::peaks(hearth::kernels::pool());  // measured before any benchmark runs
    hearth::kernels::register_all();
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
