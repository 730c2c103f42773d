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
        void* p = mmap(nullptr, f->size_, PROT_READ, MAP_PRIVATE, fd, 0);
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
