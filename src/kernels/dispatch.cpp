// The per-ISA kernel tables and the one-time ISA choice. Only this file knows which ISA has
// which kernel; a type an ISA has no SIMD kernel for takes the next lower ISA's entry, ending at
// the scalar ref kernels, so every type works on every ISA.
#include "kernels/dispatch.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "kernels/activation.h"
#include "kernels/attention.h"
#include "kernels/kernels.h"
#include "kernels/ref/activation.h"
#include "kernels/ref/attention.h"
#include "kernels/ref/blocks.h"
#include "kernels/ref/convert.h"
#include "kernels/ref/vec_dot.h"
#if HEARTH_X86_KERNELS
#include <cpuid.h>

#include "kernels/x86_avx2/kernels_avx2.h"
#include "kernels/x86_avx512/kernels_avx512.h"
#endif

namespace hearth::kernels {

namespace {

using gguf::TensorType;

constexpr size_t kTableSize = static_cast<size_t>(TensorType::BF16) + 1;
constexpr Isa kAllIsas[] = {Isa::Exact, Isa::Ref, Isa::Avx2, Isa::AvxVnni, Isa::Avx512};
using Table = std::array<MatmulKernels, kTableSize>;

void set(Table& t, TensorType type, MatmulKernels k) { t[static_cast<size_t>(type)] = k; }

template <VecDotFn F>
MatmulKernels ref_entry(TensorType act, ActQuantizeFn q) {
    return {.vec_dot_type = act,
            .quantize = q,
            .vec_dot = F,
            .gemm = ref::gemm_by_vec_dot<F>,
            .gemm_tokens = 1};
}

Table make_ref() {
    Table t{};
    set(t, TensorType::F32, ref_entry<ref::vec_dot_f32_f32>(TensorType::F32, nullptr));
    set(t, TensorType::F16,
        ref_entry<ref::vec_dot_f16_f16>(TensorType::F16, ref::quantize_row_f16));
    set(t, TensorType::BF16,
        ref_entry<ref::vec_dot_bf16_bf16>(TensorType::BF16, ref::quantize_row_bf16));
    const auto q8_0 = ref::quantize_row_q8_0, q8_1 = ref::quantize_row_q8_1;
    const auto q8_K = ref::quantize_row_q8_K;
    set(t, TensorType::Q4_0, ref_entry<ref::vec_dot_q4_0_q8_0>(TensorType::Q8_0, q8_0));
    set(t, TensorType::Q4_1, ref_entry<ref::vec_dot_q4_1_q8_1>(TensorType::Q8_1, q8_1));
    set(t, TensorType::Q5_0, ref_entry<ref::vec_dot_q5_0_q8_0>(TensorType::Q8_0, q8_0));
    set(t, TensorType::Q5_1, ref_entry<ref::vec_dot_q5_1_q8_1>(TensorType::Q8_1, q8_1));
    set(t, TensorType::Q8_0, ref_entry<ref::vec_dot_q8_0_q8_0>(TensorType::Q8_0, q8_0));
    set(t, TensorType::IQ4_NL, ref_entry<ref::vec_dot_iq4_nl_q8_0>(TensorType::Q8_0, q8_0));
    set(t, TensorType::Q2_K, ref_entry<ref::vec_dot_q2_K_q8_K>(TensorType::Q8_K, q8_K));
    set(t, TensorType::Q3_K, ref_entry<ref::vec_dot_q3_K_q8_K>(TensorType::Q8_K, q8_K));
    set(t, TensorType::Q4_K, ref_entry<ref::vec_dot_q4_K_q8_K>(TensorType::Q8_K, q8_K));
    set(t, TensorType::Q5_K, ref_entry<ref::vec_dot_q5_K_q8_K>(TensorType::Q8_K, q8_K));
    set(t, TensorType::Q6_K, ref_entry<ref::vec_dot_q6_K_q8_K>(TensorType::Q8_K, q8_K));
    set(t, TensorType::IQ4_XS, ref_entry<ref::vec_dot_iq4_xs_q8_K>(TensorType::Q8_K, q8_K));
    return t;
}

#if HEARTH_X86_KERNELS
// Sets table t's packed batch path of type w (dispatch.h), taken from min_tokens tokens on.
void set_packed(Table& t, TensorType w, PackedBytesFn bytes, PackFn pack, PackedGemmFn gemm,
                ActQuantizeFn act, int64_t min_tokens, ActBytesFn act_bytes = nullptr) {
    MatmulKernels& k = t[static_cast<size_t>(w)];
    k.packed_bytes = bytes;
    k.pack = pack;
    k.gemm_packed = gemm;
    k.packed_quantize = act;
    k.packed_act_bytes = act_bytes;
    k.pack_min_tokens = min_tokens;
}

// Starts from `base` and replaces the entries this ISA has kernels for. The activation
// quantizers of the lower tables are swapped for the SIMD ones (bit-identical output).
Table make_avx2(const Table& base) {
    Table t = base;
    for (auto& k : t) {
        if (k.quantize == ref::quantize_row_q8_0) k.quantize = avx2::quantize_row_q8_0;
        if (k.quantize == ref::quantize_row_q8_K) k.quantize = avx2::quantize_row_q8_K;
        if (k.quantize == ref::quantize_row_f16) k.quantize = avx2::quantize_row_f16;
    }
    auto put = [&t](TensorType w, VecDotFn v, GemmFn g) {
        MatmulKernels& k = t[static_cast<size_t>(w)];
        k.vec_dot = v;
        k.gemm = g;
        k.gemm_tokens = 4;
    };
    put(TensorType::F32, avx2::vec_dot_f32_f32, avx2::gemm_f32_f32);
    put(TensorType::F16, avx2::vec_dot_f16_f16, avx2::gemm_f16_f16);
    put(TensorType::BF16, avx2::vec_dot_bf16_bf16, avx2::gemm_bf16_bf16);
    put(TensorType::Q8_0, avx2::vec_dot_q8_0_q8_0, avx2::gemm_q8_0_q8_0);
    put(TensorType::Q4_0, avx2::vec_dot_q4_0_q8_0, avx2::gemm_q4_0_q8_0);
    put(TensorType::Q5_0, avx2::vec_dot_q5_0_q8_0, avx2::gemm_q5_0_q8_0);
    put(TensorType::IQ4_NL, avx2::vec_dot_iq4_nl_q8_0, avx2::gemm_iq4_nl_q8_0);
    put(TensorType::Q4_1, avx2::vec_dot_q4_1_q8_1, avx2::gemm_q4_1_q8_1);
    put(TensorType::Q5_1, avx2::vec_dot_q5_1_q8_1, avx2::gemm_q5_1_q8_1);
    put(TensorType::Q2_K, avx2::vec_dot_q2_K_q8_K, avx2::gemm_q2_K_q8_K);
    put(TensorType::Q3_K, avx2::vec_dot_q3_K_q8_K, avx2::gemm_q3_K_q8_K);
    put(TensorType::Q4_K, avx2::vec_dot_q4_K_q8_K, avx2::gemm_q4_K_q8_K);
    put(TensorType::Q5_K, avx2::vec_dot_q5_K_q8_K, avx2::gemm_q5_K_q8_K);
    // K-quant batches with the rows in lanes. 1024x3072, 2 threads of an Ice Lake, medians of
    // 5: Q4_K 503 us packed against 436 per row at 12 tokens, 656 and 747 at 16, 1940 and 3839
    // at 64; Q5_K 564/514 at 12, 613/761 at 16, 2451/3139 at 64; medians of 3: Q6_K 655/1005
    // at 16, 2208/2983 at 64; Q3_K 987/1254 at 16, 2754/5157 at 64; Q2_K 780/1221 at 16,
    // 2666/4244 at 64.
    set_packed(t, TensorType::Q4_K, avx2::packed_bytes_q4_K, avx2::pack_q4_K,
               avx2::gemm_packed_q4_K_q8_K, avx2::quantize_row_q8_K_paired, 16);
    set_packed(t, TensorType::Q5_K, avx2::packed_bytes_q4_K, avx2::pack_q5_K,
               avx2::gemm_packed_q5_K_q8_K, avx2::quantize_row_q8_K_paired, 16);
    set_packed(t, TensorType::Q6_K, avx2::packed_bytes_q6_K, avx2::pack_q6_K,
               avx2::gemm_packed_q6_K_q8_K, nullptr, 16);
    set_packed(t, TensorType::Q3_K, avx2::packed_bytes_q3_K, avx2::pack_q3_K,
               avx2::gemm_packed_q3_K_q8_K, nullptr, 16);
    set_packed(t, TensorType::Q2_K, avx2::packed_bytes_q2_K, avx2::pack_q2_K,
               avx2::gemm_packed_q2_K_q8_K, nullptr, 16);
    put(TensorType::Q6_K, avx2::vec_dot_q6_K_q8_K, avx2::gemm_q6_K_q8_K);
    put(TensorType::IQ4_XS, avx2::vec_dot_iq4_xs_q8_K, avx2::gemm_iq4_xs_q8_K);
    return t;
}

// AVX2's table with the packed gemms on AVX-VNNI: the K-quants' on AVX2's packing and
// activations, IQ4_XS in Q4_K's layout, and a packed path for Q8_0, Q4_0, Q5_0 and IQ4_NL.
// Thresholds from a Zen 5, 2 threads, 1024x3072, medians of 5 (us packed/unpacked): Q4_K
// 184/214 at 8 tokens, Q5_K 204/245; Q6_K 289/266 at 8, 358/409 at 12; Q2_K 279/275 at 8,
// 345/441 at 12; Q8_0 170/307 at 8; IQ4_XS 204/285 at 8.
Table make_avx_vnni(const Table& avx2) {
    Table t = avx2;
    for (auto [w, min_tokens] : {std::pair{TensorType::Q4_K, 8}, {TensorType::Q5_K, 8},
                                 {TensorType::Q6_K, 12}, {TensorType::Q3_K, 12},
                                 {TensorType::Q2_K, 12}}) {
        MatmulKernels& k = t[static_cast<size_t>(w)];
        k.gemm_packed = avx2::gemm_packed_vnni(w);
        k.pack_min_tokens = min_tokens;
    }
    const TensorType xs = TensorType::IQ4_XS;
    set_packed(t, xs, avx2::packed_bytes_q4_K, avx2::pack_vnni(xs), avx2::gemm_packed_vnni(xs),
               avx2::quantize_row_q8_K_paired, 8);
    // The 32-element formats without a min, which AVX2 has no packed path for.
    for (TensorType w : {TensorType::Q8_0, TensorType::Q4_0, TensorType::Q5_0, TensorType::IQ4_NL})
        set_packed(t, w, avx2::packed_bytes_q8_0_vnni, avx2::pack_vnni(w),
                   avx2::gemm_packed_vnni(w), avx2::quantize_row_q8_0_biased_vnni, 8);
    return t;
}

// bf16: the CPU has AVX512_BF16 (Zen 4/5, Cooper Lake, Sapphire Rapids); without it (Ice Lake,
// Tiger Lake) BF16 weights keep the AVX2 kernel.
Table make_avx512(const Table& base, bool bf16) {
    Table t = base;
    // Only the packed paths set below: AVX2's lose to the AVX-512 per-row kernels (Q2_K,
    // 1024x3072, 64 tokens: 3027 us against 1721; 16 tokens: 884 against 414).
    for (MatmulKernels& k : t) {
        k.packed_bytes = nullptr;
        k.pack = nullptr;
        k.gemm_packed = nullptr;
        k.packed_quantize = nullptr;
        k.packed_act_bytes = nullptr;
    }
    auto put = [&t](TensorType w, VecDotFn v, GemmFn g) {
        MatmulKernels& k = t[static_cast<size_t>(w)];
        k.vec_dot = v;
        k.gemm = g;
        k.gemm_tokens = 8;
    };
    const auto packed = [&t](auto... args) { set_packed(t, args...); };
    put(TensorType::F32, avx512::vec_dot_f32_f32, avx512::gemm_f32_f32);
    put(TensorType::F16, avx512::vec_dot_f16_f16, avx512::gemm_f16_f16);
    if (bf16) put(TensorType::BF16, avx512::vec_dot_bf16_bf16, avx512::gemm_bf16_bf16);
    // Batches of F16 weights, and of BF16 ones where vdpbf16ps is missing, as floats with the
    // rows in lanes (BF16's own kernels multiply two pairs per lane per instruction). On a
    // 2-vCPU Ice Lake, 1024x3072: F16 level with its per-row kernel at 16 tokens, 1.5x faster
    // at 64; BF16 (AVX2's kernel otherwise) 1.4x at 8 tokens, 2.5x at 64.
    packed(TensorType::F16, avx512::packed_bytes_f16, avx512::pack_f16,
           avx512::gemm_packed_f16_f16, avx512::quantize_row_f16_widened, 24,
           avx512::row_bytes_f32);
    if (!bf16)
        packed(TensorType::BF16, avx512::packed_bytes_f16, avx512::pack_bf16,
               avx512::gemm_packed_bf16_bf16, avx512::quantize_row_bf16_widened, 8,
               avx512::row_bytes_f32);
    put(TensorType::Q8_0, avx512::vec_dot_q8_0_q8_0, avx512::gemm_q8_0_q8_0);
    put(TensorType::Q4_0, avx512::vec_dot_q4_0_q8_0, avx512::gemm_q4_0_q8_0);
    put(TensorType::IQ4_NL, avx512::vec_dot_iq4_nl_q8_0, avx512::gemm_iq4_nl_q8_0);
    // The 32-element formats without a min share Q8_0's packed path (Q5_0 keeps its AVX2
    // kernels for fewer tokens). At 8 tokens, 1024x3072, 2 threads: Q8_0 144 us packed, 204
    // unpacked; Q4_0 225 and 275, IQ4_NL 243 and 322 (at 64 tokens 3.4x and 3.3x faster).
    using TypePack = std::pair<TensorType, PackFn>;
    for (auto [w, pack] : {TypePack{TensorType::Q8_0, avx512::pack_q8_0},
                           TypePack{TensorType::Q4_0, avx512::pack_q4_0},
                           TypePack{TensorType::Q5_0, avx512::pack_q5_0},
                           TypePack{TensorType::IQ4_NL, avx512::pack_iq4_nl}})
        packed(w, avx512::packed_bytes_q8_0, pack, avx512::gemm_packed_q8_0_q8_0,
               avx512::quantize_row_q8_0_biased, 8);
    put(TensorType::Q2_K, avx512::vec_dot_q2_K_q8_K, avx512::gemm_q2_K_q8_K);
    put(TensorType::Q3_K, avx512::vec_dot_q3_K_q8_K, avx512::gemm_q3_K_q8_K);
    // Q3_K in Q6_K's packed layout: at 12 tokens 349 us packed, 384 unpacked; 64: 2x.
    packed(TensorType::Q3_K, avx512::packed_bytes_q6_K, avx512::pack_q3_K,
           avx512::gemm_packed_q6_K_q8_K, nullptr, 12);
    put(TensorType::Q4_K, avx512::vec_dot_q4_K_q8_K, avx512::gemm_q4_K_q8_K);
    // Packing costs about half of one 8-token pass: even at 8 tokens (115 us packed, 120
    // unpacked, 1024x3072), a clear gain from 12 (145, 199). Q5_K and IQ4_XS (at 9 tokens 254
    // us packed, 400 unpacked) share the layout.
    packed(TensorType::Q4_K, avx512::packed_bytes_q4_K, avx512::pack_q4_K,
           avx512::gemm_packed_q4_K_q8_K, avx512::quantize_row_q8_K_paired, 9);
    put(TensorType::Q5_K, avx512::vec_dot_q5_K_q8_K, avx512::gemm_q5_K_q8_K);
    packed(TensorType::Q5_K, avx512::packed_bytes_q4_K, avx512::pack_q5_K,
           avx512::gemm_packed_q4_K_q8_K, avx512::quantize_row_q8_K_paired, 9);
    put(TensorType::Q6_K, avx512::vec_dot_q6_K_q8_K, avx512::gemm_q6_K_q8_K);
    // 8 tokens: 149 us packed, 119 unpacked; 12: 178, 193
    packed(TensorType::Q6_K, avx512::packed_bytes_q6_K, avx512::pack_q6_K,
           avx512::gemm_packed_q6_K_q8_K, nullptr, 12);
    put(TensorType::IQ4_XS, avx512::vec_dot_iq4_xs_q8_K, avx512::gemm_iq4_xs_q8_K);
    packed(TensorType::IQ4_XS, avx512::packed_bytes_q4_K, avx512::pack_iq4_xs,
           avx512::gemm_packed_q4_K_q8_K, avx512::quantize_row_q8_K_paired, 9);
    for (MatmulKernels& k : t)
        if (k.quantize == avx2::quantize_row_q8_K) k.quantize = avx512::quantize_row_q8_K;
    return t;
}
#endif

#if HEARTH_X86_KERNELS
// By hand rather than __builtin_cpu_supports: clang 14 does not know every feature name.
X86Features detect_x86() {
    X86Cpuid id;
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return {};
    id.leaf1_ecx = c;
    const bool osxsave = c & (1u << 27);
    if (osxsave) {
        unsigned lo, hi;
        __asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
        id.xcr0 = (static_cast<uint64_t>(hi) << 32) | lo;
    }
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
        id.leaf7_ebx = b;
        id.leaf7_ecx = c;
        if (__get_cpuid_count(7, 1, &a, &b, &c, &d)) id.leaf7_1_eax = a;
    }
    return x86_features_from(id);
}

const X86Features& x86_features() {
    static const X86Features f = detect_x86();
    return f;
}
#endif

bool cpu_has(Isa isa) {
#if HEARTH_X86_KERNELS
    const X86Features& f = x86_features();
    if (isa == Isa::Avx2) return f.avx2;
    if (isa == Isa::AvxVnni) return f.avx_vnni;
    if (isa == Isa::Avx512) return f.avx512;
#endif
    return isa == Isa::Exact || isa == Isa::Ref;
}

struct Tables {
    Table ref, avx2, avx_vnni, avx512;
    int self_check_failures = 0;
};

// Deterministic pseudo-random floats in [-1, 1) (a 32-bit LCG: no state shared with anyone).
float next_random(uint32_t& state) {
    state = state * 1664525u + 1013904223u;
    return static_cast<float>(state >> 8) / 8388608.0f - 1.0f;
}

// Runs k's vec_dot and gemm (and its packed path, if any) on a small random case (48 rows, 5
// tokens; 9 for the packed path, whose three row groups go as a pair and a lone one) and
// compares them with the ref kernels. Used for the AVX-512 table at startup: the development
// machines this code was written on lack AVX-512, so a wrong kernel there turns into a warning
// and the AVX2 kernel instead of wrong logits.
bool agrees_with_ref(TensorType t, const MatmulKernels& k, const MatmulKernels& r) {
    constexpr int64_t kN = 512, kGroups = 3, kRows = kGroups * kPackRows;
    constexpr int kTokens = 5, kPackedTokens = 9;
    const auto wt = gguf::traits(t), at = gguf::traits(r.vec_dot_type);
    const size_t bw = kN / wt.block_size * wt.block_bytes, ba = kN / at.block_size * at.block_bytes;
    std::vector<uint8_t> w(bw * kRows), a(ba * kPackedTokens);
    std::vector<float> x(kN);
    uint32_t state = 12345u + static_cast<uint32_t>(t);
    for (int64_t row = 0; row < kRows; ++row) {
        for (auto& v : x) v = next_random(state);
        if (can_quantize(t)) {
            quantize_row(t, x.data(), w.data() + row * bw, kN);
        } else {  // random levels, every F16 scale field set to 2^-7 (0x2000)
            for (size_t j = 0; j < bw; ++j)
                w[row * bw + j] =
                    static_cast<uint8_t>(static_cast<int>(next_random(state) * 128.0f) & 0xFF);
            for (size_t off = 0; off < bw; off += wt.block_bytes) {
                for (size_t field : half_scale_offsets(t)) {
                    w[row * bw + off + field] = 0x00;
                    w[row * bw + off + field + 1] = 0x20;
                }
            }
        }
    }
    const size_t pba = k.packed_act_bytes != nullptr ? k.packed_act_bytes(kN) : ba;
    std::vector<uint8_t> packed_a(pba * kPackedTokens);
    for (int tok = 0; tok < kPackedTokens; ++tok) {
        for (auto& v : x) v = next_random(state);
        if (r.quantize == nullptr)
            std::memcpy(a.data() + tok * ba, x.data(), ba);
        else
            r.quantize(x.data(), a.data() + tok * ba, kN);
        if (k.packed_quantize != nullptr)
            k.packed_quantize(x.data(), packed_a.data() + tok * pba, kN);
    }
    std::vector<float> got(kRows * kTokens), packed_got(kRows * kPackedTokens);
    k.gemm(kN, w.data(), bw, kRows, a.data(), ba, kTokens, got.data(), kRows);
    if (k.gemm_packed != nullptr) {
        std::vector<uint8_t> packed(k.packed_bytes(kN) * kGroups);
        pack_groups(k, kN, w.data(), bw, kGroups, packed.data());
        const uint8_t* pa = k.packed_quantize ? packed_a.data() : a.data();
        k.gemm_packed(kN, packed.data(), kGroups, pa, k.packed_quantize ? pba : ba, kPackedTokens,
                      packed_got.data(), kRows);
    }
    std::vector<float> want(kRows * kPackedTokens), dots(kRows * kPackedTokens);
    float max_ref = 0.0f;
    for (int tok = 0; tok < kPackedTokens; ++tok) {
        for (int64_t row = 0; row < kRows; ++row) {
            const uint8_t* ar = a.data() + tok * ba;
            want[tok * kRows + row] = r.vec_dot(kN, w.data() + row * bw, ar);
            dots[tok * kRows + row] = k.vec_dot(kN, w.data() + row * bw, ar);
            max_ref = std::max(max_ref, std::fabs(want[tok * kRows + row]));
        }
    }
    // Written so that a NaN anywhere fails (std::max would drop it).
    for (size_t i = 0; i < want.size(); ++i) {
        if (!(std::fabs(dots[i] - want[i]) <= 1e-4f * max_ref)) return false;
        if (i < got.size() && !(std::fabs(got[i] - want[i]) <= 1e-4f * max_ref)) return false;
        if (k.gemm_packed != nullptr && !(std::fabs(packed_got[i] - want[i]) <= 1e-4f * max_ref))
            return false;
    }
    return true;
}

const Tables& tables() {
    static const Tables t = [] {
        Tables r{.ref = make_ref()};
#if HEARTH_X86_KERNELS
        r.avx2 = make_avx2(r.ref);
        r.avx_vnni = make_avx_vnni(r.avx2);
        r.avx512 = make_avx512(r.avx2, x86_features().avx512_bf16);
        if (cpu_has(Isa::Avx512)) {
            for (size_t id = 0; id < kTableSize; ++id) {
                MatmulKernels& k = r.avx512[id];
                const MatmulKernels& base = r.avx2[id];
                // Entries with nothing of AVX-512's own (Q5_0 has only its packed path).
                if (k.vec_dot == nullptr ||
                    (k.vec_dot == base.vec_dot && k.gemm_packed == base.gemm_packed))
                    continue;
                const auto t = static_cast<TensorType>(id);
                if (agrees_with_ref(t, k, r.ref[id])) continue;
                std::fprintf(stderr, "warning: avx512 %s kernel disagrees with ref; using avx2\n",
                             std::string(gguf::type_name(t)).c_str());
                k = r.avx2[id];
                ++r.self_check_failures;
            }
        }
#endif
        return r;
    }();
    return t;
}

}  // namespace

