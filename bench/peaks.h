// This machine's ceilings (kernels/peak.h) for the microbenchmarks' "%peak" counters: measured
// once per run with the benchmarks' 2-thread pool, and listed in the report's context.
#pragma once

#include <benchmark/benchmark.h>

#include <chrono>
#include <string>

#include "base/thread_pool.h"
#include "kernels/dispatch.h"
#include "kernels/peak.h"

namespace hearth::bench {

struct Peaks {
    double read_gbs = 0;
    double int8_gops[4] = {};  // by kernels::Isa
    double f32_gflops[4] = {};
};

inline const Peaks& peaks(ThreadPool& pool) {
    static const Peaks p = [&pool] {
        Peaks r;
        r.read_gbs = kernels::measure_read_bandwidth(pool);
        benchmark::AddCustomContext("read bandwidth", std::to_string(r.read_gbs) + " GB/s");
        for (kernels::Isa isa : kernels::available_isas()) {
            const auto i = static_cast<int>(isa);
            r.int8_gops[i] = kernels::measure_int8_peak(pool, isa);
            r.f32_gflops[i] = kernels::measure_f32_peak(pool, isa);
            if (r.int8_gops[i] <= 0) continue;
            benchmark::AddCustomContext(
                std::string(kernels::isa_name(isa)) + " peak",
                std::to_string(r.int8_gops[i]) + " int8 GOPS (" +
                    kernels::int8_peak_instruction(isa) + "), " + std::to_string(r.f32_gflops[i]) +
                    " f32 GFLOP/s");
        }
        return r;
    }();
    return p;
}

// A "%peak" counter: `work` (in the peak's units: GB or GFLOP) done in `seconds`, as a
// percentage of peak (a plain value: Google Benchmark would print a rate counter as "/s").
inline benchmark::Counter percent_of(double work, double seconds, double peak) {
    return benchmark::Counter(seconds > 0 && peak > 0 ? 100.0 * work / seconds / peak : 0.0);
}

// Wall-clock seconds since t0.
inline double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace hearth::bench
