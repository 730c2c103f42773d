// The benchmarks' ceilings (kernels/peak.h): the read loops sum every whole 128-byte step they
// are given (so the bandwidth figure counts bytes really read), and the paths without SIMD
// report no int8 or float peak.
#include "kernels/peak.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <numeric>
#include <vector>

#include "base/thread_pool.h"
#include "kernels/dispatch.h"
#if HEARTH_X86_KERNELS
#include "kernels/x86_avx2/kernels_avx2.h"
#endif

namespace hearth::kernels {
namespace {

TEST(Peak, ReadLoopSumsEveryWholeStep) {
#if HEARTH_X86_KERNELS
    if (!isa_available(Isa::Avx2)) GTEST_SKIP() << "no AVX2 on this host";
    std::vector<uint64_t> v(4096 + 16 + 7);
    std::iota(v.begin(), v.end(), uint64_t{1});
    for (size_t words : {size_t{16}, size_t{4096 + 16}, v.size()}) {
        const size_t whole = words / 16 * 16;  // 16 words = one 128-byte step
        const uint64_t want = std::accumulate(v.begin(), v.begin() + whole, uint64_t{0});
        EXPECT_EQ(avx2::read_sum(v.data(), words * sizeof(uint64_t)), want) << words << " words";
    }
#else
    GTEST_SKIP() << "x86 kernels not built";
#endif
}

TEST(Peak, SimdPathsOnly) {
    ThreadPool pool(1);
    EXPECT_EQ(measure_int8_peak(pool, Isa::Ref), 0.0);
    EXPECT_EQ(measure_f32_peak(pool, Isa::Exact), 0.0);
    if (isa_available(Isa::Avx2)) {
        EXPECT_GT(measure_int8_peak(pool, Isa::Avx2), 0.0);
        EXPECT_GT(measure_f32_peak(pool, Isa::Avx2), 0.0);
    }
}

}  // namespace
}  // namespace hearth::kernels
