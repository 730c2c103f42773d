// GGUF v3 writer: collects metadata and tensors in memory, then emits the file bytes. A file
// too large for memory is streamed instead: tensors declared without their bytes, head(), then
// each tensor's bytes and padding, written by the caller. Used by tests and synthetic models.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "gguf/reader.h"

namespace hearth::gguf {

class Writer {
   public:
    explicit Writer(uint64_t alignment = 32) : alignment_(alignment) {}

    void add_u32(const std::string& key, uint32_t v);
    void add_i32(const std::string& key, int32_t v);
    void add_u64(const std::string& key, uint64_t v);
    void add_f32(const std::string& key, float v);
    void add_bool(const std::string& key, bool v);
    void add_string(const std::string& key, const std::string& v);
    void add_strings(const std::string& key, const std::vector<std::string>& v);
    void add_i32s(const std::string& key, const std::vector<int32_t>& v);
    void add_f32s(const std::string& key, const std::vector<float>& v);
    // Escape hatch for tests: a key with a raw, already encoded value of any type.
    void add_raw(const std::string& key, ValueType type, const std::string& encoded_value);

    // `data` must hold exactly the bytes the type and shape imply.
    void add_tensor(const std::string& name, TensorType type, std::vector<int64_t> ne,
                    std::span<const uint8_t> data);
    void add_tensor_f32(const std::string& name, std::vector<int64_t> ne,
                        std::span<const float> data);

    // A tensor whose bytes the caller writes itself, after head(): in the order declared, each
    // followed by padding(its size) zero bytes.
    void add_tensor_info(const std::string& name, TensorType type, std::vector<int64_t> ne);

    // The file up to the first tensor's bytes: header, metadata, tensor infos, padding.
    std::string head() const;
    // The zero bytes that follow `size` bytes of tensor data, up to the alignment.
    uint64_t padding(uint64_t size) const { return (alignment_ - size % alignment_) % alignment_; }
    uint64_t file_size() const;

    // The whole file; every tensor must have been added with its bytes.
    std::string bytes() const;
    Status write(const std::string& path) const;

   private:
    struct Tensor {
        std::string name;
        TensorType type;
        std::vector<int64_t> ne;
        uint64_t size;
        std::string data;  // empty for add_tensor_info
    };
    void add_kv(const std::string& key, ValueType type, const std::string& value);

    uint64_t alignment_;
    uint64_t n_kv_ = 0;
    std::string kv_bytes_;
    std::vector<Tensor> tensors_;
};

// Little-endian encoders, shared with the tests that build hostile files by hand.
void put_u32(std::string& out, uint32_t v);
void put_u64(std::string& out, uint64_t v);
void put_string(std::string& out, const std::string& s);

}  // namespace hearth::gguf
