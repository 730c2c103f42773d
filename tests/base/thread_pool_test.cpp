// ThreadPool::for_range: every item handed out exactly once, split across the threads when the
// work is large, and kept on the calling thread (one call, no wake-up) when it is small.
#include <gtest/gtest.h>

#include <mutex>
#include <thread>
#include <vector>

#include "base/thread_pool.h"

namespace hearth {
namespace {

struct Calls {
    std::vector<Range> ranges;
    std::vector<std::thread::id> threads;
};

Calls run_for_range(ThreadPool& pool, int64_t n, int64_t cost, std::vector<int>& seen) {
    Calls c;
    std::mutex mu;
    seen.assign(n, 0);
    pool.for_range(n, cost, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) ++seen[i];
        std::lock_guard<std::mutex> lock(mu);
        c.ranges.push_back({b, e});
        c.threads.push_back(std::this_thread::get_id());
    });
    return c;
}

TEST(ThreadPool, ForRangeSplitsLargeWorkAcrossThreads) {
    ThreadPool pool(3);
    std::vector<int> seen;
    const Calls c = run_for_range(pool, 1000, ThreadPool::kMinParallelWork, seen);
    for (int64_t i = 0; i < 1000; ++i) ASSERT_EQ(seen[i], 1) << "item " << i;
    EXPECT_EQ(c.ranges.size(), 3u);
    // Three different threads, one of them the caller.
    EXPECT_NE(c.threads[0], c.threads[1]);
    EXPECT_NE(c.threads[1], c.threads[2]);
    EXPECT_NE(c.threads[0], c.threads[2]);
}

TEST(ThreadPool, ForRangeKeepsSmallWorkOnTheCaller) {
    ThreadPool pool(3);
    std::vector<int> seen;
    const Calls c = run_for_range(pool, 1000, ThreadPool::kMinParallelWork / 1000 - 1, seen);
    for (int64_t i = 0; i < 1000; ++i) ASSERT_EQ(seen[i], 1) << "item " << i;
    ASSERT_EQ(c.ranges.size(), 1u);
    EXPECT_EQ(c.ranges[0].begin, 0);
    EXPECT_EQ(c.ranges[0].end, 1000);
    EXPECT_EQ(c.threads[0], std::this_thread::get_id());
    // A single item (a decode step's row) stays on the caller however costly.
    const Calls one = run_for_range(pool, 1, int64_t{1} << 40, seen);
    ASSERT_EQ(one.ranges.size(), 1u);
    EXPECT_EQ(one.threads[0], std::this_thread::get_id());
    EXPECT_EQ(seen[0], 1);
}

TEST(ThreadPool, ForRangeOfNothingCallsNothing) {
    ThreadPool pool(2);
    std::vector<int> seen;
    EXPECT_TRUE(run_for_range(pool, 0, 1000, seen).ranges.empty());
}

}  // namespace
}  // namespace hearth
