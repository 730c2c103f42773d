// Serialization of GGUF v3: header, kv pairs, tensor infos, aligned data section.
#include "gguf/writer.h"

#include <cstdio>
#include <cstring>

namespace hearth::gguf {

void put_u32(std::string& out, uint32_t v) { out.append(reinterpret_cast<const char*>(&v), 4); }
void put_u64(std::string& out, uint64_t v) { out.append(reinterpret_cast<const char*>(&v), 8); }
void put_string(std::string& out, const std::string& s) {
    put_u64(out, s.size());
    out += s;
}

namespace {
template <typename T>
std::string raw(T v) {
    return std::string(reinterpret_cast<const char*>(&v), sizeof v);
}
template <typename T>
std::string raw_array(ValueType elem, const std::vector<T>& v) {
    std::string s;
    put_u32(s, static_cast<uint32_t>(elem));
    put_u64(s, v.size());
    s.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
    return s;
}
}  // namespace

void Writer::add_kv(const std::string& key, ValueType type, const std::string& value) {
    put_string(kv_bytes_, key);
    put_u32(kv_bytes_, static_cast<uint32_t>(type));
    kv_bytes_ += value;
    ++n_kv_;
}

void Writer::add_u32(const std::string& key, uint32_t v) { add_kv(key, ValueType::U32, raw(v)); }
void Writer::add_i32(const std::string& key, int32_t v) { add_kv(key, ValueType::I32, raw(v)); }
void Writer::add_u64(const std::string& key, uint64_t v) { add_kv(key, ValueType::U64, raw(v)); }
void Writer::add_f32(const std::string& key, float v) { add_kv(key, ValueType::F32, raw(v)); }
void Writer::add_bool(const std::string& key, bool v) {
    add_kv(key, ValueType::Bool, raw(static_cast<uint8_t>(v)));
}
void Writer::add_string(const std::string& key, const std::string& v) {
    std::string s;
    put_string(s, v);
    add_kv(key, ValueType::String, s);
}
void Writer::add_strings(const std::string& key, const std::vector<std::string>& v) {
    std::string s;
    put_u32(s, static_cast<uint32_t>(ValueType::String));
    put_u64(s, v.size());
    for (const auto& x : v) put_string(s, x);
    add_kv(key, ValueType::Array, s);
}
void Writer::add_i32s(const std::string& key, const std::vector<int32_t>& v) {
    add_kv(key, ValueType::Array, raw_array(ValueType::I32, v));
}
void Writer::add_f32s(const std::string& key, const std::vector<float>& v) {
    add_kv(key, ValueType::Array, raw_array(ValueType::F32, v));
}
void Writer::add_raw(const std::string& key, ValueType type, const std::string& encoded) {
    add_kv(key, type, encoded);
}

void Writer::add_tensor_info(const std::string& name, TensorType type, std::vector<int64_t> ne) {
    auto tr = traits(type);
    int64_t n = 1;
    for (int64_t d : ne) n *= d;
    HEARTH_CHECK(ne[0] % tr.block_size == 0);
    const auto size = static_cast<uint64_t>(n / tr.block_size * tr.block_bytes);
    tensors_.push_back({name, type, std::move(ne), size, {}});
}

void Writer::add_tensor(const std::string& name, TensorType type, std::vector<int64_t> ne,
                        std::span<const uint8_t> data) {
    add_tensor_info(name, type, std::move(ne));
    HEARTH_CHECK(data.size() == tensors_.back().size);
    tensors_.back().data.assign(reinterpret_cast<const char*>(data.data()), data.size());
}

void Writer::add_tensor_f32(const std::string& name, std::vector<int64_t> ne,
                            std::span<const float> data) {
    add_tensor(name, TensorType::F32, std::move(ne),
               {reinterpret_cast<const uint8_t*>(data.data()), data.size() * sizeof(float)});
}

std::string Writer::head() const {
    std::string head;
    put_u32(head, 0x46554747);
    put_u32(head, 3);
    put_u64(head, tensors_.size());
    put_u64(head, n_kv_);
    head += kv_bytes_;
    uint64_t offset = 0;
    for (const auto& t : tensors_) {
        put_string(head, t.name);
        put_u32(head, static_cast<uint32_t>(t.ne.size()));
        for (int64_t d : t.ne) put_u64(head, static_cast<uint64_t>(d));
        put_u32(head, static_cast<uint32_t>(t.type));
        put_u64(head, offset);
        offset += t.size + padding(t.size);
    }
    head.resize(head.size() + padding(head.size()), '\0');
    return head;
}

uint64_t Writer::file_size() const {
    uint64_t n = head().size();
    for (const auto& t : tensors_) n += t.size + padding(t.size);
    return n;
}

std::string Writer::bytes() const {
    std::string out = head();
    out.reserve(file_size());  // sized once: growing by doubling would hold two buffers
    for (const auto& t : tensors_) {
        HEARTH_CHECK(t.data.size() == t.size);
        out += t.data;
        out.resize(out.size() + padding(t.size), '\0');
    }
    return out;
}

Status Writer::write(const std::string& path) const {
    std::string b = bytes();
    FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) return error(path + ": cannot open for writing");
    bool ok = std::fwrite(b.data(), 1, b.size(), f) == b.size();
    ok = (std::fclose(f) == 0) && ok;
    return ok ? Status() : error(path + ": write failed");
}

}  // namespace hearth::gguf
