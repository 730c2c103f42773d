// A read-only memory map of a whole file. Weights point into it; nothing is copied.
// Does not lock pages or read ahead (the engine reads a model file ahead on a thread of its
// own: base/read_ahead.h); the page cache decides what stays resident. Files of
// 2 MiB and more are mapped on a 2 MiB boundary with huge pages asked for (see open()).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "base/status.h"

namespace hearth {

// Maps size bytes at a 2 MiB-aligned address and asks for huge pages: the first size bytes of
// file fd read-only, or fresh zeroed memory read-write when fd < 0. Where the kernel keeps a
// file in the page cache as 2 MiB folios (ext4 and XFS on recent kernels) they are then mapped
// whole, so streaming gigabytes of weights walks far fewer pages; elsewhere the advice is
// ignored. Below 2 MiB, a plain map. MAP_FAILED on failure; release with munmap(p, size).
void* map_huge_aligned(size_t size, int fd);

// size bytes of zeroed, writable memory from map_huge_aligned, unmapped when the last owner
// lets go; nullptr if the map fails.
std::shared_ptr<uint8_t> huge_buffer(size_t size);

class MappedFile {
   public:
    static Result<std::shared_ptr<MappedFile>> open(const std::string& path);
    // Wraps bytes already in memory (tests, built-in models). The buffer is owned.
    static std::shared_ptr<MappedFile> from_bytes(std::string bytes, std::string name);
    ~MappedFile();
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    std::span<const uint8_t> bytes() const { return {data_, size_}; }
    const std::string& path() const { return path_; }

    // Drops the whole 2 MiB pages inside [p, p + size) of a file map from this process's
    // memory (their bytes still read back from the file if touched again): for weights copied
    // elsewhere at load. Nothing for bytes held in memory (from_bytes), which would be lost.
    void release_pages(const uint8_t* p, size_t size) const;

   private:
    MappedFile() = default;
    const uint8_t* data_ = nullptr;
    size_t size_ = 0;
    bool mapped_ = false;
    struct FreeDeleter {
        void operator()(uint8_t* p) const;
    };
    std::unique_ptr<uint8_t, FreeDeleter> owned_;  // from_bytes: 64-byte aligned copy
    std::string path_;
};

}  // namespace hearth
