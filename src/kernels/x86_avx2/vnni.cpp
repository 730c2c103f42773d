// The packed K-quant batch paths on AVX-VNNI (Alder Lake, Zen 5 and later): vpdpbusd on 256-bit
// vectors sums a whole sub-block's products in int32 in one instruction per step, where AVX2
// needs vpmaddubsw, an int16 add and, every few steps (the int16 bound), a widening vpmaddwd.
// Same packed layouts and activations as the AVX2 paths (packed_k.h).
#include <immintrin.h>

#include "kernels/x86_avx2/kernels_avx2.h"
#include "kernels/x86_avx2/packed_k.h"

namespace hearth::kernels::avx2 {

namespace {

// packed_gemm's steps: a sub-block's products summed in int32, then multiplied by its scale
// (the low half of the (s, s) pair, sign-extended) and added to the sums. vpdpbusd's latency
// is 4 cycles at 2 a cycle (Zen 5), so 8 sums must be in flight: 4 tokens, in 2 parts each
// (6 tokens unsplit left a quarter of its throughput unused).
struct VnniSteps {
    static constexpr int kRun = 4, kSplit = 2;
    static constexpr bool kUnrollSteps = true;
    template <typename P>
    static constexpr int steps() { return 8 / P::kSubs; }
    static __m256i combine(__m256i x, __m256i y) { return _mm256_add_epi32(x, y); }
    static __m256i add(__m256i part, __m256i w, __m256i a) {
        return _mm256_dpbusd_avx_epi32(part, w, a);
    }
    static __m256i scale(__m256i sums, __m256i part, __m256i pair) {
        return _mm256_add_epi32(sums, _mm256_mullo_epi32(part, _mm256_srai_epi32(pair, 16)));
    }
};

}  // namespace

void gemm_packed_q4_K_q8_K_vnni(int64_t n, const void* packed, int64_t ng, const void* a,
                                size_t ba, int64_t ny, float* y, size_t by) {
    packed_gemm<PackedQ45KLayout<false>, VnniSteps>(n / kQK_K, packed, ng, a, ba, ny, y, by);
}
void gemm_packed_q5_K_q8_K_vnni(int64_t n, const void* packed, int64_t ng, const void* a,
                                size_t ba, int64_t ny, float* y, size_t by) {
    packed_gemm<PackedQ45KLayout<true>, VnniSteps>(n / kQK_K, packed, ng, a, ba, ny, y, by);
}
#define HEARTH_DEFINE_PACKED_K16_VNNI(name, Block)                                              \
    void gemm_packed_##name##_q8_K_vnni(int64_t n, const void* packed, int64_t ng, const void* a, \
                                        size_t ba, int64_t ny, float* y, size_t by) {            \
        packed_gemm<PackedK16Layout<Block>, VnniSteps>(n / kQK_K, packed, ng, a, ba, ny, y, by);  \
    }
HEARTH_DEFINE_PACKED_K16_VNNI(q6_K, BlockQ6_K)
HEARTH_DEFINE_PACKED_K16_VNNI(q3_K, BlockQ3_K)
HEARTH_DEFINE_PACKED_K16_VNNI(q2_K, BlockQ2_K)

// As avx2::int8_madd_loop, with 256-bit vpdpbusd.
int64_t int8_madd_loop_vnni(int64_t rounds) {
    constexpr int kChains = 8;  // 12 leave GCC spilling some of the 16 registers
    __m256i acc[kChains];
    for (int c = 0; c < kChains; ++c) acc[c] = _mm256_set1_epi32(c);
    const __m256i a = _mm256_set1_epi8(1), b = _mm256_set1_epi8(1);
    for (int64_t r = 0; r < rounds; ++r)
        for (int c = 0; c < kChains; ++c) acc[c] = _mm256_dpbusd_avx_epi32(acc[c], a, b);
    __m256i s = acc[0];
    for (int c = 1; c < kChains; ++c) s = _mm256_add_epi32(s, acc[c]);
    // Consumed so that the loop stays; always true.
    const int64_t kept = _mm256_testz_si256(s, s) == 0 ? 1 : 0;
    return kept * rounds * kChains * 32;  // 32 multiply-adds per vpdpbusd
}

}  // namespace hearth::kernels::avx2