X86Features x86_features_from(const X86Cpuid& id) {
    auto bit = [](uint64_t reg, int n) { return ((reg >> n) & 1) != 0; };
    X86Features f;
    // The OS must save the YMM state (XCR0 bits 1-2) and, for AVX-512, opmask and ZMM (5-7).
    const bool os_ymm = (id.xcr0 & 0x6) == 0x6, os_zmm = (id.xcr0 & 0xE6) == 0xE6;
    const bool osxsave = bit(id.leaf1_ecx, 27), avx = bit(id.leaf1_ecx, 28);
    const bool fma = bit(id.leaf1_ecx, 12), f16c = bit(id.leaf1_ecx, 29);
    f.avx2 = osxsave && avx && os_ymm && fma && f16c && bit(id.leaf7_ebx, 5);
    f.avx_vnni = f.avx2 && bit(id.leaf7_1_eax, 4);
    const bool f_bw_vl = bit(id.leaf7_ebx, 16) && bit(id.leaf7_ebx, 30) && bit(id.leaf7_ebx, 31);
    const bool vbmi_vnni = bit(id.leaf7_ecx, 1) && bit(id.leaf7_ecx, 11);
    f.avx512 = f.avx2 && os_zmm && f_bw_vl && vbmi_vnni;
    f.avx512_bf16 = f.avx512 && bit(id.leaf7_1_eax, 5);
    return f;
}

