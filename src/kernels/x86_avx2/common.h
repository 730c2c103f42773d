// Helpers shared by the AVX2 and AVX-512 kernel files (both are built with AVX2 enabled):
// horizontal sums and the ny-token dispatch that turns a gemm<NY> template into a GemmFn.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace hearth::kernels::x86 {

inline float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

inline float f16(uint16_t h) { return _cvtsh_ss(h); }

template <typename T>
const T* row(const void* base, size_t stride, int64_t i) {
    return reinterpret_cast<const T*>(static_cast<const uint8_t*>(base) + i * stride);
}

// K::run<NY> handles exactly NY tokens; larger ny is done kMaxNy tokens at a time.
template <typename K, int kMaxNy>
void gemm_dispatch(int64_t n, const void* w, size_t bw, int64_t nr, const void* a, size_t ba,
                   int ny, float* y, size_t by) {
    while (ny > 0) {
        const int take = std::min(ny, kMaxNy);
        switch (take) {
            case 1: K::template run<1>(n, w, bw, nr, a, ba, y, by); break;
            case 2: K::template run<2>(n, w, bw, nr, a, ba, y, by); break;
            case 3: K::template run<3>(n, w, bw, nr, a, ba, y, by); break;
            case 4: K::template run<4>(n, w, bw, nr, a, ba, y, by); break;
            case 5: if constexpr (kMaxNy >= 5) K::template run<5>(n, w, bw, nr, a, ba, y, by); break;
            case 6: if constexpr (kMaxNy >= 6) K::template run<6>(n, w, bw, nr, a, ba, y, by); break;
            case 7: if constexpr (kMaxNy >= 7) K::template run<7>(n, w, bw, nr, a, ba, y, by); break;
            default: if constexpr (kMaxNy >= 8) K::template run<8>(n, w, bw, nr, a, ba, y, by); break;
        }
        ny -= take;
        a = static_cast<const uint8_t*>(a) + take * ba;
        y += take * by;
    }
}

template <typename K>
float vec_dot_via(int64_t n, const void* w, const void* a) {
    float y = 0.0f;
    K::template run<1>(n, w, 0, 1, a, 0, &y, 0);
    return y;
}

}  // namespace hearth::kernels::x86
