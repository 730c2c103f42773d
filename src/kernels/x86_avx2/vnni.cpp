// The packed batch paths on AVX-VNNI (Alder Lake, Zen 5 and later). For the K-quants, vpdpbusd
// on 256-bit vectors sums a whole sub-block's products in int32 in one instruction per step,
// where AVX2 needs vpmaddubsw, an int16 add and, every few steps (the int16 bound), a widening
// vpmaddwd; same packed layouts and activations as the AVX2 paths (packed_k.h). The 32-element
// formats without a min (Q8_0, Q4_0, Q5_0, IQ4_NL), whose signed levels vpmaddubsw cannot
// take, get a packed path of their own here (PackedQ8_0).
#include <immintrin.h>

#include <algorithm>
#include <type_traits>

#include "kernels/x86_avx2/kernels_avx2.h"
#include "kernels/x86_avx2/legacy_blocks.h"
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

// Q8_0 batches with the rows in lanes, two halves of 8 rows per block of 16 rows:
//   q[c][h][r][4]  levels 4c..4c+3 of row 8h + r (signed bytes), 512 bytes;
//   off[16]        -128 * the sum of each row's levels (int32), 64 bytes;
//   d[16]          the rows' scales (float), 64 bytes.
// vpdpbusd needs one unsigned side: the activations come with their levels plus 128
// (quantize_row_q8_0_biased_vnni), and off undoes the 128 * sum of the weights that adds.
struct PackedQ8_0 {
    using ABlock = BlockQ8_0;
    static constexpr size_t kLevelBytes = 8 * kPackRows * 4;
    static constexpr size_t kBlockBytes = kLevelBytes + 2 * kPackRows * 4;
    static constexpr int kRun = 4;  // tokens per pass: 2 sums each, 8 in flight (VnniSteps)

    static size_t bytes(int64_t n) { return static_cast<size_t>(n / kQK) * kBlockBytes; }

    // 16 rows of any 32-element format without a min (x86::Q8_0, Q4_0, Q5_0, IQ4_NL: its
    // levels as signed bytes from D::load, times the F16 scale d): its products with Q8_0
    // activations are the same integer sums as Q8_0's.
    template <typename D>
    static void pack(int64_t n, const void* w, size_t bw, void* dst) {
        using Block = typename D::Block;
        static_assert(!D::kHasMin && std::is_same_v<typename D::ABlock, BlockQ8_0>);
        const __m256i ones = _mm256_set1_epi8(1);
        for (int64_t i = 0; i < n / kQK; ++i) {
            uint8_t* b = static_cast<uint8_t*>(dst) + i * kBlockBytes;
            for (int h = 0; h < 2; ++h) {
                __m256i v[8];
                alignas(32) float d[8];
                for (int r = 0; r < 8; ++r) {
                    const auto& block = *reinterpret_cast<const Block*>(
                        static_cast<const uint8_t*>(w) + (8 * h + r) * bw + i * sizeof(Block));
                    v[r] = D::load(block);
                    d[r] = x86::f16(block.d);
                }
                x86::transpose8_epi32(v);  // v[c] lane r: dword c of row 8h + r
                __m256i sum = _mm256_setzero_si256();
                for (int c = 0; c < 8; ++c) {
                    _mm256_storeu_si256(reinterpret_cast<__m256i*>(b + (2 * c + h) * 32), v[c]);
                    sum = _mm256_dpbusd_avx_epi32(sum, ones, v[c]);
                }
                _mm256_storeu_si256(
                    reinterpret_cast<__m256i*>(b + kLevelBytes + h * 32),
                    _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(sum, 7)));
                std::memcpy(b + kLevelBytes + kPackRows * 4 + h * 32, d, sizeof(d));
            }
        }
    }

    // Half h of a group (packed, nb blocks) and NY tokens: y[t * by + r] for row 8h + r.
    template <int NY>
    static void run(int64_t nb, const uint8_t* packed, int h, const BlockQ8_0* const* ay, float* y,
                    size_t by) {
        __m256 acc[NY];
        for (int t = 0; t < NY; ++t) acc[t] = _mm256_setzero_ps();
        for (int64_t i = 0; i < nb; ++i) {
            const uint8_t* b = packed + i * kBlockBytes;
            const __m256i off = load256(b + kLevelBytes + h * 32);
            __m256i part[2][NY];
            for (int t = 0; t < NY; ++t) {
                part[0][t] = off;
                part[1][t] = _mm256_setzero_si256();
            }
#pragma GCC unroll 8
            for (int c = 0; c < 8; ++c) {
                const __m256i wv = load256(b + (2 * c + h) * 32);
                for (int t = 0; t < NY; ++t) {
                    int32_t a4;
                    std::memcpy(&a4, ay[t][i].qs + 4 * c, 4);
                    part[c % 2][t] =
                        _mm256_dpbusd_avx_epi32(part[c % 2][t], _mm256_set1_epi32(a4), wv);
                }
            }
            const __m256 d = _mm256_loadu_ps(
                reinterpret_cast<const float*>(b + kLevelBytes + kPackRows * 4 + h * 32));
            for (int t = 0; t < NY; ++t)
                acc[t] =
                    _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(part[0][t], part[1][t])),
                                    _mm256_mul_ps(d, _mm256_set1_ps(x86::f16(ay[t][i].d))), acc[t]);
        }
        for (int t = 0; t < NY; ++t) _mm256_storeu_ps(y + t * by, acc[t]);
    }

    static void gemm(int64_t n, const void* packed, int64_t ng, const void* a, size_t ba,
                     int64_t ny, float* y, size_t by) {
        packed_halves<PackedQ8_0>(n / kQK, packed, ng, a, ba, ny, y, by);
    }
};