int self_check_failures() { return tables().self_check_failures; }

bool agrees_with_ref(gguf::TensorType t, const MatmulKernels& k) {
    return agrees_with_ref(t, k, tables().ref[static_cast<size_t>(t)]);
}

bool isa_available(Isa isa) {
    static const std::array<bool, 5> avail = {cpu_has(Isa::Exact), cpu_has(Isa::Ref),
                                              cpu_has(Isa::Avx2), cpu_has(Isa::AvxVnni),
                                              cpu_has(Isa::Avx512)};
    return avail[static_cast<size_t>(isa)];
}

std::span<const Isa> available_isas() {
    static const std::vector<Isa> list = [] {
        std::vector<Isa> v;
        for (Isa i : kAllIsas)
            if (isa_available(i)) v.push_back(i);
        return v;
    }();
    return list;
}

const char* isa_name(Isa isa) {
    switch (isa) {
        case Isa::Exact:
            return "exact";
        case Isa::Ref:
            return "ref";
        case Isa::Avx2:
            return "avx2";
        case Isa::AvxVnni:
            return "avxvnni";
        case Isa::Avx512:
            return "avx512";
    }
    return "?";
}

Isa active_isa() {
    static const Isa isa = [] {
        const char* env = std::getenv("HEARTH_ISA");
        if (env == nullptr || *env == '\0') {
            Isa best = Isa::Ref;
            for (Isa i : available_isas()) best = i;
            return best;
        }
        for (Isa i : kAllIsas) {
            if (std::strcmp(env, isa_name(i)) != 0) continue;
            if (isa_available(i)) return i;
            std::fprintf(stderr, "error: HEARTH_ISA=%s: this CPU or build lacks that ISA\n", env);
            std::exit(2);
        }
        std::fprintf(stderr,
                     "error: HEARTH_ISA=%s: expected exact, ref, avx2, avxvnni or avx512\n", env);
        std::exit(2);
    }();
    return isa;
}

