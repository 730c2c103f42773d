// GGUF v2/v3 parsing with every count, size and offset checked against the bytes that remain,
// so that a truncated or hostile file gives an error naming what was wrong and where.
#include "gguf/reader.h"

#include <algorithm>
#include <cstring>

namespace hearth::gguf {

namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" little-endian
constexpr int kMaxArrayDepth = 8;

size_t scalar_size(ValueType t) {
    switch (t) {
        case ValueType::U8: case ValueType::I8: case ValueType::Bool: return 1;
        case ValueType::U16: case ValueType::I16: return 2;
        case ValueType::U32: case ValueType::I32: case ValueType::F32: return 4;
        case ValueType::U64: case ValueType::I64: case ValueType::F64: return 8;
        default: return 0;
    }
}

// A bounds-checked cursor over the file bytes.
class Cursor {
   public:
    Cursor(const uint8_t* data, uint64_t size) : data_(data), size_(size) {}
    uint64_t pos() const { return pos_; }
    uint64_t remaining() const { return size_ - pos_; }

    template <typename T>
    bool read(T* out) {
        if (remaining() < sizeof(T)) return false;
        std::memcpy(out, data_ + pos_, sizeof(T));
        pos_ += sizeof(T);
        return true;
    }
    bool read_string(std::string_view* out) {
        uint64_t len;
        if (!read(&len) || len > remaining()) return false;
        *out = std::string_view(reinterpret_cast<const char*>(data_ + pos_), len);
        pos_ += len;
        return true;
    }
    const uint8_t* skip(uint64_t n) {
        if (n > remaining()) return nullptr;
        const uint8_t* p = data_ + pos_;
        pos_ += n;
        return p;
    }

   private:
    const uint8_t* data_;
    uint64_t size_;
    uint64_t pos_ = 0;
};

Status truncated(const Cursor& c, const std::string& what) {
    return error(strfmt("truncated file: %s at byte %llu", what.c_str(),
                        static_cast<unsigned long long>(c.pos())));
}

Status read_value(Cursor& c, ValueType type, Value* v, int depth, const std::string& what);

Status read_array(Cursor& c, Value* v, int depth, const std::string& what) {
    if (depth >= kMaxArrayDepth) return error(what + ": arrays nested too deeply");
    auto arr = std::make_shared<Array>();
    uint32_t et;
    if (!c.read(&et) || !c.read(&arr->count)) return truncated(c, what + " array header");
    if (et > static_cast<uint32_t>(ValueType::F64))
        return error(strfmt("%s: unknown array element type %u", what.c_str(), et));
    arr->elem_type = static_cast<ValueType>(et);
    if (size_t sz = scalar_size(arr->elem_type); sz != 0) {
        if (arr->count > c.remaining() / sz)
            return error(strfmt("%s: array of %llu elements runs past the end of the file",
                                what.c_str(), static_cast<unsigned long long>(arr->count)));
        arr->data = c.skip(arr->count * sz);
    } else if (arr->elem_type == ValueType::String) {
        if (arr->count > c.remaining() / 8)
            return error(strfmt("%s: string array of %llu elements runs past the end of the file",
                                what.c_str(), static_cast<unsigned long long>(arr->count)));
        arr->strings.resize(arr->count);
        for (uint64_t i = 0; i < arr->count; ++i) {
            if (!c.read_string(&arr->strings[i]))
                return truncated(c, strfmt("%s[%llu]", what.c_str(), (unsigned long long)i));
        }
    } else {  // nested arrays: each needs at least its 12-byte header
        if (arr->count > c.remaining() / 12)
            return error(strfmt("%s: nested array count %llu runs past the end of the file",
                                what.c_str(), static_cast<unsigned long long>(arr->count)));
        arr->arrays.resize(arr->count);
        for (uint64_t i = 0; i < arr->count; ++i) {
            HEARTH_RETURN_IF_ERROR(read_value(c, ValueType::Array, &arr->arrays[i], depth + 1,
                                              strfmt("%s[%llu]", what.c_str(), (unsigned long long)i)));
        }
    }
    v->array = std::move(arr);
    return Status();
}

Status read_value(Cursor& c, ValueType type, Value* v, int depth, const std::string& what) {
    v->type = type;
    bool ok = true;
    switch (type) {
        case ValueType::U8: { uint8_t x = 0; ok = c.read(&x); v->u = x; break; }
        case ValueType::I8: { int8_t x = 0; ok = c.read(&x); v->i = x; break; }
        case ValueType::U16: { uint16_t x = 0; ok = c.read(&x); v->u = x; break; }
        case ValueType::I16: { int16_t x = 0; ok = c.read(&x); v->i = x; break; }
        case ValueType::U32: { uint32_t x = 0; ok = c.read(&x); v->u = x; break; }
        case ValueType::I32: { int32_t x = 0; ok = c.read(&x); v->i = x; break; }
        case ValueType::U64: { uint64_t x = 0; ok = c.read(&x); v->u = x; break; }
        case ValueType::I64: { int64_t x = 0; ok = c.read(&x); v->i = x; break; }
        case ValueType::F32: { float x = 0; ok = c.read(&x); v->f = x; break; }
        case ValueType::F64: { double x = 0; ok = c.read(&x); v->f = x; break; }
        case ValueType::Bool: {
            uint8_t x = 0;
            ok = c.read(&x);
            if (ok && x > 1) return error(strfmt("%s: bool value %u is not 0 or 1", what.c_str(), x));
            v->u = x;
            break;
        }
        case ValueType::String: ok = c.read_string(&v->str); break;
        case ValueType::Array: return read_array(c, v, depth, what);
        default:
            return error(strfmt("%s: unknown value type %u", what.c_str(), static_cast<uint32_t>(type)));
    }
    return ok ? Status() : truncated(c, what);
}

Status read_tensor_info(Cursor& c, uint64_t index, TensorInfo* t) {
    std::string what = strfmt("tensor info %llu", static_cast<unsigned long long>(index));
    if (!c.read_string(&t->name)) return truncated(c, what + " name");
    what = "tensor '" + std::string(t->name) + "'";
    uint32_t n_dims;
    if (!c.read(&n_dims)) return truncated(c, what + " n_dims");
    if (n_dims == 0 || n_dims > kMaxDims)
        return error(strfmt("%s: %u dimensions (1 to %d allowed)", what.c_str(), n_dims, kMaxDims));
    t->n_dims = static_cast<int>(n_dims);
    uint64_t n_elements = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
        uint64_t ne;
        if (!c.read(&ne)) return truncated(c, what + " shape");
        if (ne > (uint64_t{1} << 40) || (ne != 0 && n_elements > (uint64_t{1} << 62) / ne))
            return error(strfmt("%s: absurd dimension %llu", what.c_str(), (unsigned long long)ne));
        n_elements *= ne;
        t->ne[d] = static_cast<int64_t>(ne);
    }
    uint32_t type_id;
    if (!c.read(&type_id) || !c.read(&t->offset)) return truncated(c, what + " type/offset");
    auto tr = type_traits(type_id);
    if (!tr) return error(strfmt("%s: unknown tensor type %u", what.c_str(), type_id));
    t->type = static_cast<TensorType>(type_id);
    if (t->ne[0] % tr->block_size != 0)
        return error(strfmt("%s: row length %lld is not a multiple of the %s block size %lld",
                            what.c_str(), (long long)t->ne[0], std::string(tr->name).c_str(),
                            (long long)tr->block_size));
    t->n_bytes = n_elements / tr->block_size * tr->block_bytes;
    return Status();
}

}  // namespace

