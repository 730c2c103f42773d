// The prompt attention item compiled with AVX-512 (see attention_tile.h): tiles of 8 rows x 16
// columns; attention.cpp calls it when the kernels in use are AVX-512.
#include "model/attention_tile.h"

namespace hearth::model::avx512 {

void attend_tile(const float* q, int64_t q_stride, int64_t ny, int64_t group, const float* kT,
                 const float* v, int64_t v_panel, int64_t nk, int64_t n_first, int64_t D, float scale,
                 kernels::ExpSumFn exp_sum, float* scratch, float* out, int64_t out_stride) {
    model::attend_tile(q, q_stride, ny, group, kT, v, v_panel, nk, n_first, D, scale, exp_sum,
                       scratch, out, out_stride);
}

}  // namespace hearth::model::avx512