namespace {
std::atomic<int> g_forced_isa{-1};  // -1: none
}  // namespace

Isa current_isa() {
    const int forced = g_forced_isa.load(std::memory_order_relaxed);
    return forced < 0 ? active_isa() : static_cast<Isa>(forced);
}

ScopedIsa::ScopedIsa(Isa isa) : previous_(g_forced_isa.load()) {
    if (!isa_available(isa)) {
        std::fprintf(stderr, "error: ISA %s is not available on this CPU or build\n",
                     isa_name(isa));
        std::exit(2);
    }
    g_forced_isa.store(static_cast<int>(isa));
}

ScopedIsa::~ScopedIsa() { g_forced_isa.store(previous_); }

const MatmulKernels* matmul_kernels(TensorType t, Isa isa) {
    const auto id = static_cast<size_t>(t);
    if (isa == Isa::Exact || id >= kTableSize || !isa_available(isa)) return nullptr;
    const Tables& tb = tables();
    const Table& table = isa == Isa::Avx512    ? tb.avx512
                         : isa == Isa::AvxVnni ? tb.avx_vnni
                         : isa == Isa::Avx2    ? tb.avx2
                                               : tb.ref;
    const MatmulKernels& k = table[id];
    return k.vec_dot != nullptr ? &k : nullptr;
}

