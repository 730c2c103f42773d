// The type table. Sizes follow the GGUF specification's block layouts.
#include "gguf/types.h"

#include <array>

namespace hearth::gguf {

namespace {

struct Entry {
    TensorType type;
    TypeTraits traits;
};

constexpr std::array kTypes = {
    Entry{TensorType::F32, {"F32", 1, 4}},       Entry{TensorType::F16, {"F16", 1, 2}},
    Entry{TensorType::Q4_0, {"Q4_0", 32, 18}},   Entry{TensorType::Q4_1, {"Q4_1", 32, 20}},
    Entry{TensorType::Q5_0, {"Q5_0", 32, 22}},   Entry{TensorType::Q5_1, {"Q5_1", 32, 24}},
    Entry{TensorType::Q8_0, {"Q8_0", 32, 34}},   Entry{TensorType::Q8_1, {"Q8_1", 32, 36}},
    Entry{TensorType::Q2_K, {"Q2_K", 256, 84}},  Entry{TensorType::Q3_K, {"Q3_K", 256, 110}},
    Entry{TensorType::Q4_K, {"Q4_K", 256, 144}}, Entry{TensorType::Q5_K, {"Q5_K", 256, 176}},
    Entry{TensorType::Q6_K, {"Q6_K", 256, 210}}, Entry{TensorType::Q8_K, {"Q8_K", 256, 292}},
    Entry{TensorType::IQ4_NL, {"IQ4_NL", 32, 18}}, Entry{TensorType::IQ4_XS, {"IQ4_XS", 256, 136}},
    Entry{TensorType::BF16, {"BF16", 1, 2}},
};

}  // namespace

std::optional<TypeTraits> type_traits(uint32_t type_id) {
    for (const auto& e : kTypes) {
        if (static_cast<uint32_t>(e.type) == type_id) return e.traits;
    }
    return std::nullopt;
}

std::string_view type_name(TensorType t) {
    auto tr = type_traits(static_cast<uint32_t>(t));
    return tr ? tr->name : std::string_view("?");
}

std::optional<TensorType> type_from_name(std::string_view name) {
    for (const auto& e : kTypes) {
        if (e.traits.name == name) return e.type;
    }
    return std::nullopt;
}

}  // namespace hearth::gguf
