// A fixed pool of worker threads that run one job at a time, split by (ith, nth).
// The caller is thread 0 and works too. Not a task queue: no futures, no nesting.
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

namespace hearth {

class ThreadPool {
   public:
    explicit ThreadPool(int n_threads);
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    int size() const { return n_threads_; }

    // Runs fn(ith, nth) on every thread and returns when all are done.
    template <typename Fn>
    void run(Fn&& fn) {
        run_raw([](void* ctx, int ith, int nth) { (*static_cast<Fn*>(ctx))(ith, nth); }, &fn);
    }

    // Number of threads the machine offers (at least 1).
    static int hardware_threads();
    // Physical cores (SMT siblings counted once): the default thread count, since two
    // threads on one core only compete for the same memory bandwidth and vector units.
    static int physical_cores();

   private:
    using RawFn = void (*)(void* ctx, int ith, int nth);
    void run_raw(RawFn fn, void* ctx);
    void worker(int ith);

    int n_threads_;
    std::vector<std::thread> threads_;
    RawFn fn_ = nullptr;
    void* ctx_ = nullptr;
    std::atomic<uint32_t> generation_{0};
    std::atomic<int> pending_{0};
    std::atomic<bool> stop_{false};
};

// The [begin, end) share of n items for thread ith of nth.
struct Range {
    int64_t begin, end;
};
inline Range split_range(int64_t n, int ith, int nth) {
    int64_t per = (n + nth - 1) / nth;
    int64_t b = per * ith;
    int64_t e = b + per < n ? b + per : n;
    return {b < n ? b : n, e};
}

}  // namespace hearth
