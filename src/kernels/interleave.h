// Weights rearranged at load for the AVX-512 decode kernels: rows of Q4_K, Q5_K, Q6_K and Q8_0
// in groups of kInterleaveRows, so that one 512-bit load holds the same 4 bytes of each of the 16
// rows and one vpdpbusd with a broadcast activation dword advances all 16 rows' sums. Each
// field of a block is stored field by field, [k][r] for its k-th element of row r, in the
// group's block i (16 blocks' bytes, the same size as the 16 rows' blocks i as stored):
//   Q4_K: qs[32 dwords][r] (dword q: levels 4q % 32.. of sub-block 2(q / 8) in the low nibbles,
//         of 2(q / 8) + 1 in the high), 2048 bytes; scales[12 bytes][r], 192; d[r], dmin[r] as
//         f16, 32 + 32.
//   Q5_K: as Q4_K, with qh[8 dwords][r] (dword c: the fifth bits of levels 4c.. of each
//         sub-block s, in bit s) after qs, 512 bytes.
//   Q6_K: ql[32 dwords][r], 2048 bytes; qh[16 dwords][r], 1024; scales[16 bytes][r], 256; d[r]
//         as f16, 32; the levels re-encoded first: for half h and l in 0..31, the 6-bit levels
//         of elements 128h + 32k + l, k = 0..3, in ql[64h + l] (level 0 in bits 0-5, bits 0-1
//         of level 3 in bits 6-7), ql[64h + 32 + l] (level 1; bits 2-3 of level 3) and
//         qh[32h + l] (level 2; bits 4-5 of level 3), so that three of four levels take one
//         and each.
//   Q8_0: qs[8 dwords][r] with each level plus 128 (an unsigned byte, vpdpbusd's unsigned side,
//         so that decode needs no correction per row), 512 bytes; d[r] as f16, 32.
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

// Rearranges n_rows rows (n_rows a multiple of kInterleaveRows, rows end to end in src) into
// the interleaved layout at dst (as many bytes, not overlapping src).
void interleave(gguf::TensorType type, int64_t n_in, int64_t n_rows, const void* src, void* dst);

// Row r of an interleaved matrix back in the type's own layout: the inverse of interleave.
void deinterleave_row(gguf::TensorType type, int64_t n_in, const void* data, int64_t r, void* dst);

}  // namespace hearth::kernels