const MatmulKernels* interleaved_kernels(TensorType t, Isa isa) {
#if HEARTH_X86_KERNELS
    if (isa != Isa::Avx512 || !isa_available(isa)) return nullptr;
    // The plain entries with the gemm and pack that read the interleaved groups (their vec_dot
    // reads plain rows and is not used on this layout).
    static const MatmulKernels q4k = [] {
        MatmulKernels e = *matmul_kernels(TensorType::Q4_K, Isa::Avx512);
        e.quantize = avx512::quantize_row_q8_K_paired;  // for gemm and gemm_packed alike
        e.packed_quantize = nullptr;
        e.gemm = avx512::gemm_q4_K_interleaved_q8_K;
        e.pack = avx512::pack_q4_K_interleaved;
        return e;
    }();
    static const MatmulKernels q5k = [] {
        MatmulKernels e = *matmul_kernels(TensorType::Q5_K, Isa::Avx512);
        e.quantize = avx512::quantize_row_q8_K_paired;  // for gemm and gemm_packed alike
        e.packed_quantize = nullptr;
        e.gemm = avx512::gemm_q5_K_interleaved_q8_K;
        e.pack = avx512::pack_q5_K_interleaved;
        return e;
    }();
    static const MatmulKernels q6k = [] {
        MatmulKernels e = *matmul_kernels(TensorType::Q6_K, Isa::Avx512);
        e.gemm = avx512::gemm_q6_K_interleaved_q8_K;
        e.pack = avx512::pack_q6_K_interleaved;
        return e;
    }();
    static const MatmulKernels q80 = [] {
        MatmulKernels e = *matmul_kernels(TensorType::Q8_0, Isa::Avx512);
        e.quantize = avx512::quantize_row_q8_0_sum;  // decode and small batches
        e.act_bytes = avx512::row_bytes_q8_0_sum;
        e.packed_quantize = avx512::quantize_row_q8_0_biased;  // the packed tiles of pack
        e.gemm = avx512::gemm_q8_0_interleaved_q8_0;
        e.pack = avx512::pack_q8_0_interleaved;
        return e;
    }();
    if (t == TensorType::Q4_K) return &q4k;
    if (t == TensorType::Q5_K) return &q5k;
    if (t == TensorType::Q6_K) return &q6k;
    if (t == TensorType::Q8_0) return &q80;
    return nullptr;
#else
    (void)t, (void)isa;
    return nullptr;
#endif
}

