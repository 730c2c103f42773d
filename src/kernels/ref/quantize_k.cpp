// Reference quantizers for the K-quant super-blocks Q4_K, Q5_K, Q6_K and Q8_K: per sub-block
// least-squares scale search, then the sub-scales quantized against the F16 super-block scale.
// No importance matrix, so results differ from llama-quantize's; Q2_K/Q3_K are not produced.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "base/fp16.h"
#include "kernels/ref/blocks.h"
#include "kernels/ref/convert.h"

namespace hearth::kernels::ref {

// Four floats, one per trial of a scale search (GCC's vector extension: SSE2 on x86-64,
// plain code elsewhere). Lanes never mix, so every trial's sums are those of a scalar loop.
using F4 = float __attribute__((vector_size(16)));
static inline F4 splat(float v) { return F4{v, v, v, v}; }

// v clamped to [lo, hi], written as the two selects that min/max instructions do.
template <typename T>
static inline T clampf(T v, T lo, T hi) {
    v = lo > v ? lo : v;
    return hi < v ? hi : v;
}

// Rounds to nearest, ties to even (std::nearbyint in the default mode) without a libm call:
// adding 1.5 * 2^23 leaves a float with no fraction bits. Exact for |v| <= 2^22. Rounding and
// clamping to integer bounds commute, so this is clamp(nearbyint(v), lo, hi).
template <typename T>
static inline T round_clamped(T v, T lo, T hi) {
    const T magic = lo - lo + 0x1.8p23f;
    return (clampf(v, lo, hi) + magic) - magic;
}
static inline int round_to_int(float v) { return static_cast<int>(round_clamped(v, -0x1p22f, 0x1p22f)); }

// F16 bits of a value at least as large in magnitude as v. Rounding a super-block scale down
// would push the largest sub-scale past its integer range and clip it, so we round away.
static uint16_t f16_not_smaller(float v) {
    uint16_t bits = f32_to_f16(v);
    if (std::fabs(f16_to_f32(bits)) < std::fabs(v)) ++bits;  // sign-magnitude: +1 grows |v|
    return bits;
}

// Fits x[i] ~ scale * L[i] - min with L in [0, nmax] and min >= 0, least squares. Tries 21
// grid resolutions around the plain min/max one and keeps the best fit; returns scale, sets
// *min. The trials run side by side, one per vector lane; each one's float sums are still
// added in element order, so the result is that of trying them one by one.
static float fit_scale_min(const float* x, int n, int nmax, uint8_t* L, float* min) {
    constexpr int kTrials = 21, kVecs = 6;  // 24 lanes, the last 3 unused
    float lo = std::min(0.0f, *std::min_element(x, x + n));  // min >= 0 keeps offsets <= 0
    const float hi = *std::max_element(x, x + n);
    if (hi <= lo) {  // constant non-positive run: all levels 0, the min alone reproduces it
        std::fill(L, L + n, 0);
        *min = -lo;
        return 0.0f;
    }
    F4 iscale[kVecs];
    for (int t = 0; t < 4 * kVecs; ++t) iscale[t / 4][t % 4] = (nmax + 0.1f * (t - 10)) / (hi - lo);
    float sx = 0;
    for (int i = 0; i < n; ++i) sx += x[i];
    F4 level[32][kVecs];  // as floats: no conversions in the loops
    F4 sl[kVecs] = {}, sl2[kVecs] = {}, sxl[kVecs] = {};
    for (int i = 0; i < n; ++i) {
        const F4 xi = splat(x[i]), d = splat(x[i] - lo);
        for (int v = 0; v < kVecs; ++v) {
            const F4 l = round_clamped(iscale[v] * d, splat(0.0f), splat(float(nmax)));
            level[i][v] = l;
            sl[v] += l, sl2[v] += l * l, sxl[v] += l * xi;
        }
    }
    // Normal equations of min over (scale, offset) of sum (scale * L + offset - x)^2.
    float scale[4 * kVecs], offset[4 * kVecs];
    bool fits[4 * kVecs];
    for (int t = 0; t < 4 * kVecs; ++t) {
        const float l1 = sl[t / 4][t % 4], l2 = sl2[t / 4][t % 4], xl = sxl[t / 4][t % 4];
        const float det = n * l2 - l1 * l1;
        fits[t] = det > 0;
        scale[t] = fits[t] ? (n * xl - sx * l1) / det : 0.0f;
        offset[t] = fits[t] ? (l2 * sx - l1 * xl) / det : 0.0f;
        if (offset[t] > 0) {  // offset must be <= 0 (stored as a non-negative min): refit with 0
            offset[t] = 0;
            scale[t] = xl / l2;
        }
    }
    F4 err[kVecs] = {};
    for (int i = 0; i < n; ++i) {
        const F4 xi = splat(x[i]);
        for (int v = 0; v < kVecs; ++v) {
            const F4 sc = {scale[4 * v], scale[4 * v + 1], scale[4 * v + 2], scale[4 * v + 3]};
            const F4 of = {offset[4 * v], offset[4 * v + 1], offset[4 * v + 2], offset[4 * v + 3]};
            const F4 e = sc * level[i][v] + of - xi;
            err[v] += e * e;
        }
    }
    int best = -1;
    float best_err = INFINITY;
    for (int t = 0; t < kTrials; ++t) {
        if (fits[t] && err[t / 4][t % 4] < best_err) best = t, best_err = err[t / 4][t % 4];
    }
    if (best < 0) {  // no trial fits: every level is the same, and the caller re-rounds them
        *min = 0.0f;
        return 0.0f;
    }
    for (int i = 0; i < n; ++i) L[i] = static_cast<uint8_t>(level[i][best / 4][best % 4]);
    *min = -offset[best];
    return scale[best];
}

// Packs eight 6-bit scales and mins into Q4_K/Q5_K's 12 bytes (inverse of unpack_scale_min_k4).
static void pack_scale_min_k4(const int ls[8], const int lm[8], uint8_t q[12]) {
    for (int j = 0; j < 4; ++j) {
        q[j] = static_cast<uint8_t>(ls[j] | ((ls[j + 4] >> 4) << 6));
        q[j + 4] = static_cast<uint8_t>(lm[j] | ((lm[j + 4] >> 4) << 6));
        q[j + 8] = static_cast<uint8_t>((ls[j + 4] & 0xF) | ((lm[j + 4] & 0xF) << 4));
    }
}

// Shared part of Q4_K (nmax 15) and Q5_K (nmax 31): fills d, dmin, the packed scales and one
// level L in [0, nmax] per element of the 256-element super-block x.
static void quantize_k4_levels(const float* x, int nmax, uint16_t* d_bits, uint16_t* dmin_bits,
                               uint8_t packed[12], uint8_t L[kQK_K]) {
    float scales[8], mins[8];
    float max_scale = 0.0f, max_min = 0.0f;
    for (int j = 0; j < 8; ++j) {
        scales[j] = fit_scale_min(x + 32 * j, 32, nmax, L + 32 * j, &mins[j]);
        max_scale = std::max(max_scale, scales[j]);
        max_min = std::max(max_min, mins[j]);
    }
    *d_bits = f16_not_smaller(max_scale / 63.0f);
    *dmin_bits = f16_not_smaller(max_min / 63.0f);
    const float d = f16_to_f32(*d_bits), dmin = f16_to_f32(*dmin_bits);
    int ls[8], lm[8];
    for (int j = 0; j < 8; ++j) {
        ls[j] = d > 0 ? std::clamp(round_to_int(scales[j] / d), 0, 63) : 0;
        lm[j] = dmin > 0 ? std::clamp(round_to_int(mins[j] / dmin), 0, 63) : 0;
    }
    pack_scale_min_k4(ls, lm, packed);
    // Re-round every level against the scale and min the decoder will actually use.
    for (int j = 0; j < 8; ++j) {
        const float dl = d * ls[j], ml = dmin * lm[j];
        for (int l = 0; l < 32; ++l) {
            const int v = dl > 0 ? round_to_int((x[32 * j + l] + ml) / dl) : 0;
            L[32 * j + l] = static_cast<uint8_t>(std::clamp(v, 0, nmax));
        }
    }
}

void quantize_row_q4_K(const float* src, void* dst, int64_t n) {
    auto* y = static_cast<BlockQ4_K*>(dst);
    uint8_t L[kQK_K];
    for (int64_t i = 0; i < n / kQK_K; ++i, src += kQK_K) {
        quantize_k4_levels(src, 15, &y[i].d, &y[i].dmin, y[i].scales, L);
        // 64-element chunk c: first 32 levels in the low nibbles of qs[32c..], next 32 high.
        for (int c = 0; c < 4; ++c) {
            for (int l = 0; l < 32; ++l) {
                y[i].qs[32 * c + l] =
                    static_cast<uint8_t>(L[64 * c + l] | (L[64 * c + 32 + l] << 4));
            }
        }
    }
}

void quantize_row_q5_K(const float* src, void* dst, int64_t n) {
    auto* y = static_cast<BlockQ5_K*>(dst);
    uint8_t L[kQK_K];
    for (int64_t i = 0; i < n / kQK_K; ++i, src += kQK_K) {
        quantize_k4_levels(src, 31, &y[i].d, &y[i].dmin, y[i].scales, L);
        std::memset(y[i].qh, 0, sizeof(y[i].qh));
        // As Q4_K for the low 4 bits; bit 4 of sub-block s goes to bit s of qh[l].
        for (int c = 0; c < 4; ++c) {
            for (int l = 0; l < 32; ++l) {
                const int a = L[64 * c + l], b = L[64 * c + 32 + l];
                y[i].qs[32 * c + l] = static_cast<uint8_t>((a & 0xF) | ((b & 0xF) << 4));
                y[i].qh[l] |=
                    static_cast<uint8_t>(((a >> 4) << (2 * c)) | ((b >> 4) << (2 * c + 1)));
            }
        }
    }
}

// Fits x[i] ~ scale * L[i] with L in [-32, 31], least squares over 19 grid resolutions, run
// side by side as in fit_scale_min. The scale is signed: the largest-magnitude element lands
// near -32, using the longer side. Returns the scale only.
static float fit_scale_q6(const float* x, int n) {
    constexpr int kTrials = 19, kVecs = 5;  // 20 lanes, the last unused
    float amax = 0.0f, vmax = 0.0f;
    for (int i = 0; i < n; ++i) {
        if (std::fabs(x[i]) > amax) amax = std::fabs(x[i]), vmax = x[i];
    }
    if (amax == 0.0f) return 0.0f;
    F4 iscale[kVecs];
    for (int t = 0; t < 4 * kVecs; ++t) iscale[t / 4][t % 4] = -(32.0f + 0.1f * (t - 9)) / vmax;
    F4 sxl[kVecs] = {}, sl2[kVecs] = {};
    for (int i = 0; i < n; ++i) {
        const F4 xi = splat(x[i]);
        for (int v = 0; v < kVecs; ++v) {
            const F4 l = round_clamped(iscale[v] * xi, splat(-32.0f), splat(31.0f));
            sxl[v] += xi * l, sl2[v] += l * l;
        }
    }
    // For fixed levels the best scale is sxl / sl2 and the error drops by sxl^2 / sl2.
    float best = -1.0f, best_scale = 0.0f;
    for (int t = 0; t < kTrials; ++t) {
        const float xl = sxl[t / 4][t % 4], l2 = sl2[t / 4][t % 4];
        if (l2 > 0 && xl * xl / l2 > best) best = xl * xl / l2, best_scale = xl / l2;
    }
    return best_scale;
}

// Packs 256 levels in [0, 63] into Q6_K's ql/qh (inverse of the layout in dequant_k.cpp).
static void pack_q6_K(const uint8_t L[kQK_K], BlockQ6_K* y) {
    for (int half = 0; half < 2; ++half) {
        const uint8_t* l4 = L + 128 * half;
        uint8_t* ql = y->ql + 64 * half;
        uint8_t* qh = y->qh + 32 * half;
        for (int l = 0; l < 32; ++l) {
            ql[l] = static_cast<uint8_t>((l4[l] & 0xF) | ((l4[l + 64] & 0xF) << 4));
            ql[l + 32] = static_cast<uint8_t>((l4[l + 32] & 0xF) | ((l4[l + 96] & 0xF) << 4));
            qh[l] = static_cast<uint8_t>((l4[l] >> 4) | ((l4[l + 32] >> 4) << 2) |
                                         ((l4[l + 64] >> 4) << 4) | ((l4[l + 96] >> 4) << 6));
        }
    }
}

void quantize_row_q6_K(const float* src, void* dst, int64_t n) {
    auto* y = static_cast<BlockQ6_K*>(dst);
    for (int64_t i = 0; i < n / kQK_K; ++i, src += kQK_K) {
        float scales[16];
        float max_scale = 0.0f, vmax_scale = 0.0f;
        for (int ib = 0; ib < 16; ++ib) {
            scales[ib] = fit_scale_q6(src + 16 * ib, 16);
            if (std::fabs(scales[ib]) > max_scale)
                max_scale = std::fabs(scales[ib]), vmax_scale = scales[ib];
        }
        // As with the levels, the largest sub-scale maps to -128, the long side of int8.
        y[i].d = f16_not_smaller(vmax_scale / -128.0f);
        const float d = f16_to_f32(y[i].d);
        uint8_t L[kQK_K];
        for (int ib = 0; ib < 16; ++ib) {
            const int sc = d != 0.0f ? std::clamp(round_to_int(scales[ib] / d), -128, 127) : 0;
            y[i].scales[ib] = static_cast<int8_t>(sc);
            const float dl = d * sc;
            for (int l = 0; l < 16; ++l) {
                const int v = dl != 0.0f ? round_to_int(src[16 * ib + l] / dl) : 0;
                L[16 * ib + l] = static_cast<uint8_t>(std::clamp(v, -32, 31) + 32);
            }
        }
        pack_q6_K(L, &y[i]);
    }
}

// Q8_K keeps a float scale (it only lives in memory, as the activation side of K-quant dot
// products), so the only rounding is that of the levels.
void quantize_row_q8_K(const float* src, void* dst, int64_t n) {
    auto* y = static_cast<BlockQ8_K*>(dst);
    for (int64_t i = 0; i < n / kQK_K; ++i, src += kQK_K) {
        float amax = 0.0f;
        for (int j = 0; j < kQK_K; ++j) amax = std::max(amax, std::fabs(src[j]));
        const float iscale = amax != 0.0f ? 127.0f / amax : 0.0f;
        y[i].d = amax != 0.0f ? 1.0f / iscale : 0.0f;
        for (int j = 0; j < kQK_K; ++j) {
            y[i].qs[j] = static_cast<int8_t>(std::clamp(round_to_int(iscale * src[j]), -127, 127));
        }
        for (int b = 0; b < kQK_K / 16; ++b) {
            int sum = 0;
            for (int l = 0; l < 16; ++l) sum += y[i].qs[16 * b + l];
            y[i].bsums[b] = static_cast<int16_t>(sum);
        }
    }
}

}  // namespace hearth::kernels::ref
