// The model's non-matmul hot paths on real shapes, with 2 threads, reported as GFLOP/s (the
// useful multiply-adds x 2) and as % of the float FMA peak of the ISA the model layer runs
// (decode attention also as cache GB/s and % of the read bandwidth):
//   attention: qwen3-0.6b shape (16 query heads, 8 KV heads, D = 128), F16 cache: a prompt
//     of T tokens (tiles path), and decode of one token at depth T (fused path) in 28 layers
//     (the caches stream from memory) or in one (decode_hot: its cache stays in the caches,
//     so the kernel's own speed shows);
//   deltanet: qwen3.5-0.8b shape (16 heads, dk = dv = 128): chunked over T tokens, recurrent
//     for one token.
#include <benchmark/benchmark.h>

#include <chrono>
#include <random>
#include <vector>

#include "base/thread_pool.h"
#include "model/attention.h"
#include "model/deltanet.h"
#include "peaks.h"

namespace hearth::model {
namespace {

ThreadPool& pool() {
    static ThreadPool p(2);
    return p;
}

std::vector<float> noise(int64_t n, float sigma) {
    std::mt19937 rng(3);
    std::normal_distribution<float> g(0.0f, sigma);
    std::vector<float> v(n);
    for (auto& x : v) x = g(rng);
    return v;
}

constexpr int64_t kH = 16, kHkv = 8, kD = 128;

// GFLOP/s and, where the model layer's ISA has one, % of its float FMA peak.
void report_flop(benchmark::State& state, double gflop, double seconds) {
    state.counters["GFLOP/s"] = benchmark::Counter(gflop, benchmark::Counter::kIsRate);
    const double peak =
        bench::peaks(pool()).f32_gflops[static_cast<int>(kernels::current_isa())];
    if (peak > 0) state.counters["%peak"] = bench::percent_of(gflop, seconds, peak);
}

// A prompt of T tokens against an empty cache, or (decode) one token at depth T in each of
// n_layers layers: the model's 28, whose caches together (470 MB at T = 4096) stream from
// memory as in a real decode step, or one; decode also reports the cache read rate in GB/s.
void attention_bench(benchmark::State& state, bool decode, int n_layers) {
    const int64_t T = state.range(0), n_new = decode ? 1 : T, pos0 = decode ? T : 0;
    const auto kv = noise((T + 1) * kHkv * kD, 1.0f);
    std::vector<KvCache> caches;
    for (int l = 0; l < n_layers; ++l) {
        caches.emplace_back(CacheType::F16, T + 1, kHkv, kD);
        caches.back().store(kv.data(), kv.data(), 0, T + 1);
    }
    const auto q = noise(n_new * kH * kD, 1.0f);
    std::vector<float> out(n_new * kH * kD);
    const auto t0 = std::chrono::steady_clock::now();
    for (auto _ : state) {
        for (const KvCache& c : caches) attention(q.data(), c, out.data(), n_new, pos0, kH, pool());
        benchmark::DoNotOptimize(out.data());
    }
    const double seconds = bench::seconds_since(t0);
    // QK^T and PV: 2 x D multiply-adds per (query head, visible key); causal for the prompt.
    const double keys = decode ? double(T + 1) : double(T) * double(T + 1) / 2;
    const double n = double(state.iterations()) * n_layers;
    report_flop(state, n * 2 * 2 * kD * kH * keys / 1e9, seconds);
    if (decode) {  // K and V rows of every KV head, f16
        const double gb = n * 2 * 2 * kD * kHkv * keys / 1e9;
        state.counters["GB/s"] = benchmark::Counter(gb, benchmark::Counter::kIsRate);
        state.counters["%bw"] = bench::percent_of(gb, seconds, bench::peaks(pool()).read_gbs);
    }
}

// Chunked over T tokens, or (T = 1) the recurrent form for one token.
void deltanet_bench(benchmark::State& state) {
    const int64_t T = state.range(0);
    const deltanet::Shape s{16, 16, 128, 128, 4};
    auto x = noise(T * s.conv_dim(), 0.1f);
    std::vector<float> g(T * s.n_v_heads, -0.05f), beta(T * s.n_v_heads, 0.5f);
    std::vector<float> out(T * s.value_dim()), st(s.n_v_heads * s.d_k * s.d_v, 0.0f);
    const deltanet::Inputs in{x.data(), x.data() + s.key_dim(), x.data() + 2 * s.key_dim(),
                              g.data(), beta.data(), s.conv_dim()};
    const auto t0 = std::chrono::steady_clock::now();
    for (auto _ : state) {
        if (T == 1) deltanet::recurrent(in, st.data(), out.data(), 1, s, pool());
        else deltanet::chunked(in, st.data(), out.data(), T, s, pool());
        benchmark::DoNotOptimize(out.data());
    }
    const double seconds = bench::seconds_since(t0);
    // The recurrence's own work per token and head: decay, S^T k, the update and S^T q, each
    // dk x dv multiply-adds (the chunked form does more, in matrix products).
    report_flop(state,
                double(state.iterations()) * 2 * 3 * double(s.d_k * s.d_v) * double(s.n_v_heads * T) / 1e9,
                seconds);
}

BENCHMARK_CAPTURE(attention_bench, prompt, false, 1)
    ->Arg(512)->Arg(2048)->Arg(4096)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(attention_bench, decode, true, 28)
    ->Arg(512)->Arg(4096)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(attention_bench, decode_hot, true, 1)
    ->Arg(512)->Arg(4096)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(deltanet_bench)->Arg(1)->Arg(512)->UseRealTime()->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace hearth::model

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    hearth::bench::peaks(hearth::model::pool());  // measured before any benchmark runs
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
