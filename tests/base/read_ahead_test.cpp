// ReadAhead: the walk over a file's bytes in chunks, its stopping, and when a file is worth
// reading ahead at all.
#include "base/read_ahead.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace hearth {
namespace {

using Calls = std::vector<std::pair<uint64_t, uint64_t>>;

Calls walk(uint64_t size, uint64_t chunk, int stop_after = -1) {
    Calls calls;
    std::mutex m;
    ReadAhead r(
        size,
        [&](uint64_t offset, uint64_t length) {
            std::lock_guard<std::mutex> lock(m);
            calls.emplace_back(offset, length);
            return static_cast<int>(calls.size()) != stop_after;
        },
        chunk);
    r.wait();
    return calls;
}

TEST(ReadAhead, WalksTheWholeRangeInOrderInChunks) {
    EXPECT_EQ(walk(53, 16), (Calls{{0, 16}, {16, 16}, {32, 16}, {48, 5}}));
    EXPECT_EQ(walk(32, 16), (Calls{{0, 16}, {16, 16}}));
    EXPECT_EQ(walk(7, 16), (Calls{{0, 7}}));
    EXPECT_EQ(walk(0, 16), Calls{});
}

TEST(ReadAhead, StopsWhenAdviseFails) {
    EXPECT_EQ(walk(100, 10, 2), (Calls{{0, 10}, {10, 10}}));
}

// A walk of 2^40 one-byte chunks ends only if the destructor stops it (else the test hangs).
TEST(ReadAhead, DestructorStopsTheWalk) {
    std::atomic<uint64_t> calls{0};
    auto r = std::make_unique<ReadAhead>(
        uint64_t(1) << 40, [&](uint64_t, uint64_t) { return ++calls, true; }, 1);
    while (calls.load() == 0) std::this_thread::yield();
    r.reset();
    const uint64_t at_stop = calls.load();
    EXPECT_LT(at_stop, uint64_t(1) << 40);
    usleep(10000);
    EXPECT_EQ(calls.load(), at_stop);
}

TEST(ReadAhead, FitsWhenAQuarterOfMemoryAndAtLeast1GiBStayFree) {
    constexpr uint64_t GiB = uint64_t(1) << 30;
    EXPECT_TRUE(read_ahead_fits(GiB, 8 * GiB));
    EXPECT_TRUE(read_ahead_fits(6 * GiB, 8 * GiB));
    EXPECT_FALSE(read_ahead_fits(6 * GiB + 1, 8 * GiB));
    EXPECT_TRUE(read_ahead_fits(GiB / 2, 2 * GiB));  // 1 GiB kept, not a quarter
    EXPECT_FALSE(read_ahead_fits(GiB + 1, 2 * GiB));
    EXPECT_FALSE(read_ahead_fits(1, GiB));  // nothing left beyond the 1 GiB kept
    EXPECT_FALSE(read_ahead_fits(1, 0));    // memory unknown
}

TEST(ReadAhead, OfFileReadsAnExistingFileAndNotAMissingOne) {
    EXPECT_EQ(ReadAhead::of_file("/nonexistent/hearth_read_ahead"), nullptr);
    char path[] = "/tmp/hearth_read_ahead_XXXXXX";
    const int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    const std::string bytes(3 * 1024 * 1024 + 17, 'x');
    ASSERT_EQ(write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
    close(fd);
    auto r = ReadAhead::of_file(path);
    // A 3 MiB file fits wherever the test machine has memory to report.
    if (read_ahead_fits(bytes.size(), mem_available_bytes())) {
        ASSERT_NE(r, nullptr);
        r->wait();
    } else {
        EXPECT_EQ(r, nullptr);
    }
    std::remove(path);
}

TEST(ReadAhead, MemAvailableIsReadFromProcMeminfo) {
    if (access("/proc/meminfo", R_OK) != 0) GTEST_SKIP() << "no /proc/meminfo";
    EXPECT_GT(mem_available_bytes(), uint64_t(0));
}

}  // namespace
}  // namespace hearth
