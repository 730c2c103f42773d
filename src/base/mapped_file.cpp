// mmap(2)-backed read-only file view.
#include "base/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace hearth {

void* map_huge_aligned(size_t size, int fd) {
    constexpr size_t kHuge = size_t(2) << 20;
    const int prot = fd < 0 ? PROT_READ | PROT_WRITE : PROT_READ;
    const int flags = fd < 0 ? MAP_PRIVATE | MAP_ANONYMOUS : MAP_PRIVATE;
    auto plain = [&] { return mmap(nullptr, size, prot, flags, fd, 0); };
    if (size < kHuge) return plain();
    void* area = mmap(nullptr, size + kHuge, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (area == MAP_FAILED) return plain();
    const auto start = reinterpret_cast<uintptr_t>(area);
    const uintptr_t aligned = (start + kHuge - 1) & ~(uintptr_t(kHuge) - 1);
    void* p = mmap(reinterpret_cast<void*>(aligned), size, prot, flags | MAP_FIXED, fd, 0);
    if (p == MAP_FAILED) {
        munmap(area, size + kHuge);
        return plain();
    }
    // The reservation's slack before and after the mapping.
    if (aligned > start) munmap(area, aligned - start);
    const uintptr_t end = aligned + size, area_end = start + size + kHuge;
    const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
    const uintptr_t tail = (end + page - 1) & ~(page - 1);
    if (area_end > tail) munmap(reinterpret_cast<void*>(tail), area_end - tail);
#ifdef MADV_HUGEPAGE
    madvise(p, size, MADV_HUGEPAGE);
#endif
    return p;
}

std::shared_ptr<uint8_t> huge_buffer(size_t size) {
    void* p = map_huge_aligned(size, -1);
    if (p == MAP_FAILED) return nullptr;
    return std::shared_ptr<uint8_t>(static_cast<uint8_t*>(p),
                                    [size](uint8_t* q) { munmap(q, size); });
}

void MappedFile::release_pages(const uint8_t* p, size_t size) const {
    if (!mapped_) return;
    HEARTH_CHECK(p >= data_ && p + size <= data_ + size_);
    // Whole 2 MiB pages only: dropping part of one would split the huge page mapping that
    // its other bytes (the neighbouring tensors) are read through.
    constexpr uintptr_t page = uintptr_t(2) << 20;
    const uintptr_t begin = (reinterpret_cast<uintptr_t>(p) + page - 1) & ~(page - 1);
    const uintptr_t end = (reinterpret_cast<uintptr_t>(p) + size) & ~(page - 1);
    if (begin < end) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

Result<std::shared_ptr<MappedFile>> MappedFile::open(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return error(strfmt("%s: cannot open: %s", path.c_str(), std::strerror(errno)));
    struct stat st {};
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        return error(path + ": not a regular file");
    }
    std::shared_ptr<MappedFile> f(new MappedFile());
    f->path_ = path;
    f->size_ = static_cast<size_t>(st.st_size);
    if (f->size_ > 0) {
        void* p = map_huge_aligned(f->size_, fd);
        if (p == MAP_FAILED) {
            int e = errno;
            ::close(fd);
            return error(strfmt("%s: mmap failed: %s", path.c_str(), std::strerror(e)));
        }
        f->data_ = static_cast<const uint8_t*>(p);
        f->mapped_ = true;
    }
    ::close(fd);
    return f;
}

std::shared_ptr<MappedFile> MappedFile::from_bytes(std::string bytes, std::string name) {
    std::shared_ptr<MappedFile> f(new MappedFile());
    // Aligned like a page-aligned map would be, so tensor data keeps the file's alignment.
    const size_t cap = (bytes.size() + 63) / 64 * 64 + 64;
    f->owned_.reset(static_cast<uint8_t*>(std::aligned_alloc(64, cap)));
    HEARTH_CHECK(f->owned_ != nullptr);
    std::memcpy(f->owned_.get(), bytes.data(), bytes.size());
    f->data_ = f->owned_.get();
    f->size_ = bytes.size();
    f->path_ = std::move(name);
    return f;
}

void MappedFile::FreeDeleter::operator()(uint8_t* p) const { std::free(p); }

MappedFile::~MappedFile() {
    if (mapped_) munmap(const_cast<uint8_t*>(data_), size_);
}

}  // namespace hearth
