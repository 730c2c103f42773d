// Decoders of the 32-element weight blocks into 32 signed bytes, shared by the AVX2 and
// AVX-512 legacy-format kernels (both are built with AVX2 enabled).
#pragma once

#include <immintrin.h>

#include <cstring>

#include "kernels/ref/blocks.h"

namespace hearth::kernels::x86 {

// Unnamed: each ISA's files get their own copies. Shared inline definitions compiled with
// different -m flags would be merged by the linker, and one ISA's code could run on another.
namespace {

// Each decoder: Block (weights), ABlock (activations: Q8_0, or Q8_1 when the format has a min m,
// whose products need m * s_a), load() -> 32 bytes in element order, signed unless kHasMin.
struct Q8_0 {
    using Block = BlockQ8_0;
    using ABlock = BlockQ8_0;
    static constexpr bool kHasMin = false;
    static __m256i load(const Block& b) {
        return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs));
    }
};

// Element j from the low nibble of qs[j], j + 16 from the high nibble: one 128-bit lane each.
inline __m256i nibbles(const uint8_t* qs) {
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
    return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(b, 4), b), _mm256_set1_epi8(0xF));
}

struct Q4_0 {
    using Block = BlockQ4_0;
    using ABlock = BlockQ8_0;
    static constexpr bool kHasMin = false;
    static __m256i load(const Block& b) {
        return _mm256_sub_epi8(nibbles(b.qs), _mm256_set1_epi8(8));
    }
};

// The 32 IQ4_NL table values of a 16-byte nibble run (also IQ4_XS's sub-blocks).
inline __m256i iq4nl_values(const uint8_t* qs) {
    const __m256i table = _mm256_setr_epi8(
        -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113,  //
        -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113);
    return _mm256_shuffle_epi8(table, nibbles(qs));
}

struct IQ4_NL {
    using Block = BlockIQ4_NL;
    using ABlock = BlockQ8_0;
    static constexpr bool kHasMin = false;
    static __m256i load(const Block& b) { return iq4nl_values(b.qs); }
};

// Bit 4 of element j is bit j of the 32-bit qh word: 0x10 in byte j where set. Each byte picks
// its qh byte (j / 8) by shuffle, then tests its own bit (j % 8).
inline __m256i q5_high_bits(const uint8_t* qh_bytes) {
    uint32_t qh;
    std::memcpy(&qh, qh_bytes, 4);
    const __m256i pick = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,  //
                                          2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
    const __m256i bit = _mm256_set1_epi64x(0x8040201008040201);
    const __m256i v = _mm256_and_si256(_mm256_shuffle_epi8(_mm256_set1_epi32(qh), pick), bit);
    return _mm256_and_si256(_mm256_cmpeq_epi8(v, bit), _mm256_set1_epi8(0x10));
}

struct Q5_0 {
    using Block = BlockQ5_0;
    using ABlock = BlockQ8_0;
    static constexpr bool kHasMin = false;
    static __m256i load(const Block& b) {
        return _mm256_sub_epi8(_mm256_or_si256(nibbles(b.qs), q5_high_bits(b.qh)),
                               _mm256_set1_epi8(16));
    }
};

struct Q4_1 {
    using Block = BlockQ4_1;
    using ABlock = BlockQ8_1;
    static constexpr bool kHasMin = true;
    static __m256i load(const Block& b) { return nibbles(b.qs); }
};

struct Q5_1 {
    using Block = BlockQ5_1;
    using ABlock = BlockQ8_1;
    static constexpr bool kHasMin = true;
    static __m256i load(const Block& b) {
        return _mm256_or_si256(nibbles(b.qs), q5_high_bits(b.qh));
    }
};

}  // namespace

}  // namespace hearth::kernels::x86
