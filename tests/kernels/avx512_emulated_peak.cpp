// The AVX-512 read loop of the benchmarks' bandwidth figure, emulated through SIMDe (see
// avx512_emulation.h): it must sum every whole 128-byte step it is given.
#include "avx512_emulation.h"

#define avx512 avx512_emulated
#include "kernels/x86_avx512/peak.cpp"
#undef avx512

#include <numeric>

namespace hearth::kernels::emulated {
namespace {

TEST(Avx512Emulated, ReadLoopSumsEveryWholeStep) {
    if (!host_has_avx2()) GTEST_SKIP() << "the emulation runs on AVX2";
    std::vector<uint64_t> v(4096 + 16 + 7);
    std::iota(v.begin(), v.end(), uint64_t{1});
    for (size_t words : {size_t{16}, size_t{4096 + 16}, v.size()}) {
        const size_t whole = words / 16 * 16;  // 16 words = one 128-byte step
        const uint64_t want = std::accumulate(v.begin(), v.begin() + whole, uint64_t{0});
        EXPECT_EQ(avx512_emulated::read_sum(v.data(), words * sizeof(uint64_t)), want)
            << words << " words";
    }
}

}  // namespace
}  // namespace hearth::kernels::emulated
