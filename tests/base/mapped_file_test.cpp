// MappedFile::open: the bytes of files below, at and past the 2 MiB size from which the map is
// placed on a 2 MiB boundary (and asked for huge pages), and the address that placement
// promises.
#include "base/mapped_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <random>
#include <string>

namespace hearth {
namespace {

std::string temp_file(const std::string& bytes) {
    char path[] = "/tmp/hearth_mapped_file_XXXXXX";
    const int fd = mkstemp(path);
    EXPECT_GE(fd, 0);
    EXPECT_EQ(write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
    close(fd);
    return path;
}

TEST(MappedFile, MapsEveryByteAroundTheHugePageSize) {
    constexpr size_t kHuge = size_t(2) << 20;
    std::mt19937 rng(5);
    for (size_t size : {size_t(1), size_t(4095), kHuge - 1, kHuge, kHuge + 1, 3 * kHuge + 12345}) {
        std::string bytes(size, '\0');
        for (char& c : bytes) c = static_cast<char>(rng());
        const std::string path = temp_file(bytes);
        {
            auto f = MappedFile::open(path);
            ASSERT_TRUE(f.ok()) << f.message();
            const auto view = (*f)->bytes();
            ASSERT_EQ(view.size(), size);
            EXPECT_EQ(std::string(reinterpret_cast<const char*>(view.data()), size), bytes)
                << "size " << size;
            if (size >= kHuge) {
                EXPECT_EQ(reinterpret_cast<uintptr_t>(view.data()) % kHuge, 0u) << "size " << size;
            }
        }
        std::remove(path.c_str());
    }
    // Maps made and dropped one after another (the slack around each aligned map unmapped):
    // a later map still reads its own bytes.
    std::string bytes(kHuge + 7, 'x');
    const std::string path = temp_file(bytes);
    for (int i = 0; i < 20; ++i) {
        auto f = MappedFile::open(path);
        ASSERT_TRUE(f.ok());
        EXPECT_EQ((*f)->bytes()[kHuge + 6], 'x');
    }
    std::remove(path.c_str());
}

}  // namespace
}  // namespace hearth
