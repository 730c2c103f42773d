#include "kernels/peak.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "base/mapped_file.h"
#include "base/status.h"
#if HEARTH_X86_KERNELS
#include "kernels/x86_avx2/kernels_avx2.h"
#include "kernels/x86_avx512/kernels_avx512.h"
#endif

namespace hearth::kernels {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Best of three runs of loop(rounds) on every thread, as 10^9 operations (2 per multiply-add)
// per second.
double best_rate(ThreadPool& pool, int64_t (*loop)(int64_t)) {
    constexpr int64_t kRounds = 4 << 20;  // ~20-50 ms per thread on current cores
    double best = 0;
    for (int rep = 0; rep < 3; ++rep) {
        std::vector<int64_t> done(pool.size());
        const auto t0 = Clock::now();
        pool.run([&](int ith, int) { done[ith] = loop(kRounds); });
        const double s = seconds_since(t0);
        int64_t total = 0;
        for (int64_t d : done) total += d;
        best = std::max(best, 2.0 * static_cast<double>(total) / s / 1e9);
    }
    return best;
}

uint64_t read_sum_scalar(const void* p, size_t bytes) {
    const auto* q = static_cast<const uint64_t*>(p);
    uint64_t a = 0, b = 0, c = 0, d = 0;
    for (size_t i = 0; i + 4 <= bytes / 8; i += 4) a += q[i], b += q[i + 1], c += q[i + 2], d += q[i + 3];
    return a + b + c + d;
}

}  // namespace

double measure_read_bandwidth(ThreadPool& pool) {
    const size_t n = size_t{1} << 30;  // 1 GiB
    // Ones on 2 MiB pages where the kernel gives them, as weights are mapped
    // (base/mapped_file.h), so the reads see the same TLB reach as a decode step's.
    const std::shared_ptr<uint8_t> bytes = huge_buffer(n);
    HEARTH_CHECK(bytes != nullptr);
    const std::span<uint64_t> buf(reinterpret_cast<uint64_t*>(bytes.get()), n / sizeof(uint64_t));
    std::fill(buf.begin(), buf.end(), uint64_t{1});
    uint64_t (*read)(const void*, size_t) = read_sum_scalar;
#if HEARTH_X86_KERNELS
    if (isa_available(Isa::Avx512)) read = avx512::read_sum;
    else if (isa_available(Isa::Avx2)) read = avx2::read_sum;
#endif
    std::vector<uint64_t> sums(pool.size());
    double best = 0;
    for (int rep = 0; rep < 5; ++rep) {
        const auto t0 = Clock::now();
        pool.run([&](int ith, int nth) {
            const Range r = split_range(static_cast<int64_t>(buf.size()), ith, nth);
            sums[ith] = read(buf.data() + r.begin, (r.end - r.begin) * sizeof(uint64_t));
        });
        best = std::max(best, n / seconds_since(t0) / 1e9);
    }
    HEARTH_CHECK(sums[0] > 0);  // keeps the reads from being optimised away
    return best;
}

double measure_int8_peak(ThreadPool& pool, Isa isa) {
#if HEARTH_X86_KERNELS
    if (isa == Isa::Avx2 && isa_available(isa)) return best_rate(pool, avx2::int8_madd_loop);
    if (isa == Isa::AvxVnni && isa_available(isa))
        return best_rate(pool, avx2::int8_madd_loop_vnni);
    if (isa == Isa::Avx512 && isa_available(isa)) return best_rate(pool, avx512::int8_madd_loop);
#endif
    (void)pool;
    (void)isa;
    return 0;
}

double measure_f32_peak(ThreadPool& pool, Isa isa) {
#if HEARTH_X86_KERNELS
    if (simd_level(isa) == Isa::Avx2 && isa_available(isa))
        return best_rate(pool, avx2::f32_fma_loop);
    if (isa == Isa::Avx512 && isa_available(isa)) return best_rate(pool, avx512::f32_fma_loop);
#endif
    (void)pool;
    (void)isa;
    return 0;
}

const char* int8_peak_instruction(Isa isa) {
    switch (isa) {
        case Isa::Avx2: return "vpmaddubsw";
        case Isa::AvxVnni: return "vpdpbusd ymm";
        case Isa::Avx512: return "vpdpbusd";
        default: return "";
    }
}

}  // namespace hearth::kernels
