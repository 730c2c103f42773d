// The interleaved layout (interleave.h): plain byte moves, run once at load.
#include "kernels/interleave.h"

#include <cstring>

#include "base/status.h"
#include "kernels/ref/blocks.h"

namespace hearth::kernels {

namespace {

constexpr size_t kQsBytes = 128 * kInterleaveRows, kScaleBytes = 12 * kInterleaveRows;
constexpr size_t kGroupBytes = sizeof(BlockQ4_K) * kInterleaveRows;
static_assert(kQsBytes + kScaleBytes + 4 * kInterleaveRows == kGroupBytes);

// Moves super-block x of row r to or from its places in group super-block g.
// (G: uint8_t to write the group, const uint8_t to read it.)
template <bool kToGroup, typename G>
void move_block(G* g, int64_t r, BlockQ4_K& x) {
    auto mv = [](G* group_bytes, void* row_bytes, size_t n) {
        if constexpr (kToGroup) std::memcpy(group_bytes, row_bytes, n);
        else std::memcpy(row_bytes, group_bytes, n);
    };
    for (int q = 0; q < 32; ++q) mv(g + (q * kInterleaveRows + r) * 4, x.qs + 4 * q, 4);
    for (int k = 0; k < 12; ++k) mv(g + kQsBytes + k * kInterleaveRows + r, &x.scales[k], 1);
    mv(g + kQsBytes + kScaleBytes + 2 * r, &x.d, 2);
    mv(g + kQsBytes + kScaleBytes + 2 * kInterleaveRows + 2 * r, &x.dmin, 2);
}

}  // namespace

bool can_interleave(gguf::TensorType type, int64_t n_in, int64_t n_out) {
    return type == gguf::TensorType::Q4_K && n_in > 0 && n_in % kQK_K == 0 && n_out > 0 &&
           n_out % kInterleaveRows == 0;
}

void interleave(gguf::TensorType type, int64_t n_in, int64_t n_rows, const void* src, void* dst) {
    HEARTH_CHECK(can_interleave(type, n_in, n_rows));
    const int64_t nb = n_in / kQK_K;
    const size_t row_bytes = nb * sizeof(BlockQ4_K);
    for (int64_t g0 = 0; g0 < n_rows; g0 += kInterleaveRows) {
        auto* group = static_cast<uint8_t*>(dst) + g0 * row_bytes;
        for (int64_t r = 0; r < kInterleaveRows; ++r) {
            const auto* row = static_cast<const uint8_t*>(src) + (g0 + r) * row_bytes;
            for (int64_t i = 0; i < nb; ++i) {
                BlockQ4_K x;
                std::memcpy(&x, row + i * sizeof(BlockQ4_K), sizeof(x));
                move_block<true>(group + i * kGroupBytes, r, x);
            }
        }
    }
}

void deinterleave_row(gguf::TensorType type, int64_t n_in, const void* data, int64_t r, void* dst) {
    HEARTH_CHECK(type == gguf::TensorType::Q4_K && n_in % kQK_K == 0 && r >= 0);
    const int64_t nb = n_in / kQK_K;
    const size_t row_bytes = nb * sizeof(BlockQ4_K);
    const int64_t g0 = r / kInterleaveRows * kInterleaveRows;
    const auto* group = static_cast<const uint8_t*>(data) + g0 * row_bytes;
    for (int64_t i = 0; i < nb; ++i) {
        BlockQ4_K x;
        move_block<false>(group + i * kGroupBytes, r - g0, x);
        std::memcpy(static_cast<uint8_t*>(dst) + i * sizeof(BlockQ4_K), &x, sizeof(x));
    }
}

}  // namespace hearth::kernels
