// The x86 levels chosen from CPUID bits, for CPUs described by their documented feature bits
// (Intel SDM, CPUID leaves 1 and 7): which level each family may run.
#include <gtest/gtest.h>

#include "kernels/dispatch.h"

namespace hearth::kernels {
namespace {

// Leaf 1 ECX: FMA 12, OSXSAVE 27, AVX 28, F16C 29.
constexpr uint32_t kLeaf1Avx2 = (1u << 12) | (1u << 27) | (1u << 28) | (1u << 29);
// Leaf 7 EBX: AVX2 5, AVX512F 16, AVX512BW 30, AVX512VL 31. ECX: AVX512_VBMI 1,
// AVX512_VNNI 11. Leaf 7 subleaf 1 EAX: AVX-VNNI 4, AVX512_BF16 5.
constexpr uint32_t kAvx2 = 1u << 5;
constexpr uint32_t kF_BW_VL = (1u << 16) | (1u << 30) | (1u << 31);
constexpr uint32_t kVbmiVnni = (1u << 1) | (1u << 11);
constexpr uint32_t kBf16 = 1u << 5, kAvxVnni = 1u << 4;
constexpr uint64_t kXcr0Zmm = 0xE7;  // x87, SSE, AVX, opmask, ZMM_Hi256, Hi16_ZMM

TEST(X86Features, Levels) {
    struct Case {
        const char* cpu;
        X86Cpuid id;
        bool avx2, avx512, bf16, avx_vnni = false;
    };
    const Case cases[] = {
        {"Haswell (AVX2 only)", {kLeaf1Avx2, kAvx2, 0, 0, 0x7}, true, false, false},
        {"Skylake-X (AVX-512 without VBMI and VNNI)",
         {kLeaf1Avx2, kAvx2 | kF_BW_VL, 0, 0, kXcr0Zmm}, true, false, false},
        {"Ice Lake / Tiger Lake (no BF16)", {kLeaf1Avx2, kAvx2 | kF_BW_VL, kVbmiVnni, 0, kXcr0Zmm},
         true, true, false},
        {"Zen 4 / Sapphire Rapids", {kLeaf1Avx2, kAvx2 | kF_BW_VL, kVbmiVnni, kBf16, kXcr0Zmm},
         true, true, true},
        {"AVX-512 CPU, OS without ZMM state", {kLeaf1Avx2, kAvx2 | kF_BW_VL, kVbmiVnni, kBf16, 0x7},
         true, false, false},
        {"Alder Lake / Meteor Lake (AVX-VNNI without AVX-512)", {kLeaf1Avx2, kAvx2, 0, kAvxVnni, 0x7},
         true, false, false, true},
        {"Zen 5 / Sapphire Rapids (both)",
         {kLeaf1Avx2, kAvx2 | kF_BW_VL, kVbmiVnni, kBf16 | kAvxVnni, kXcr0Zmm}, true, true, true,
         true},
        {"AVX-VNNI bit, OS without YMM state", {kLeaf1Avx2, kAvx2, 0, kAvxVnni, 0x3}, false, false,
         false, false},
        {"AVX-VNNI bit without AVX2", {kLeaf1Avx2, 0, 0, kAvxVnni, 0x7}, false, false, false, false},
        {"AVX2 CPU, OS without YMM state", {kLeaf1Avx2, kAvx2, 0, 0, 0x3}, false, false, false},
        {"AVX2 without FMA", {kLeaf1Avx2 & ~(1u << 12), kAvx2, 0, 0, 0x7}, false, false, false},
    };
    for (const Case& c : cases) {
        const X86Features f = x86_features_from(c.id);
        EXPECT_EQ(f.avx2, c.avx2) << c.cpu;
        EXPECT_EQ(f.avx512, c.avx512) << c.cpu;
        EXPECT_EQ(f.avx512_bf16, c.bf16) << c.cpu;
        EXPECT_EQ(f.avx_vnni, c.avx_vnni) << c.cpu;
    }
}

}  // namespace
}  // namespace hearth::kernels
