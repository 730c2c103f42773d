#include "base/read_ahead.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace hearth {

ReadAhead::ReadAhead(uint64_t size, Advise advise, uint64_t chunk) {
    thread_ = std::thread([this, size, advise = std::move(advise), chunk] {
        for (uint64_t at = 0; at < size && !stop_.load(std::memory_order_relaxed); at += chunk)
            if (!advise(at, std::min(chunk, size - at))) return;
    });
}

ReadAhead::~ReadAhead() {
    stop_.store(true, std::memory_order_relaxed);
    wait();
    if (fd_ >= 0) ::close(fd_);
}

void ReadAhead::wait() {
    if (thread_.joinable()) thread_.join();
}

std::unique_ptr<ReadAhead> ReadAhead::of_file(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return nullptr;
    struct stat st{};
    if (fstat(fd, &st) != 0 || !read_ahead_fits(st.st_size, mem_available_bytes())) {
        ::close(fd);
        return nullptr;
    }
    auto ahead = std::make_unique<ReadAhead>(st.st_size, [fd](uint64_t offset, uint64_t length) {
        return posix_fadvise(fd, static_cast<off_t>(offset), static_cast<off_t>(length),
                             POSIX_FADV_WILLNEED) == 0;
    });
    ahead->fd_ = fd;
    return ahead;
}

bool read_ahead_fits(uint64_t file_bytes, uint64_t mem_available_bytes) {
    const uint64_t keep = std::max(mem_available_bytes / 4, uint64_t(1) << 30);
    return mem_available_bytes > keep && file_bytes <= mem_available_bytes - keep;
}

uint64_t mem_available_bytes() {
    std::ifstream f("/proc/meminfo");
    std::string line;
    while (std::getline(f, line)) {
        std::istringstream s(line);
        std::string key;
        uint64_t kib = 0;
        if (s >> key >> kib && key == "MemAvailable:") return kib * 1024;
    }
    return 0;
}

}  // namespace hearth
