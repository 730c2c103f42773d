// Dequantization of the non-uniform 4-bit formats IQ4_NL (32-element blocks) and IQ4_XS
// (256-element super-blocks with 6-bit sub-block scales). Other IQ formats are not supported.
#include "base/fp16.h"
#include "kernels/ref/blocks.h"
#include "kernels/ref/convert.h"

namespace hearth::kernels::ref {

// The 16 reconstruction levels shared by IQ4_NL and IQ4_XS; fixed by the file format. They are
// denser near zero because trained weights are roughly Gaussian.
static constexpr int8_t kIq4nlValues[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                            1,    13,   25,  38,  53,  69,  89,  113};

// One 32-element run: element j from the low nibble of qs[j], element j + 16 from the high one.
static inline void dequantize_iq4_run(const uint8_t* qs, float d, float* dst) {
    for (int j = 0; j < 16; ++j) {
        dst[j] = d * kIq4nlValues[qs[j] & 0xF];
        dst[j + 16] = d * kIq4nlValues[qs[j] >> 4];
    }
}

void dequantize_row_iq4_nl(const void* src, float* dst, int64_t n) {
    const auto* x = static_cast<const BlockIQ4_NL*>(src);
    for (int64_t i = 0; i < n / kQK; ++i, dst += kQK) {
        dequantize_iq4_run(x[i].qs, f16_to_f32(x[i].d), dst);
    }
}

void dequantize_row_iq4_xs(const void* src, float* dst, int64_t n) {
    const auto* x = static_cast<const BlockIQ4_XS*>(src);
    for (int64_t i = 0; i < n / kQK_K; ++i) {
        const float d = f16_to_f32(x[i].d);
        for (int ib = 0; ib < kQK_K / 32; ++ib, dst += 32) {
            // Sub-block ib: low 4 scale bits in nibble ib % 2 of scales_l[ib / 2], high 2 bits
            // at bit 2 * ib of scales_h.
            const int low = (x[i].scales_l[ib / 2] >> (4 * (ib % 2))) & 0xF;
            const int high = (x[i].scales_h >> (2 * ib)) & 3;
            const float dl = d * ((low | (high << 4)) - 32);
            dequantize_iq4_run(x[i].qs + 16 * ib, dl, dst);
        }
    }
}

}  // namespace hearth::kernels::ref