bool Value::is_integer() const {
    switch (type) {
        case ValueType::U8: case ValueType::I8: case ValueType::U16: case ValueType::I16:
        case ValueType::U32: case ValueType::I32: case ValueType::U64: case ValueType::I64:
            return true;
        default: return false;
    }
}

std::string_view value_type_name(ValueType t) {
    static constexpr std::string_view kNames[] = {"u8",  "i8",  "u16",  "i16",    "u32",
                                                  "i32", "f32", "bool", "string", "array",
                                                  "u64", "i64", "f64"};
    auto i = static_cast<uint32_t>(t);
    return i < std::size(kNames) ? kNames[i] : "?";
}

uint64_t TensorInfo::row_bytes() const {
    auto tr = traits(type);
    return static_cast<uint64_t>(ne[0] / tr.block_size * tr.block_bytes);
}

std::string TensorInfo::shape_string() const {
    std::string s = "[";
    for (int d = 0; d < n_dims; ++d) s += (d ? ", " : "") + std::to_string(ne[d]);
    return s + "]";
}

Result<Reader> Reader::open(const std::string& path) {
    auto file = MappedFile::open(path);
    if (!file.ok()) return file.status();
    return from_file(std::move(file.value()));
}

Result<Reader> Reader::from_file(std::shared_ptr<MappedFile> file) {
    Reader r;
    r.file_ = std::move(file);
    auto bytes = r.file_->bytes();
    Cursor c(bytes.data(), bytes.size());
    auto fail = [&](const Status& s) { return s.with_context(r.file_->path()); };

    uint32_t magic;
    if (!c.read(&magic)) return fail(error("file is too small to be GGUF (no magic)"));
    if (magic != kMagic) return fail(error("not a GGUF file (bad magic)"));
    if (!c.read(&r.version_)) return fail(truncated(c, "version"));
    if (r.version_ != 2 && r.version_ != 3)
        return fail(error(strfmt("unsupported GGUF version %u (2 and 3 are supported)", r.version_)));
    uint64_t n_tensors, n_kv;
    if (!c.read(&n_tensors) || !c.read(&n_kv)) return fail(truncated(c, "header counts"));
    // Every kv needs >= 12 bytes (key length + type), every tensor info >= 24.
    if (n_kv > c.remaining() / 12)
        return fail(error(strfmt("metadata count %llu is larger than the file can hold",
                                 (unsigned long long)n_kv)));
    if (n_tensors > c.remaining() / 24)
        return fail(error(strfmt("tensor count %llu is larger than the file can hold",
                                 (unsigned long long)n_tensors)));

    r.kvs_.reserve(n_kv);
    for (uint64_t i = 0; i < n_kv; ++i) {
        std::string_view key;
        uint32_t type;
        if (!c.read_string(&key)) return fail(truncated(c, strfmt("metadata key %llu", (unsigned long long)i)));
        if (!c.read(&type)) return fail(truncated(c, "type of key '" + std::string(key) + "'"));
        Value v;
        HEARTH_RETURN_IF_ERROR(fail(read_value(c, static_cast<ValueType>(type), &v, 0,
                                               "key '" + std::string(key) + "'")));
        if (!r.kv_index_.emplace(key, r.kvs_.size()).second)
            return fail(error("duplicate metadata key '" + std::string(key) + "'"));
        r.kvs_.emplace_back(key, std::move(v));
    }

    if (const Value* a = r.find("general.alignment")) {
        if (!a->is_integer() || a->u == 0 || a->u > (1u << 30) || (a->u & (a->u - 1)) != 0)
            return fail(error("general.alignment: must be a power of two, got " + a->to_string()));
        r.alignment_ = a->u;
    }

    r.tensors_.resize(n_tensors);
    for (uint64_t i = 0; i < n_tensors; ++i) {
        HEARTH_RETURN_IF_ERROR(fail(read_tensor_info(c, i, &r.tensors_[i])));
        if (!r.tensor_index_.emplace(r.tensors_[i].name, i).second)
            return fail(error("duplicate tensor name '" + std::string(r.tensors_[i].name) + "'"));
    }

    uint64_t pos = c.pos();
    r.data_offset_ = (pos + r.alignment_ - 1) / r.alignment_ * r.alignment_;
    const uint64_t file_size = bytes.size();
    if (n_tensors > 0 && r.data_offset_ > file_size)
        return fail(error("data section starts past the end of the file"));
    const uint64_t data_size = file_size - std::min(r.data_offset_, file_size);

    std::vector<const TensorInfo*> by_offset;
    for (auto& t : r.tensors_) {
        std::string what = "tensor '" + std::string(t.name) + "'";
        if (t.offset % r.alignment_ != 0)
            return fail(error(strfmt("%s: data offset %llu is not a multiple of the alignment %llu",
                                     what.c_str(), (unsigned long long)t.offset,
                                     (unsigned long long)r.alignment_)));
        if (t.offset > data_size || t.n_bytes > data_size - t.offset)
            return fail(error(strfmt("%s: data (%llu bytes at offset %llu) runs past the end of the file",
                                     what.c_str(), (unsigned long long)t.n_bytes,
                                     (unsigned long long)t.offset)));
        // Blocks hold 2- and 4-byte fields: data must sit on a 4-byte boundary of the file
        // (the map itself is page-aligned), whatever general.alignment claims.
        if ((r.data_offset_ + t.offset) % 4 != 0)
            return fail(error(strfmt("%s: data at file offset %llu is misaligned (must be a "
                                     "multiple of 4)", what.c_str(),
                                     (unsigned long long)(r.data_offset_ + t.offset))));
        t.data = bytes.data() + r.data_offset_ + t.offset;
        by_offset.push_back(&t);
    }
    std::sort(by_offset.begin(), by_offset.end(),
              [](const TensorInfo* a, const TensorInfo* b) { return a->offset < b->offset; });
    for (size_t i = 1; i < by_offset.size(); ++i) {
        const TensorInfo* a = by_offset[i - 1];
        const TensorInfo* b = by_offset[i];
        if (a->offset + a->n_bytes > b->offset && a->n_bytes > 0 && b->n_bytes > 0)
            return fail(error("tensor '" + std::string(a->name) + "' overlaps tensor '" +
                              std::string(b->name) + "'"));
    }
    return r;
}