bool has_interleaved_kernels(Isa isa) {
    for (size_t id = 0; id < kTableSize; ++id)
        if (interleaved_kernels(static_cast<TensorType>(id), isa) != nullptr) return true;
    return false;
}

bool is_kv_cache_type(TensorType t) {
    return t == TensorType::F32 || t == TensorType::F16 || t == TensorType::Q8_0;
}

size_t kv_row_bytes(TensorType t, int64_t n) {
    const auto tr = gguf::traits(t);
    return static_cast<size_t>((n + tr.block_size - 1) / tr.block_size * tr.block_bytes);
}

#if HEARTH_X86_KERNELS
// The AVX2 element-wise kernels, and the AVX2 parts of attention other than its chunk, also
// serve AVX-512 machines: that work is small next to the matmuls.
namespace {
bool runs_avx2_kernels(Isa isa) {
    const Isa level = simd_level(isa);
    return (level == Isa::Avx2 || level == Isa::Avx512) && isa_available(isa);
}
}  // namespace
#endif

const AttentionKernels& attention_kernels(TensorType t, Isa isa) {
    HEARTH_CHECK(is_kv_cache_type(t));
    const int ti = t == TensorType::F32 ? 0 : t == TensorType::F16 ? 1 : 2;
    static const AttentionKernels ref_k[3] = {
        {ref::store_kv_row_f32, ref::load_kv_row_f32, ref::store_k_f32, ref::load_k_f32,
         ref::attention_chunk_f32, ref::exp_sum},
        {ref::store_kv_row_f16, ref::load_kv_row_f16, ref::store_k_f16, ref::load_k_f16,
         ref::attention_chunk_f16, ref::exp_sum},
        {ref::store_kv_row_q8_0, ref::load_kv_row_q8_0, ref::store_k_q8_0, ref::load_k_q8_0,
         ref::attention_chunk_q8_0, ref::exp_sum},
    };
#if HEARTH_X86_KERNELS
    // K panels are stored one position at a time (a token's K is small), by the scalar
    // kernels but for F16's conversion; F16 panels are read with the AVX2 row conversion.
    static const AttentionKernels avx2_k[3] = {
        {ref::store_kv_row_f32, ref::load_kv_row_f32, ref::store_k_f32, ref::load_k_f32,
         avx2::attention_chunk_f32, avx2::exp_sum},
        {avx2::quantize_row_f16, avx2::load_kv_row_f16, avx2::store_k_f16, avx2::load_k_f16,
         avx2::attention_chunk_f16, avx2::exp_sum},
        {avx2::store_kv_row_q8_0, avx2::load_kv_row_q8_0, ref::store_k_q8_0, ref::load_k_q8_0,
         avx2::attention_chunk_q8_0, avx2::exp_sum},
    };
    // The AVX-512 chunk and exp_sum; the cache formats stay AVX2.
    auto avx512_over = [](AttentionKernels k, AttnChunkFn chunk) {
        k.chunk = chunk;
        k.exp_sum = avx512::exp_sum;
        return k;
    };
    static const AttentionKernels avx512_k[3] = {
        avx512_over(avx2_k[0], avx512::attention_chunk_f32),
        avx512_over(avx2_k[1], avx512::attention_chunk_f16),
        avx512_over(avx2_k[2], avx512::attention_chunk_q8_0),
    };
    if (isa == Isa::Avx512 && isa_available(isa)) return avx512_k[ti];
    if (runs_avx2_kernels(isa)) return avx2_k[ti];
#endif
    return ref_k[ti];
}

const ActivationKernels& activation_kernels(Isa isa) {
    static const ActivationKernels ref_k{ref::swiglu, ref::silu, ref::sum_squares};
#if HEARTH_X86_KERNELS
    static const ActivationKernels avx2_k{avx2::swiglu, avx2::silu, avx2::sum_squares};
    static const ActivationKernels avx512_k{avx512::swiglu, avx512::silu, avx2::sum_squares};
    if (isa == Isa::Avx512 && isa_available(isa)) return avx512_k;
    if (runs_avx2_kernels(isa)) return avx2_k;
#endif
    return ref_k;
}

}  // namespace hearth::kernels
