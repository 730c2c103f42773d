// Prompt-lookup drafting: a backwards scan, O(history) per draft, far cheaper than a forward.
#include "runtime/speculative.h"

#include <algorithm>

namespace hearth::runtime {

std::vector<int32_t> draft_ngram(std::span<const int32_t> history, int64_t max_tokens) {
    const int64_t n_hist = static_cast<int64_t>(history.size());
    for (int64_t n = std::min(kMaxNgram, n_hist - 1); n >= kMinNgram; --n) {
        const auto tail = history.subspan(n_hist - n);
        // Most recent match first: nearby text predicts best.
        for (int64_t start = n_hist - n - 1; start >= 0; --start) {
            if (!std::equal(tail.begin(), tail.end(), history.begin() + start)) continue;
            const int64_t from = start + n;
            const int64_t count = std::min(max_tokens, n_hist - from);
            return {history.begin() + from, history.begin() + from + count};
        }
    }
    return {};
}

}  // namespace hearth::runtime
