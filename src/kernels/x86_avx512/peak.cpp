// Throughput loops for the benchmarks' ceilings (kernels/peak.h): 512-bit streaming reads, VNNI
// vpdpbusd, which the AVX-512 integer kernels are built on, and the 512-bit float FMA, each in
// enough independent chains to cover its latency.
#include <immintrin.h>

#include "kernels/x86_avx512/kernels_avx512.h"

namespace hearth::kernels::avx512 {

namespace {
constexpr int kChains = 12;
}

uint64_t read_sum(const void* p, size_t bytes) {
    const auto* b = static_cast<const uint8_t*>(p);
    __m512i s0 = _mm512_setzero_si512(), s1 = s0;
    for (size_t i = 0; i + 128 <= bytes; i += 128) {
        s0 = _mm512_add_epi64(s0, _mm512_loadu_si512(b + i));
        s1 = _mm512_add_epi64(s1, _mm512_loadu_si512(b + i + 64));
    }
    alignas(64) uint64_t lanes[8];
    _mm512_store_si512(lanes, _mm512_add_epi64(s0, s1));
    uint64_t sum = 0;
    for (uint64_t l : lanes) sum += l;
    return sum;
}

int64_t int8_madd_loop(int64_t rounds) {
    __m512i acc[kChains];
    for (int c = 0; c < kChains; ++c) acc[c] = _mm512_set1_epi32(c);
    const __m512i a = _mm512_set1_epi8(1), b = _mm512_set1_epi8(1);
    for (int64_t r = 0; r < rounds; ++r)
        for (int c = 0; c < kChains; ++c) acc[c] = _mm512_dpbusd_epi32(acc[c], a, b);
    __m512i s = acc[0];
    for (int c = 1; c < kChains; ++c) s = _mm512_add_epi32(s, acc[c]);
    // Consumed so that the loop stays; always true.
    const int64_t kept = _mm512_test_epi32_mask(s, s) != 0 ? 1 : 0;
    return kept * rounds * kChains * 64;  // 64 multiply-adds per vpdpbusd
}

int64_t f32_fma_loop(int64_t rounds) {
    __m512 acc[kChains];
    for (int c = 0; c < kChains; ++c) acc[c] = _mm512_set1_ps(static_cast<float>(c));
    const __m512 a = _mm512_set1_ps(0.999f), b = _mm512_set1_ps(0.001f);
    for (int64_t r = 0; r < rounds; ++r)
        for (int c = 0; c < kChains; ++c) acc[c] = _mm512_fmadd_ps(acc[c], a, b);
    __m512 s = acc[0];
    for (int c = 1; c < kChains; ++c) s = _mm512_add_ps(s, acc[c]);
    const int64_t kept = _mm512_cmp_ps_mask(s, s, _CMP_ORD_Q) != 0 ? 1 : 0;
    return kept * rounds * kChains * 16;  // 16 multiply-adds per vfmadd
}

}  // namespace hearth::kernels::avx512
