// Reading a model file into the page cache on a thread of its own while the model loads and
// runs. Weights stay memory-mapped and are read on first touch: a MoE's expert stacks are only
// touched when a token routes to them, so after a cold start each first prompt waited on
// thousands of small page faults (the 4-layer qwen3.6-35b-a3b ran its first prompt at 5-9 t/s
// against 159 with the file cached). Asking the kernel for the whole file, a chunk at a time,
// turns that into one sequential read.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

namespace hearth {

class ReadAhead {
   public:
    // Called for [offset, offset + length) in file order; false stops the walk.
    using Advise = std::function<bool(uint64_t offset, uint64_t length)>;
    static constexpr uint64_t kChunk = uint64_t(8) << 20;

    // Walks [0, size) in chunks of `chunk` bytes on a new thread.
    ReadAhead(uint64_t size, Advise advise, uint64_t chunk = kChunk);
    // Stops after the chunk in progress and joins the thread.
    ~ReadAhead();
    ReadAhead(const ReadAhead&) = delete;
    ReadAhead& operator=(const ReadAhead&) = delete;

    // Blocks until the walk has ended.
    void wait();

    // The file at path through posix_fadvise(WILLNEED), when it fits in the memory the system
    // reports available (read_ahead_fits); nullptr otherwise, or when it can't be opened.
    static std::unique_ptr<ReadAhead> of_file(const std::string& path);

   private:
    std::atomic<bool> stop_{false};
    std::thread thread_;
    int fd_ = -1;  // the file of_file advises on, closed once the walk has joined
};

// Whether a file of file_bytes is worth reading ahead with mem_available_bytes free: it must
// leave a quarter of that memory (and at least 1 GiB) to the model's own buffers and the rest
// of the system; reading more than fits would only evict its own first pages.
bool read_ahead_fits(uint64_t file_bytes, uint64_t mem_available_bytes);

// MemAvailable from /proc/meminfo in bytes; 0 when unknown.
uint64_t mem_available_bytes();

}  // namespace hearth
