// The per-type matmul kernel table and the instruction-set choice behind matmul(): each weight
// type maps to {activation type, activation quantizer, vec_dot, multi-token gemm} per ISA.
// The ISA is resolved once per process from cpuid, or forced with HEARTH_ISA.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "gguf/types.h"

namespace hearth::kernels {

// Exact: rows dequantized to float, float activations (what the .deq.bin golden files need).
// Ref: scalar kernels on quantized activations, like the reference engine (the SIMD oracle).
// AvxVnni: AVX2 with AVX-VNNI's 256-bit vpdpbusd (Alder Lake, Zen 5 and later) for the packed
// batch paths; AVX2's kernels elsewhere. Not a step between Avx2 and Avx512: Ice Lake has
// AVX-512 without it, Alder Lake it without AVX-512.
enum class Isa { Exact, Ref, Avx2, AvxVnni, Avx512 };

// Dot product of one weight row (n elements, weight layout) with one activation row
// (n elements, the table's vec_dot_type layout).
using VecDotFn = float (*)(int64_t n, const void* w, const void* a);

// y[t * by + r] = dot(w row r, a row t) for r < nr, t < ny (ny <= kMaxGemmTokens).
// Rows of w are bw bytes apart, rows of a are ba bytes apart; by counts floats.
// Each weight block is decoded once and used for all ny tokens.
using GemmFn = void (*)(int64_t n, const void* w, size_t bw, int64_t nr, const void* a, size_t ba,
                        int ny, float* y, size_t by);

// Converts n floats into the activation layout (a row of vec_dot_type blocks, unless the
// kernel set says otherwise with act_bytes).
using ActQuantizeFn = void (*)(const float* src, void* dst, int64_t n);
// Bytes of an activation row of n elements.
using ActBytesFn = size_t (*)(int64_t n);

inline constexpr int kMaxGemmTokens = 8;

// Batches, where an ISA has them: kPackRows weight rows converted once per matmul into a layout
// that keeps the rows in vector lanes (pack writes packed_bytes(n) bytes), then multiplied with
// any number of tokens (gemm_packed: ng such groups packed one after another, y[t * by + r] for
// r < ng * kPackRows, t < ny).
inline constexpr int64_t kPackRows = 16;
using PackedBytesFn = size_t (*)(int64_t n);
using PackFn = void (*)(int64_t n, const void* w, size_t bw, void* dst);
using PackedGemmFn = void (*)(int64_t n, const void* packed, int64_t ng, const void* a, size_t ba,
                              int64_t ny, float* y, size_t by);

struct MatmulKernels {
    gguf::TensorType vec_dot_type = gguf::TensorType::F32;
    ActQuantizeFn quantize = nullptr;
    VecDotFn vec_dot = nullptr;
    GemmFn gemm = nullptr;
    int gemm_tokens = 4;  // tokens per gemm call that fit the ISA's registers
    // The packed batch path; all three or none.
    PackedBytesFn packed_bytes = nullptr;
    PackFn pack = nullptr;
    PackedGemmFn gemm_packed = nullptr;
    // The row bytes of quantize's layout where it is not a row of vec_dot_type blocks (an
    // interleaved kernel's own activations); else nullptr.
    ActBytesFn act_bytes = nullptr;
    // The activations gemm_packed takes, when not quantize's (rows of vec_dot_type blocks);
    // else nullptr.
    ActQuantizeFn packed_quantize = nullptr;
    // The row bytes of packed_quantize's layout where it is not a row of vec_dot_type blocks
    // (the packed F16 and BF16 paths take floats); else nullptr.
    ActBytesFn packed_act_bytes = nullptr;
    // From this many tokens on, matmul takes the packed path: packing kPackRows rows costs
    // about as much as one to two 8-token passes over them.
    int64_t pack_min_tokens = 16;
};

// Packs ng groups of kPackRows rows (bw bytes apart from w) one after another at dst, as k's
// gemm_packed takes them.
inline void pack_groups(const MatmulKernels& k, int64_t n, const uint8_t* w, size_t bw, int64_t ng,
                        uint8_t* dst) {
    const size_t group_bytes = k.packed_bytes(n);
    for (int64_t g = 0; g < ng; ++g) k.pack(n, w + g * kPackRows * bw, bw, dst + g * group_bytes);
}

// Kernels of weight type t on isa, or nullptr when the type has none there (the caller then
// takes the exact path). Never nullptr for Ref on a type that can be dequantized.
const MatmulKernels* matmul_kernels(gguf::TensorType t, Isa isa);

// Kernels of weight type t in the interleaved layout (kernels/interleave.h) on isa, or nullptr
// where isa has none: then the layout is not worth making, and a matrix that has it takes the
// exact path (rows read back through get_row). gemm and pack take groups of 16 rows.
const MatmulKernels* interleaved_kernels(gguf::TensorType t, Isa isa);
// Whether isa has interleaved kernels for some type.
bool has_interleaved_kernels(Isa isa);

// Kernels of an ISA this code could not be tested on (AVX-512 here) are checked against ref at
// startup; one that disagrees is replaced by the AVX2 kernel with a warning. The count of such
// replacements (0 when all agree; tests expect 0).
int self_check_failures();
// The start-up check itself: whether kernel set k for type t (its packed path included)
// agrees with the ref kernels on a small random case. For tests of kernels outside the tables.
bool agrees_with_ref(gguf::TensorType t, const MatmulKernels& k);

// The x86 levels this CPU can run, from its CPUID bits and the OS's XCR0 (which register
// state the OS saves): AVX2 wants FMA and F16C, AVX-VNNI is AVX2 plus leaf 7.1 EAX bit 4,
// AVX-512 wants F, BW, VL, VBMI and VNNI, and BF16 is a separate bit on top (Ice Lake and
// Tiger Lake run AVX-512 without it).
struct X86Cpuid {
    uint32_t leaf1_ecx = 0, leaf7_ebx = 0, leaf7_ecx = 0, leaf7_1_eax = 0;
    uint64_t xcr0 = 0;
};
struct X86Features {
    bool avx2 = false, avx_vnni = false, avx512 = false, avx512_bf16 = false;
};
X86Features x86_features_from(const X86Cpuid& id);

// True when this CPU (and this build) can run isa. Exact and Ref always can.
bool isa_available(Isa isa);
// Every ISA this host can run, Exact first.
std::span<const Isa> available_isas();
const char* isa_name(Isa isa);

// The ISA matmul() uses: HEARTH_ISA=exact|ref|avx2|avxvnni|avx512 when set, else the best
// available (AVX-512, else AVX-VNNI, else AVX2).
// A forced ISA this CPU lacks, or an unknown name, prints an error and exits with status 2:
// a bug report or test run must never silently measure a different path.
Isa active_isa();

// The ISA matmul() without an explicit one uses: a ScopedIsa's when one is alive, else
// active_isa().
Isa current_isa();

// The level whose code runs outside the packed matmuls (attention, DeltaNet, the element-wise
// kernels, the float peak): AvxVnni's is AVX2's.
inline Isa simd_level(Isa isa) { return isa == Isa::AvxVnni ? Isa::Avx2 : isa; }

// Forces current_isa() while alive, for tests that compare a model against a float twin
// (ScopedIsa exact(Isa::Exact);). Not for concurrent use with different ISAs.
class ScopedIsa {
   public:
    explicit ScopedIsa(Isa isa);
    ~ScopedIsa();
    ScopedIsa(const ScopedIsa&) = delete;
    ScopedIsa& operator=(const ScopedIsa&) = delete;

   private:
    int previous_;
};

}  // namespace hearth::kernels
