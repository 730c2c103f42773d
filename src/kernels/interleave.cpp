// The interleaved layout (interleave.h): plain byte moves, run once at load.
#include "kernels/interleave.h"

#include <cstring>
#include <span>
#include <type_traits>

#include "base/status.h"
#include "kernels/ref/blocks.h"

namespace hearth::kernels {

namespace {

using gguf::TensorType;

// A field of a block: count elements of size bytes at offset; in a group they are stored
// [count][kInterleaveRows][size], after the fields before it, each byte XOR flip (0x80 turns
// signed levels into the same levels plus 128).
struct Field {
    size_t offset, size, count;
    uint8_t flip = 0;
};
constexpr Field kQ4KFields[] = {{offsetof(BlockQ4_K, qs), 4, 32},
                                {offsetof(BlockQ4_K, scales), 1, 12},
                                {offsetof(BlockQ4_K, d), 2, 1},
                                {offsetof(BlockQ4_K, dmin), 2, 1}};
constexpr Field kQ5KFields[] = {{offsetof(BlockQ5_K, qs), 4, 32},
                                {offsetof(BlockQ5_K, qh), 4, 8},
                                {offsetof(BlockQ5_K, scales), 1, 12},
                                {offsetof(BlockQ5_K, d), 2, 1},
                                {offsetof(BlockQ5_K, dmin), 2, 1}};
constexpr Field kQ6KFields[] = {{offsetof(BlockQ6_K, ql), 4, 32},
                                {offsetof(BlockQ6_K, qh), 4, 16},
                                {offsetof(BlockQ6_K, scales), 1, 16},
                                {offsetof(BlockQ6_K, d), 2, 1}};
constexpr Field kQ80Fields[] = {{offsetof(BlockQ8_0, qs), 4, 8, 0x80},
                                {offsetof(BlockQ8_0, d), 2, 1}};

std::span<const Field> fields(TensorType type) {
    if (type == TensorType::Q4_K) return kQ4KFields;
    if (type == TensorType::Q5_K) return kQ5KFields;
    if (type == TensorType::Q6_K) return kQ6KFields;
    if (type == TensorType::Q8_0) return kQ80Fields;
    return {};
}

// The count elements of kSize bytes of one field, from src elements src_step bytes apart to
// dst elements dst_step apart, each byte XOR flip (a fixed size, so that each copy is one load,
// XOR and store).
template <size_t kSize>
void copy_elements(uint8_t* dst, size_t dst_step, const uint8_t* src, size_t src_step,
                   size_t count, uint8_t flip) {
    for (size_t k = 0; k < count; ++k) {
        uint8_t e[kSize];
        std::memcpy(e, src + k * src_step, kSize);
        for (uint8_t& v : e) v ^= flip;
        std::memcpy(dst + k * dst_step, e, kSize);
    }
}

// Moves block x of row r to (kToGroup) or from its places in group block g.
template <bool kToGroup, typename G, typename B>
void move_block(std::span<const Field> fs, G* g, int64_t r, B* x) {
    size_t at = 0;
    for (const Field& f : fs) {
        G* gp = g + at + r * f.size;
        B* xp = x + f.offset;
        const size_t g_step = kInterleaveRows * f.size;
        auto copy = [&](auto size) {
            if constexpr (kToGroup) copy_elements<size>(gp, g_step, xp, size, f.count, f.flip);
            else copy_elements<size>(xp, size, gp, g_step, f.count, f.flip);
        };
        switch (f.size) {
            case 1: copy(std::integral_constant<size_t, 1>{}); break;
            case 2: copy(std::integral_constant<size_t, 2>{}); break;
            default:
                HEARTH_DCHECK(f.size == 4);
                copy(std::integral_constant<size_t, 4>{});
                break;
        }
        at += f.count * g_step;
    }
}

// Q6_K's levels re-encoded per row block before grouping, so that decode assembles them in
// fewer steps (interleave.h): for half h and l in 0..31, the four levels of elements
// 128h + 32k + l (k = 0..3, 6 bits each) go to ql[64h + l] (level 0, and bits 0-1 of level 3
// in bits 6-7), ql[64h + 32 + l] (level 1, bits 2-3 of level 3) and qh[32h + l] (level 2,
// bits 4-5 of level 3). The same bytes, one to one. f(a, b, c) rewrites the three bytes
// ql[64h + l], ql[64h + 32 + l], qh[32h + l] of each (h, l).
template <typename F>
void for_level_bytes(BlockQ6_K& x, F f) {
    for (int h = 0; h < 2; ++h)
        for (int l = 0; l < 32; ++l) f(x.ql[64 * h + l], x.ql[64 * h + 32 + l], x.qh[32 * h + l]);
}

void recode_q6_K(BlockQ6_K& x) {
    for_level_bytes(x, [](uint8_t& a, uint8_t& b, uint8_t& c) {
        const int q0 = (a & 15) | (c & 3) << 4, q1 = (b & 15) | (c >> 2 & 3) << 4;
        const int q2 = a >> 4 | (c >> 4 & 3) << 4, q3 = b >> 4 | (c >> 6) << 4;
        a = static_cast<uint8_t>(q0 | (q3 & 3) << 6);
        b = static_cast<uint8_t>(q1 | (q3 >> 2 & 3) << 6);
        c = static_cast<uint8_t>(q2 | (q3 >> 4) << 6);
    });
}

// The inverse of recode_q6_K.
void decode_q6_K(BlockQ6_K& x) {
    for_level_bytes(x, [](uint8_t& a, uint8_t& b, uint8_t& c) {
        const int q0 = a & 63, q1 = b & 63, q2 = c & 63;
        const int q3 = a >> 6 | (b >> 6) << 2 | (c >> 6) << 4;
        a = static_cast<uint8_t>((q0 & 15) | (q2 & 15) << 4);
        b = static_cast<uint8_t>((q1 & 15) | (q3 & 15) << 4);
        c = static_cast<uint8_t>(q0 >> 4 | (q1 >> 4) << 2 | (q2 >> 4) << 4 | (q3 >> 4) << 6);
    });
}

}  // namespace

bool can_interleave(TensorType type, int64_t n_in, int64_t n_out) {
    const auto tr = gguf::traits(type);
    return !fields(type).empty() && n_in > 0 && n_in % tr.block_size == 0 && n_out > 0 &&
           n_out % kInterleaveRows == 0;
}

void interleave(TensorType type, int64_t n_in, int64_t n_rows, const void* src, void* dst) {
    HEARTH_CHECK(can_interleave(type, n_in, n_rows));
    const auto tr = gguf::traits(type);
    const int64_t nb = n_in / tr.block_size;
    const size_t row_bytes = nb * tr.block_bytes, group_block = tr.block_bytes * kInterleaveRows;
    for (int64_t g0 = 0; g0 < n_rows; g0 += kInterleaveRows) {
        auto* group = static_cast<uint8_t*>(dst) + g0 * row_bytes;
        for (int64_t r = 0; r < kInterleaveRows; ++r) {
            const auto* row = static_cast<const uint8_t*>(src) + (g0 + r) * row_bytes;
            for (int64_t i = 0; i < nb; ++i) {
                const uint8_t* block = row + i * tr.block_bytes;
                BlockQ6_K recoded;
                if (type == TensorType::Q6_K) {
                    std::memcpy(&recoded, block, sizeof(recoded));
                    recode_q6_K(recoded);
                    block = reinterpret_cast<const uint8_t*>(&recoded);
                }
                move_block<true>(fields(type), group + i * group_block, r, block);
            }
        }
    }
}

void deinterleave_row(TensorType type, int64_t n_in, const void* data, int64_t r, void* dst) {
    HEARTH_CHECK(can_interleave(type, n_in, kInterleaveRows) && r >= 0);
    const auto tr = gguf::traits(type);
    const int64_t nb = n_in / tr.block_size;
    const size_t row_bytes = nb * tr.block_bytes, group_block = tr.block_bytes * kInterleaveRows;
    const int64_t g0 = r / kInterleaveRows * kInterleaveRows;
    const auto* group = static_cast<const uint8_t*>(data) + g0 * row_bytes;
    for (int64_t i = 0; i < nb; ++i) {
        uint8_t* block = static_cast<uint8_t*>(dst) + i * tr.block_bytes;
        move_block<false>(fields(type), group + i * group_block, r - g0, block);
        if (type == TensorType::Q6_K) {
            BlockQ6_K x;
            std::memcpy(&x, block, sizeof(x));
            decode_q6_K(x);
            std::memcpy(block, &x, sizeof(x));
        }
    }
}

}  // namespace hearth::kernels
