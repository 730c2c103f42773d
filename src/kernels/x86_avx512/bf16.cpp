// AVX-512 BF16 weights with BF16 activations (vdpbf16ps: exact bf16 products summed in float,
// 32 elements per op). The one file built with -mavx512bf16: the rest of the AVX-512 kernels run
// on CPUs without it (Ice Lake, Tiger Lake), which take the AVX2 kernel for BF16 instead.
#include <immintrin.h>

#include "base/fp16.h"
#include "kernels/x86_avx2/common.h"
#include "kernels/x86_avx512/common.h"
#include "kernels/x86_avx512/kernels_avx512.h"

namespace hearth::kernels::avx512 {

namespace {

struct GemmBF16 {
    template <int NY>
    static void run(int64_t n, const void* w, size_t bw, int64_t nr, const void* a, size_t ba,
                    float* y, size_t by) {
        const uint16_t* at[NY];
        for (int t = 0; t < NY; ++t) at[t] = x86::row<uint16_t>(a, ba, t);
        for (int64_t r = 0; r < nr; ++r) {
            const uint16_t* wr = x86::row<uint16_t>(w, bw, r);
            __m512 acc[NY];
            for (int t = 0; t < NY; ++t) acc[t] = _mm512_setzero_ps();
            int64_t k = 0;
            for (; k + 32 <= n; k += 32) {
                const __m512bh w0 = (__m512bh)_mm512_loadu_si512(wr + k);
                for (int t = 0; t < NY; ++t)
                    acc[t] = _mm512_dpbf16_ps(acc[t], w0, (__m512bh)_mm512_loadu_si512(at[t] + k));
            }
            for (int t = 0; t < NY; ++t) {
                float s = hsum512(acc[t]);
                for (int64_t j = k; j < n; ++j) s += bf16_to_f32(wr[j]) * bf16_to_f32(at[t][j]);
                y[t * by + r] = s;
            }
        }
    }
};

}  // namespace

float vec_dot_bf16_bf16(int64_t n, const void* w, const void* a) {
    return x86::vec_dot_via<GemmBF16>(n, w, a);
}
void gemm_bf16_bf16(int64_t n, const void* w, size_t bw, int64_t nr, const void* a, size_t ba,
                    int ny, float* y, size_t by) {
    x86::gemm_dispatch<GemmBF16, 8>(n, w, bw, nr, a, ba, ny, y, by);
}

}  // namespace hearth::kernels::avx512
