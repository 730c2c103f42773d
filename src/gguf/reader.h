// GGUF reader: parses and validates the header, metadata and tensor infos of a mapped file.
// Tensor data is never copied: a TensorInfo points into the map. Writing lives in writer.h.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/mapped_file.h"
#include "base/status.h"
#include "gguf/types.h"

namespace hearth::gguf {

enum class ValueType : uint32_t {
    U8 = 0,
    I8 = 1,
    U16 = 2,
    I16 = 3,
    U32 = 4,
    I32 = 5,
    F32 = 6,
    Bool = 7,
    String = 8,
    Array = 9,
    U64 = 10,
    I64 = 11,
    F64 = 12,
};
std::string_view value_type_name(ValueType t);

struct Value;

struct Array {
    ValueType elem_type = ValueType::U8;
    uint64_t count = 0;
    const uint8_t* data = nullptr;          // numeric and bool elements, packed little-endian
    std::vector<std::string_view> strings;  // string elements (point into the file)
    std::vector<Value> arrays;              // nested array elements
};

struct Value {
    ValueType type = ValueType::U8;
    uint64_t u = 0;  // unsigned integers and bool
    int64_t i = 0;   // signed integers
    double f = 0;    // floats
    std::string_view str;
    std::shared_ptr<const Array> array;

    bool is_integer() const;
    bool is_float() const { return type == ValueType::F32 || type == ValueType::F64; }
    // Short human form: 42, 1e-06, "text", [u32 x 4], ...
    std::string to_string(size_t max_items = 8) const;
};

inline constexpr int kMaxDims = 4;

struct TensorInfo {
    std::string_view name;
    TensorType type = TensorType::F32;
    int n_dims = 0;
    int64_t ne[kMaxDims] = {1, 1, 1, 1};  // fastest-varying first
    uint64_t offset = 0;                  // relative to the data section
    const uint8_t* data = nullptr;
    uint64_t n_bytes = 0;

    int64_t n_elements() const { return ne[0] * ne[1] * ne[2] * ne[3]; }
    int64_t n_rows() const { return ne[1] * ne[2] * ne[3]; }
    uint64_t row_bytes() const;
    std::string shape_string() const;  // "[256, 1024]"
};

class Reader {
   public:
    static Result<Reader> open(const std::string& path);
    static Result<Reader> from_file(std::shared_ptr<MappedFile> file);

    uint32_t version() const { return version_; }
    uint64_t alignment() const { return alignment_; }
    uint64_t data_offset() const { return data_offset_; }
    const std::string& path() const { return file_->path(); }
    uint64_t file_size() const { return file_->bytes().size(); }
    // The tensor data section: from data_offset() to the end of the file.
    std::span<const uint8_t> tensor_bytes() const {
        return file_->bytes().subspan(std::min<size_t>(data_offset_, file_->bytes().size()));
    }
    // See MappedFile::release_pages: for tensor bytes copied elsewhere.
    void release_pages(const uint8_t* p, size_t size) const { file_->release_pages(p, size); }

    const std::vector<std::pair<std::string_view, Value>>& metadata() const { return kvs_; }
    const Value* find(std::string_view key) const;
    const std::vector<TensorInfo>& tensors() const { return tensors_; }
    const TensorInfo* find_tensor(std::string_view name) const;

    // Typed getters: a missing key or a value of the wrong kind is an error naming the key.
    // Integers of any width are accepted when the value fits.
    Result<uint64_t> get_uint(std::string_view key) const;
    Result<double> get_float(std::string_view key) const;
    Result<std::string_view> get_string(std::string_view key) const;
    Result<bool> get_bool(std::string_view key) const;
    Result<const Array*> get_array(std::string_view key) const;
    // Same, with a default for absent keys (a present key of the wrong kind is still an error).
    Result<uint64_t> get_uint_or(std::string_view key, uint64_t def) const;
    Result<double> get_float_or(std::string_view key, double def) const;
    Result<bool> get_bool_or(std::string_view key, bool def) const;

   private:
    Reader() = default;
    std::shared_ptr<MappedFile> file_;
    uint32_t version_ = 0;
    uint64_t alignment_ = 32;
    uint64_t data_offset_ = 0;
    std::vector<std::pair<std::string_view, Value>> kvs_;
    std::map<std::string_view, size_t> kv_index_;
    std::vector<TensorInfo> tensors_;
    std::map<std::string_view, size_t> tensor_index_;
};

// Reads element i of a numeric array as int64 / double (no range checks beyond the count).
int64_t array_int(const Array& a, uint64_t i);
double array_float(const Array& a, uint64_t i);

}  // namespace hearth::gguf
