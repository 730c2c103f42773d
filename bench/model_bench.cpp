// The model's non-matmul hot paths on real shapes, with 2 threads, reported as GFLOP/s (the
// useful multiply-adds x 2) and as % of the float FMA peak of the ISA the model layer runs
// (decode attention also as cache GB/s and % of the read bandwidth):
//   attention: qwen3-0.6b shape (16 query heads, 8 KV heads, D = 128), F16 cache: a prompt
//     of T tokens (tiles path), and decode of one token at depth T (fused path) in 28 layers
//     (the caches stream from memory) or in one (decode_hot: its cache stays in the caches,
//     so the kernel's own speed shows);
//   deltanet: qwen3.5-0.8b shape (16 heads, dk = dv = 128): chunked over T tokens, recurrent
//     for one token;
//   blocks: RMSNorm, RoPE and SwiGLU of a qwen3-0.6b layer over T tokens, as GB/s moved.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cmath>
#include <random>
#include <vector>

#include "base/thread_pool.h"
#include "model/attention.h"
#include "model/blocks.h"
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

// The element-wise blocks of a qwen3-0.6b layer over T tokens, with the pool as a batch uses
// it: RMSNorm of the hidden rows (1024), RoPE on the query heads (16 x 128), SwiGLU on the
// feed-forward rows (3072). Reported as GB/s of floats read and written, and as % of the read
// bandwidth (over 100 where the rows stay in the caches).
enum class Block { RmsNorm, Rope, SwiGlu };
void blocks_bench(benchmark::State& state, Block block) {
    const int64_t T = state.range(0), hidden = 1024, ffn = 3072;
    const blocks::Rope rope = blocks::make_rope(blocks::RopeStyle::Neox, kD, 1e6f, nullptr);
    std::vector<float> cs(T * kD);
    blocks::rope_angles(rope, 0, T, cs.data());
    const int64_t n = block == Block::RmsNorm ? T * hidden
                      : block == Block::Rope  ? T * kH * kD
                                              : T * ffn;
    auto x = noise(n, 1.0f);
    std::vector<float> out(n), up(n);
    const auto w = noise(hidden, 1.0f);
    if (block == Block::SwiGlu) {
        // SwiGLU works in place: up = 1 + e^-gate makes silu(gate) * up = gate, a fixed point
        // that attracts for gates in (-2.2, 0), so the rows keep their values from one
        // iteration to the next instead of drifting into denormals and infinities.
        std::mt19937 rng(4);
        std::uniform_real_distribution<float> gate(-2.0f, -0.1f);
        for (int64_t i = 0; i < n; ++i) x[i] = gate(rng), up[i] = 1.0f + std::exp(-x[i]);
    }
    const auto t0 = std::chrono::steady_clock::now();
    for (auto _ : state) {
        switch (block) {
            case Block::RmsNorm:
                blocks::rmsnorm(x.data(), w.data(), out.data(), T, hidden, 1e-6f, pool());
                break;
            case Block::Rope: blocks::apply_rope(rope, cs.data(), x.data(), T, kH, kD); break;
            case Block::SwiGlu: blocks::swiglu(x.data(), up.data(), n, pool()); break;
        }
        benchmark::DoNotOptimize(x.data());
        benchmark::DoNotOptimize(out.data());
    }
    const double seconds = bench::seconds_since(t0);
    // Floats moved per element: x read and x (or out) written, and SwiGLU's second input read.
    const double per_element = block == Block::SwiGlu ? 12 : 8;
    const double gb = double(state.iterations()) * per_element * double(n) / 1e9;
    state.counters["GB/s"] = benchmark::Counter(gb, benchmark::Counter::kIsRate);
    state.counters["%bw"] = bench::percent_of(gb, seconds, bench::peaks(pool()).read_gbs);
}

BENCHMARK_CAPTURE(attention_bench, prompt, false, 1)
    ->Arg(512)->Arg(2048)->Arg(4096)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(attention_bench, decode, true, 28)
    ->Arg(512)->Arg(4096)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(attention_bench, decode_hot, true, 1)
    ->Arg(512)->Arg(4096)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(deltanet_bench)->Arg(1)->Arg(512)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(blocks_bench, rmsnorm, Block::RmsNorm)
    ->Arg(1)->Arg(512)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(blocks_bench, rope, Block::Rope)
    ->Arg(1)->Arg(512)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(blocks_bench, swiglu, Block::SwiGlu)
    ->Arg(1)->Arg(512)->UseRealTime()->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace hearth::model

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    hearth::bench::peaks(hearth::model::pool());  // measured before any benchmark runs
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
