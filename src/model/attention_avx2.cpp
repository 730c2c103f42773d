// The prompt attention item compiled with AVX2 + FMA (see attention_tile.h); attention.cpp
// calls it when the CPU has them.
#include "model/attention_tile.h"

namespace hearth::model::avx2 {

void attend_tile(const float* q, int64_t q_stride, int64_t ny, int64_t group, const float* kT,
                 const float* v, int64_t v_panel, int64_t nk, int64_t n_first, int64_t D, float scale,
                 kernels::ExpSumFn exp_sum, float* scratch, float* out, int64_t out_stride) {
    model::attend_tile(q, q_stride, ny, group, kT, v, v_panel, nk, n_first, D, scale, exp_sum,
                       scratch, out, out_stride);
}

}  // namespace hearth::model::avx2
