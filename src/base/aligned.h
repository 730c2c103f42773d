// Vectors whose data starts on a cache line. malloc aligns to 16 bytes, so three in four 64-byte
// loads of a float buffer it returns straddle two cache lines; the float matrix products of the
// prompt attention and of DeltaNet's chunks ran ~1.5x faster on operands aligned to 64 bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <vector>

namespace hearth {

inline constexpr std::size_t kCacheLine = 64;

template <class T>
struct CacheLineAllocator {
    using value_type = T;
    CacheLineAllocator() = default;
    template <class U>
    CacheLineAllocator(const CacheLineAllocator<U>&) {}
    T* allocate(std::size_t n) {
        return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t{kCacheLine}));
    }
    void deallocate(T* p, std::size_t) { ::operator delete(p, std::align_val_t{kCacheLine}); }
    friend bool operator==(const CacheLineAllocator&, const CacheLineAllocator&) { return true; }
};

template <class T>
using AlignedVector = std::vector<T, CacheLineAllocator<T>>;

// Scratch buffers only grow: a step that needs fewer elements than the last one keeps the space.
template <class Vector>
void grow(Vector& v, int64_t n) {
    if (static_cast<int64_t>(v.size()) < n) v.resize(n);
}

}  // namespace hearth
