// Workers spin briefly on a generation counter, then sleep on it (C++20 atomic wait):
// decode issues hundreds of small jobs per token, so wake-up latency matters.
#include "base/thread_pool.h"

#include <chrono>
#include <fstream>
#include <set>
#include <string>

namespace hearth {

namespace {
// How long a worker spins for the next job before it sleeps, and how long the caller spins
// for the workers before it yields its core: longer than the serial work between two jobs
// of a decode step (norms, RoPE, sampling), so a token's jobs never pay a futex wake-up.
constexpr auto kSpinTime = std::chrono::microseconds(2000);

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

// Spins while busy() holds, for at most kSpinTime; returns whether it still holds.
template <typename Busy>
bool spin_while(Busy busy) {
    auto start = std::chrono::steady_clock::now();
    for (int i = 1;; ++i) {
        if (!busy()) return false;
        cpu_relax();
        if (i % 256 == 0 && std::chrono::steady_clock::now() - start > kSpinTime) return busy();
    }
}
}  // namespace

ThreadPool::ThreadPool(int n_threads) : n_threads_(n_threads < 1 ? 1 : n_threads) {
    for (int i = 1; i < n_threads_; ++i) threads_.emplace_back([this, i] { worker(i); });
}

ThreadPool::~ThreadPool() {
    stop_.store(true, std::memory_order_release);
    generation_.fetch_add(1, std::memory_order_acq_rel);
    generation_.notify_all();
    for (auto& t : threads_) t.join();
}

int ThreadPool::hardware_threads() {
    unsigned n = std::thread::hardware_concurrency();
    return n == 0 ? 1 : static_cast<int>(n);
}

int ThreadPool::physical_cores() {
    // Linux lists each logical CPU's SMT siblings; count the distinct sibling sets.
    std::set<std::string> cores;
    const int n = hardware_threads();
    for (int cpu = 0; cpu < n; ++cpu) {
        std::ifstream f("/sys/devices/system/cpu/cpu" + std::to_string(cpu) +
                        "/topology/thread_siblings_list");
        std::string siblings;
        if (!(f >> siblings)) return n;  // no topology information: trust the logical count
        cores.insert(siblings);
    }
    return cores.empty() ? n : static_cast<int>(cores.size());
}

void ThreadPool::run_raw(RawFn fn, void* ctx) {
    if (n_threads_ == 1) {
        fn(ctx, 0, 1);
        return;
    }
    fn_ = fn;
    ctx_ = ctx;
    pending_.store(n_threads_ - 1, std::memory_order_release);
    generation_.fetch_add(1, std::memory_order_acq_rel);
    generation_.notify_all();
    fn(ctx, 0, n_threads_);
    // Past the spin, yield at every check: on an oversubscribed machine the workers may be
    // waiting for this core.
    auto busy = [this] { return pending_.load(std::memory_order_acquire) != 0; };
    if (spin_while(busy))
        while (busy()) std::this_thread::yield();
}

void ThreadPool::worker(int ith) {
    uint32_t seen = 0;
    for (;;) {
        uint32_t g = seen;
        spin_while([&] { return (g = generation_.load(std::memory_order_acquire)) == seen; });
        if (g == seen) {
            generation_.wait(seen, std::memory_order_acquire);
            continue;
        }
        seen = g;
        if (stop_.load(std::memory_order_acquire)) return;
        fn_(ctx_, ith, n_threads_);
        pending_.fetch_sub(1, std::memory_order_acq_rel);
    }
}

}  // namespace hearth
