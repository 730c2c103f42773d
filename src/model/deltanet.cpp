// Gated DeltaNet numerics. The chunked form follows the WY representation of the delta rule
// (Yang et al., "Gated Delta Networks", 2024): inside a chunk, (I + strictly-lower(β k kᵀ ·
// decay))⁻¹ is built by forward substitution, after which the chunk's outputs and its state
// update are matrix products against the state carried in from the previous chunk.
#include "model/deltanet.h"

#include <algorithm>
#include <cmath>

#include "kernels/activation.h"
#include "kernels/attention.h"
#include "kernels/dispatch.h"
#include "model/deltanet_impl.h"

namespace hearth::model::deltanet {

void conv1d_silu(float* x, const float* w, float* conv_state, int64_t T, const Shape& s,
                 ThreadPool& pool) {
    const int64_t C = s.conv_dim(), K = s.d_conv;
    const auto silu = kernels::activation_kernels(kernels::current_isa()).silu;
    // Channels are independent: each thread takes whole 16-channel lines of them. Tokens go
    // last to first, so that x can take the outputs in place: token t's inputs are tokens
    // t-K+1..t, which are still inputs then. Row w of the window the convolution slides over
    // is conv_state row w for w < K-1, else x row w-K+1.
    constexpr int64_t kLine = 16;
    pool.for_range((C + kLine - 1) / kLine, kLine * T * (K + 2), [&](int64_t l0, int64_t l1) {
        const int64_t c0 = l0 * kLine, c1 = std::min(C, l1 * kLine), n = c1 - c0;
        auto window = [&](int64_t w) {
            return w < K - 1 ? conv_state + w * C + c0 : x + (w - (K - 1)) * C + c0;
        };
        // Taps by position (K, n), so that the loops below run along channels and vectorise;
        // then the next state (window rows T..T+K-2), kept before x is overwritten; then a
        // row of sums.
        thread_local std::vector<float> buf;
        buf.resize((2 * K) * n);
        float* taps = buf.data();
        float* next = taps + K * n;
        float* sum = next + (K - 1) * n;
        for (int64_t c = 0; c < n; ++c)
            for (int64_t j = 0; j < K; ++j) taps[j * n + c] = w[(c0 + c) * K + j];
        for (int64_t r = 0; r < K - 1; ++r) std::copy_n(window(T + r), n, next + r * n);
        for (int64_t t = T - 1; t >= 0; --t) {
            std::fill_n(sum, n, 0.0f);
            for (int64_t j = 0; j < K; ++j) {
                const float* tap = taps + j * n;
                const float* in = window(t + j);
                for (int64_t c = 0; c < n; ++c) sum[c] += tap[c] * in[c];
            }
            float* y = x + t * C + c0;
            std::copy_n(sum, n, y);
            silu(y, n);
        }
        for (int64_t r = 0; r < K - 1; ++r) std::copy_n(next + r * n, n, conv_state + r * C + c0);
    });
}

void l2_normalize(float* x, int64_t T, int64_t n_heads, int64_t dim, int64_t token_stride,
                  float eps, float scale) {
    const auto sum_squares = kernels::activation_kernels(kernels::current_isa()).sum_squares;
    for (int64_t t = 0; t < T; ++t) {
        for (int64_t h = 0; h < n_heads; ++h) {
            float* v = x + t * token_stride + h * dim;
            const double ss = sum_squares(v, dim);
            const float inv = scale / std::max(static_cast<float>(std::sqrt(ss)), eps);
            for (int64_t i = 0; i < dim; ++i) v[i] *= inv;
        }
    }
}

#if HEARTH_X86_KERNELS
namespace avx2 {  // deltanet_avx2.cpp
void recurrent(const Inputs& in, float* state, float* out, int64_t T, const Shape& s, ThreadPool& pool);
void chunked(const Inputs& in, float* state, float* out, int64_t T, const Shape& s,
             kernels::ExpSumFn exp_sum, ThreadPool& pool);
}  // namespace avx2
namespace avx512 {  // deltanet_avx512.cpp
void recurrent(const Inputs& in, float* state, float* out, int64_t T, const Shape& s, ThreadPool& pool);
void chunked(const Inputs& in, float* state, float* out, int64_t T, const Shape& s,
             kernels::ExpSumFn exp_sum, ThreadPool& pool);
}  // namespace avx512
#endif

// The build of the ISA whose kernels are in use (HEARTH_ISA=ref forces the baseline).
void recurrent(const Inputs& in, float* state, float* out, int64_t T, const Shape& s,
               ThreadPool& pool) {
#if HEARTH_X86_KERNELS
    const kernels::Isa isa = kernels::simd_level(kernels::current_isa());
    if (isa == kernels::Isa::Avx2) return avx2::recurrent(in, state, out, T, s, pool);
    if (isa == kernels::Isa::Avx512) return avx512::recurrent(in, state, out, T, s, pool);
#endif
    run_recurrent(in, state, out, T, s, pool);
}

void chunked(const Inputs& in, float* state, float* out, int64_t T, const Shape& s,
             ThreadPool& pool) {
    const kernels::Isa isa = kernels::current_isa();
    const kernels::ExpSumFn exp_sum =
        kernels::attention_kernels(gguf::TensorType::F32, isa).exp_sum;
#if HEARTH_X86_KERNELS
    if (kernels::simd_level(isa) == kernels::Isa::Avx2)
        return avx2::chunked(in, state, out, T, s, exp_sum, pool);
    if (isa == kernels::Isa::Avx512) return avx512::chunked(in, state, out, T, s, exp_sum, pool);
#endif
    run_chunked(in, state, out, T, s, exp_sum, pool);
}

}  // namespace hearth::model::deltanet
