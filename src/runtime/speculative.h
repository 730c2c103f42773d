// Draft proposers for speculative decoding. A draft is a guess of the next few tokens that
// the main model then checks in one batched pass; only what it would have produced itself is
// kept, so the output is unchanged and only the speed differs.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace hearth::runtime {

// Prompt lookup: finds the most recent earlier occurrence of the history's last n tokens
// (n from kMaxNgram down to kMinNgram) and proposes the up to max_tokens tokens that followed
// it. Pays off when the answer repeats its input (code edits, quoting).
std::vector<int32_t> draft_ngram(std::span<const int32_t> history, int64_t max_tokens);

inline constexpr int64_t kMaxNgram = 4;
inline constexpr int64_t kMinNgram = 2;

}  // namespace hearth::runtime
