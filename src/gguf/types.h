// Tensor element types of the GGUF format: ids, names, block sizes and bytes per block.
// Only the table; the block layouts and their arithmetic live in kernels/.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace hearth::gguf {

enum class TensorType : uint32_t {
    F32 = 0,
    F16 = 1,
    Q4_0 = 2,
    Q4_1 = 3,
    Q5_0 = 6,
    Q5_1 = 7,
    Q8_0 = 8,
    Q8_1 = 9,
    Q2_K = 10,
    Q3_K = 11,
    Q4_K = 12,
    Q5_K = 13,
    Q6_K = 14,
    Q8_K = 15,
    IQ4_NL = 20,
    IQ4_XS = 23,
    BF16 = 30,
};

struct TypeTraits {
    std::string_view name;
    int64_t block_size;   // elements per block
    int64_t block_bytes;  // bytes per block
};

// Traits of a type id, or nullopt for ids this build does not know.
std::optional<TypeTraits> type_traits(uint32_t type_id);
inline TypeTraits traits(TensorType t) { return *type_traits(static_cast<uint32_t>(t)); }
std::string_view type_name(TensorType t);
std::optional<TensorType> type_from_name(std::string_view name);

}  // namespace hearth::gguf