const Value* Reader::find(std::string_view key) const {
    auto it = kv_index_.find(key);
    return it == kv_index_.end() ? nullptr : &kvs_[it->second].second;
}

const TensorInfo* Reader::find_tensor(std::string_view name) const {
    auto it = tensor_index_.find(name);
    return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

namespace {
Status wrong_type(std::string_view key, const char* want, const Value& v) {
    return error(strfmt("metadata key '%s': expected %s, got %s", std::string(key).c_str(), want,
                        std::string(value_type_name(v.type)).c_str()));
}
Status missing(std::string_view key) {
    return error("missing metadata key '" + std::string(key) + "'");
}
}  // namespace

Result<uint64_t> Reader::get_uint(std::string_view key) const {
    const Value* v = find(key);
    if (!v) return missing(key);
    if (!v->is_integer()) return wrong_type(key, "an integer", *v);
    if (v->i < 0) return error("metadata key '" + std::string(key) + "': negative value");
    return v->u != 0 ? v->u : static_cast<uint64_t>(v->i);
}

Result<double> Reader::get_float(std::string_view key) const {
    const Value* v = find(key);
    if (!v) return missing(key);
    if (!v->is_float()) return wrong_type(key, "a float", *v);
    return v->f;
}

Result<std::string_view> Reader::get_string(std::string_view key) const {
    const Value* v = find(key);
    if (!v) return missing(key);
    if (v->type != ValueType::String) return wrong_type(key, "a string", *v);
    return v->str;
}

Result<bool> Reader::get_bool(std::string_view key) const {
    const Value* v = find(key);
    if (!v) return missing(key);
    if (v->type != ValueType::Bool) return wrong_type(key, "a bool", *v);
    return v->u != 0;
}

Result<const Array*> Reader::get_array(std::string_view key) const {
    const Value* v = find(key);
    if (!v) return missing(key);
    if (v->type != ValueType::Array) return wrong_type(key, "an array", *v);
    return v->array.get();
}

Result<uint64_t> Reader::get_uint_or(std::string_view key, uint64_t def) const {
    return find(key) ? get_uint(key) : Result<uint64_t>(def);
}
Result<double> Reader::get_float_or(std::string_view key, double def) const {
    return find(key) ? get_float(key) : Result<double>(def);
}
Result<bool> Reader::get_bool_or(std::string_view key, bool def) const {
    return find(key) ? get_bool(key) : Result<bool>(def);
}

int64_t array_int(const Array& a, uint64_t i) {
    const uint8_t* p = a.data + i * scalar_size(a.elem_type);
    switch (a.elem_type) {
        case ValueType::U8: case ValueType::Bool: return *p;
        case ValueType::I8: return static_cast<int8_t>(*p);
        case ValueType::U16: { uint16_t x; std::memcpy(&x, p, 2); return x; }
        case ValueType::I16: { int16_t x; std::memcpy(&x, p, 2); return x; }
        case ValueType::U32: { uint32_t x; std::memcpy(&x, p, 4); return x; }
        case ValueType::I32: { int32_t x; std::memcpy(&x, p, 4); return x; }
        case ValueType::U64: { uint64_t x; std::memcpy(&x, p, 8); return static_cast<int64_t>(x); }
        case ValueType::I64: { int64_t x; std::memcpy(&x, p, 8); return x; }
        case ValueType::F32: { float x; std::memcpy(&x, p, 4); return static_cast<int64_t>(x); }
        case ValueType::F64: { double x; std::memcpy(&x, p, 8); return static_cast<int64_t>(x); }
        default: return 0;
    }
}

double array_float(const Array& a, uint64_t i) {
    const uint8_t* p = a.data + i * scalar_size(a.elem_type);
    if (a.elem_type == ValueType::F32) { float x; std::memcpy(&x, p, 4); return x; }
    if (a.elem_type == ValueType::F64) { double x; std::memcpy(&x, p, 8); return x; }
    return static_cast<double>(array_int(a, i));
}

std::string Value::to_string(size_t max_items) const {
    switch (type) {
        case ValueType::U8: case ValueType::U16: case ValueType::U32: case ValueType::U64:
            return std::to_string(u);
        case ValueType::I8: case ValueType::I16: case ValueType::I32: case ValueType::I64:
            return std::to_string(i);
        case ValueType::F32: case ValueType::F64: return strfmt("%g", f);
        case ValueType::Bool: return u ? "true" : "false";
        case ValueType::String: {
            std::string s(str.substr(0, 60));
            for (char& ch : s) if (ch == '\n' || ch == '\r' || ch == '\t') ch = ' ';
            return "\"" + s + (str.size() > 60 ? "...\"" : "\"");
        }
        case ValueType::Array: {
            const Array& a = *array;
            std::string s = strfmt("[%s x %llu", std::string(value_type_name(a.elem_type)).c_str(),
                                   (unsigned long long)a.count);
            if (a.count > 0 && a.count <= max_items && a.data) {
                s += ":";
                for (uint64_t k = 0; k < a.count; ++k)
                    s += " " + (a.elem_type == ValueType::F32 || a.elem_type == ValueType::F64
                                    ? strfmt("%g", array_float(a, k))
                                    : std::to_string(array_int(a, k)));
            }
            return s + "]";
        }
    }
    return "?";
}

}  // namespace hearth::gguf
