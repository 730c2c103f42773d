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

    // fn(begin, end) over shares of the items [0, n), one per thread, where the job is worth
    // waking the pool for: n * cost (cost: floats touched per item) of at least
    // kMinParallelWork; else fn(0, n) on the calling thread alone (a decode step's rows).
    static constexpr int64_t kMinParallelWork = 1 << 15;
    template <typename Fn>
    void for_range(int64_t n, int64_t cost, Fn&& fn);

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

template <typename Fn>
void ThreadPool::for_range(int64_t n, int64_t cost, Fn&& fn) {
    if (n <= 0) return;
    if (n_threads_ == 1 || n < 2 || n * cost < kMinParallelWork) {
        fn(int64_t{0}, n);
        return;
    }
    run([&](int ith, int nth) {
        const Range r = split_range(n, ith, nth);
        if (r.begin < r.end) fn(r.begin, r.end);
    });
}

}  // namespace hearth