// The K-quants' (and IQ4_XS's) packed gemm, as a PackedGemmFn.
template <typename P>
void gemm_k(int64_t n, const void* packed, int64_t ng, const void* a, size_t ba, int64_t ny,
            float* y, size_t by) {
    packed_gemm<P, VnniSteps>(n / kQK_K, packed, ng, a, ba, ny, y, by);
}

// IQ4_XS packs in PackedQ45KLayout<false>, so that it takes Q4_K's gemm: each level stored as
// its table value plus 128 (1..241, vpdpbusd's unsigned side; vpmaddubsw's int16 sums could not
// hold them), the sub-block scales ls - 32 both as the scales and as the "mins", and dmin =
// 128 d, which takes back off the 128 * scale * sub-block sum of the activations that the
// bias adds.
void pack_iq4_xs(int64_t n, const void* w, size_t bw, void* dst) {
    using L = PackedQ45KLayout<false>;
    const __m256i bias = _mm256_set1_epi8(static_cast<char>(0x80));
    for (int64_t i = 0; i < n / kQK_K; ++i) {
        const auto* blocks = static_cast<const uint8_t*>(w) + i * sizeof(BlockIQ4_XS);  // row 0's
        uint8_t* sb = static_cast<uint8_t*>(dst) + i * L::kBlockBytes;
        auto block = [&](int r) -> const BlockIQ4_XS& {
            return *reinterpret_cast<const BlockIQ4_XS*>(blocks + r * bw);
        };
        for (int h = 0; h < 2; ++h) {
            for (int s = 0; s < 8; ++s) {
                __m256i run[8];
                for (int r = 0; r < 8; ++r) {
                    const __m256i v = x86::iq4nl_values(block(8 * h + r).qs + 16 * s);
                    run[r] = _mm256_xor_si256(v, bias);
                }
                store_run(run, sb, s, h);
            }
        }
        alignas(32) uint32_t scales[8][kPackRows], mins[4][kPackRows];
        alignas(32) float d[2][kPackRows];
        for (int r = 0; r < kPackRows; ++r) {
            const BlockIQ4_XS& x = block(r);
            uint16_t sc[8];
            for (int s = 0; s < 8; ++s) {
                const int ls = ((x.scales_l[s / 2] >> (4 * (s % 2))) & 0xF) |
                               (((x.scales_h >> (2 * s)) & 3) << 4);
                sc[s] = static_cast<uint16_t>(ls - 32);
            }
            for (int s = 0; s < 8; ++s) scales[s][r] = sc[s] | uint32_t{sc[s]} << 16;
            for (int k = 0; k < 4; ++k) mins[k][r] = sc[2 * k] | uint32_t{sc[2 * k + 1]} << 16;
            d[0][r] = x86::f16(x.d);
            d[1][r] = 128.0f * d[0][r];
        }
        uint8_t* tail = sb + kPackedLevelBytes;
        std::memcpy(tail, scales, sizeof(scales));
        std::memcpy(tail + L::kScaleBytes, mins, sizeof(mins));
        std::memcpy(tail + L::kScaleBytes + L::kMinBytes, d, sizeof(d));
    }
}

}  // namespace

