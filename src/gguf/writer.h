// GGUF v3 writer: collects metadata and tensors in memory, then emits the file bytes.
// Used by tests, the built-in synthetic model and future tools; not streaming.
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

    // The file. From an rvalue (std::move(w).bytes()) each tensor's bytes are freed as they are
    // laid out, so that a multi-GB model is not held twice.
    std::string bytes() const&;
    std::string bytes() &&;
    Status write(const std::string& path) const;

   private:
    struct Tensor {
        std::string name;
        TensorType type;
        std::vector<int64_t> ne;
        std::string data;
    };
    void add_kv(const std::string& key, ValueType type, const std::string& value);
    template <typename Self>
    static std::string assemble(Self& self);

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
