// Weights rearranged at load for the AVX-512 decode kernels: Q4_K rows in groups of
// kInterleaveRows, so that one 512-bit load holds 4 bytes (8 levels) of each of the 16 rows and
// one vpdpbusd with a broadcast activation dword advances all 16 rows' sums. Per super-block i
// of a group (16 x 144 bytes, the same size as the 16 rows as stored):
//   qs[j][c][r][4]  bytes 32j + 4c .. + 3 of row r's qs: levels 4c..4c+3 of sub-block 2j (low
//                   nibbles) and of 2j + 1 (high nibbles), 2048 bytes;
//   scales[k][r]    byte k of row r's 12 packed scale/min bytes, 192 bytes;
//   d[r], dmin[r]   row r's f16 scales, 32 + 32 bytes.
// Group g's bytes start where row 16g's did, so a view's row arithmetic (data + r * row_bytes)
// still finds a group when r is a multiple of 16.
#pragma once

#include <cstddef>
#include <cstdint>

#include "gguf/types.h"

namespace hearth::kernels {

inline constexpr int64_t kInterleaveRows = 16;

// Whether a matrix of this type and shape (n_in columns, n_out rows) has the interleaved layout.
bool can_interleave(gguf::TensorType type, int64_t n_in, int64_t n_out);

// Rearranges n_rows rows (n_rows a multiple of kInterleaveRows, row_bytes apart in src) into
// the interleaved layout at dst (n_rows * row_bytes bytes, not overlapping src).
void interleave(gguf::TensorType type, int64_t n_in, int64_t n_rows, const void* src, void* dst);

// Row r of an interleaved matrix back in the type's own layout: the inverse of interleave.
void deinterleave_row(gguf::TensorType type, int64_t n_in, const void* data, int64_t r, void* dst);

}  // namespace hearth::kernels
