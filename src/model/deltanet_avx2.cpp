// The delta rule compiled with AVX2 + FMA (see deltanet_impl.h); deltanet.cpp calls it when
// the CPU has them.
#include "model/deltanet_impl.h"

namespace hearth::model::deltanet::avx2 {

void recurrent(const Inputs& in, float* state, float* out, int64_t T, const Shape& s, ThreadPool& pool) {
    run_recurrent(in, state, out, T, s, pool);
}

void chunked(const Inputs& in, float* state, float* out, int64_t T, const Shape& s,
             kernels::ExpSumFn exp_sum, ThreadPool& pool) {
    run_chunked(in, state, out, T, s, exp_sum, pool);
}

}  // namespace hearth::model::deltanet::avx2
