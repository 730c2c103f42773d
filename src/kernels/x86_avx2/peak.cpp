// Throughput loops for the benchmarks' ceilings (kernels/peak.h): 256-bit streaming reads, the
// instruction the AVX2 integer kernels multiply with (vpmaddubsw) and the float FMA, each in
// enough independent chains to cover its latency.
#include <immintrin.h>

#include "kernels/x86_avx2/common.h"
#include "kernels/x86_avx2/kernels_avx2.h"

namespace hearth::kernels::avx2 {

namespace {
constexpr int kChains = 12;
}

uint64_t read_sum(const void* p, size_t bytes) {
    const auto* b = static_cast<const uint8_t*>(p);
    __m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0;
    for (size_t i = 0; i + 128 <= bytes; i += 128) {
        s0 = _mm256_add_epi64(s0, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + i)));
        s1 = _mm256_add_epi64(s1, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + i + 32)));
        s2 = _mm256_add_epi64(s2, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + i + 64)));
        s3 = _mm256_add_epi64(s3, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + i + 96)));
    }
    const __m256i s = _mm256_add_epi64(_mm256_add_epi64(s0, s1), _mm256_add_epi64(s2, s3));
    return static_cast<uint64_t>(_mm256_extract_epi64(s, 0) + _mm256_extract_epi64(s, 1) +
                                 _mm256_extract_epi64(s, 2) + _mm256_extract_epi64(s, 3));
}

int64_t int8_madd_loop(int64_t rounds) {
    const __m256i b = _mm256_set1_epi8(1);
    return x86::chains_loop<kChains>(
        rounds, 32,  // 32 multiply-adds per vpmaddubsw
        [](int c) { return _mm256_set1_epi8(static_cast<char>(c + 1)); },
        [&](__m256i acc) { return _mm256_maddubs_epi16(acc, b); },
        [](__m256i x, __m256i y) { return _mm256_or_si256(x, y); },
        [](__m256i s) { return !_mm256_testz_si256(s, s); });
}

int64_t f32_fma_loop(int64_t rounds) {
    const __m256 a = _mm256_set1_ps(0.999f), b = _mm256_set1_ps(0.001f);
    return x86::chains_loop<kChains>(
        rounds, 8,  // 8 multiply-adds per vfmadd
        [](int c) { return _mm256_set1_ps(static_cast<float>(c)); },
        [&](__m256 acc) { return _mm256_fmadd_ps(acc, a, b); },
        [](__m256 x, __m256 y) { return _mm256_add_ps(x, y); },
        [](__m256 s) { return _mm256_movemask_ps(_mm256_cmp_ps(s, s, _CMP_ORD_Q)) != 0; });
}

}  // namespace hearth::kernels::avx2
