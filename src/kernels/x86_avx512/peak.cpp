// Throughput loops for the benchmarks' ceilings (kernels/peak.h): 512-bit streaming reads, VNNI
// vpdpbusd, which the AVX-512 integer kernels are built on, and the 512-bit float FMA, each in
// enough independent chains to cover its latency.
#include <immintrin.h>

#include "kernels/x86_avx2/common.h"
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
    const __m512i ones = _mm512_set1_epi8(1);
    return x86::chains_loop<kChains>(
        rounds, 64,  // 64 multiply-adds per vpdpbusd
        [](int c) { return _mm512_set1_epi32(c); },
        [&](__m512i acc) { return _mm512_dpbusd_epi32(acc, ones, ones); },
        [](__m512i x, __m512i y) { return _mm512_add_epi32(x, y); },
        [](__m512i s) { return _mm512_test_epi32_mask(s, s) != 0; });
}

int64_t f32_fma_loop(int64_t rounds) {
    const __m512 a = _mm512_set1_ps(0.999f), b = _mm512_set1_ps(0.001f);
    return x86::chains_loop<kChains>(
        rounds, 16,  // 16 multiply-adds per vfmadd
        [](int c) { return _mm512_set1_ps(static_cast<float>(c)); },
        [&](__m512 acc) { return _mm512_fmadd_ps(acc, a, b); },
        [](__m512 x, __m512 y) { return _mm512_add_ps(x, y); },
        [](__m512 s) { return _mm512_cmp_ps_mask(s, s, _CMP_ORD_Q) != 0; });
}

}  // namespace hearth::kernels::avx512