size_t packed_bytes_q8_0_vnni(int64_t n) { return PackedQ8_0::bytes(n); }
PackedGemmFn gemm_packed_vnni(gguf::TensorType t) {
    using gguf::TensorType;
    switch (t) {
        case TensorType::Q4_K:
        case TensorType::IQ4_XS: return gemm_k<PackedQ45KLayout<false>>;
        case TensorType::Q5_K: return gemm_k<PackedQ45KLayout<true>>;
        case TensorType::Q6_K: return gemm_k<PackedK16Layout<BlockQ6_K>>;
        case TensorType::Q3_K: return gemm_k<PackedK16Layout<BlockQ3_K>>;
        case TensorType::Q2_K: return gemm_k<PackedK16Layout<BlockQ2_K>>;
        case TensorType::Q8_0:
        case TensorType::Q4_0:
        case TensorType::Q5_0:
        case TensorType::IQ4_NL: return PackedQ8_0::gemm;
        default: return nullptr;
    }
}

PackFn pack_vnni(gguf::TensorType t) {
    using gguf::TensorType;
    switch (t) {
        case TensorType::IQ4_XS: return pack_iq4_xs;
        case TensorType::Q8_0: return PackedQ8_0::pack<x86::Q8_0>;
        case TensorType::Q4_0: return PackedQ8_0::pack<x86::Q4_0>;
        case TensorType::Q5_0: return PackedQ8_0::pack<x86::Q5_0>;
        case TensorType::IQ4_NL: return PackedQ8_0::pack<x86::IQ4_NL>;
        default: return nullptr;
    }
}

void quantize_row_q8_0_biased_vnni(const float* x, void* dst, int64_t n) {
    quantize_row_q8_0(x, dst, n);
    auto* b = static_cast<BlockQ8_0*>(dst);
    const __m256i flip = _mm256_set1_epi8(static_cast<char>(0x80));
    for (int64_t i = 0; i < n / kQK; ++i) {
        auto* q = reinterpret_cast<__m256i*>(b[i].qs);
        _mm256_storeu_si256(q, _mm256_xor_si256(_mm256_loadu_si256(q), flip));
    }
}

// As avx2::int8_madd_loop, with 256-bit vpdpbusd.
int64_t int8_madd_loop_vnni(int64_t rounds) {
    const __m256i ones = _mm256_set1_epi8(1);
    return x86::chains_loop<8>(  // 12 chains leave GCC spilling some of the 16 registers
        rounds, 32,              // 32 multiply-adds per vpdpbusd
        [](int c) { return _mm256_set1_epi32(c); },
        [&](__m256i acc) { return _mm256_dpbusd_avx_epi32(acc, ones, ones); },
        [](__m256i x, __m256i y) { return _mm256_add_epi32(x, y); },
        [](__m256i s) { return !_mm256_testz_si256(s, s); });
}

}  // namespace hearth::kernels::avx2
