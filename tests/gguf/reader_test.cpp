// GGUF reader: a round trip through the writer, every value type, and hostile files that
// must give a clear error (never a crash): truncation, bad magic, absurd counts, data past
// the end, misaligned or overlapping tensors, unknown types.
#include <gtest/gtest.h>

#include <string>

#include "gguf/reader.h"
#include "gguf/writer.h"

namespace hearth::gguf {
namespace {

Result<Reader> parse(std::string bytes) {
    return Reader::from_file(MappedFile::from_bytes(std::move(bytes), "test.gguf"));
}

// Expects a parse failure whose message contains `needle`.
void expect_error(const std::string& bytes, const std::string& needle) {
    auto r = parse(bytes);
    ASSERT_FALSE(r.ok()) << "expected an error containing: " << needle;
    EXPECT_NE(r.message().find(needle), std::string::npos) << r.message();
    EXPECT_EQ(r.message().find('\n'), std::string::npos) << "one line: " << r.message();
}

std::string header(uint32_t version, uint64_t n_tensors, uint64_t n_kv) {
    std::string s;
    put_u32(s, 0x46554747);
    put_u32(s, version);
    put_u64(s, n_tensors);
    put_u64(s, n_kv);
    return s;
}

// streamed: the tensors declared without bytes, then written after head() with their padding,
// as a file too large for memory is.
std::string small_file(bool streamed = false) {
    Writer w;
    w.add_string("general.architecture", "llama");
    w.add_u32("llama.block_count", 2);
    w.add_f32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
    w.add_bool("flag", true);
    w.add_strings("tokenizer.ggml.tokens", {"a", "b", "c"});
    w.add_i32s("ints", {1, -2, 3});
    std::vector<float> data(64, 0.5f), data2(31, 1.5f);  // t1: 124 bytes, not a multiple of 32
    if (!streamed) {
        w.add_tensor_f32("t0", {16, 4}, data);
        w.add_tensor_f32("t1", {31}, data2);
        return w.bytes();
    }
    w.add_tensor_info("t0", TensorType::F32, {16, 4});
    w.add_tensor_info("t1", TensorType::F32, {31});
    std::string out = w.head();
    for (const auto& d : {data, data2}) {
        out.append(reinterpret_cast<const char*>(d.data()), d.size() * sizeof(float));
        out.append(w.padding(d.size() * sizeof(float)), '\0');
    }
    EXPECT_EQ(out.size(), w.file_size());
    return out;
}

TEST(GgufReader, RoundTripsWriterOutput) {
    EXPECT_EQ(small_file(false), small_file(true));
    for (bool streamed : {false, true}) {
        SCOPED_TRACE(streamed ? "streamed" : "w.bytes()");
        auto r = parse(small_file(streamed));
        ASSERT_TRUE(r.ok()) << r.message();
        EXPECT_EQ(r->version(), 3u);
        EXPECT_EQ(*r->get_string("general.architecture"), "llama");
        EXPECT_EQ(*r->get_uint("llama.block_count"), 2u);
        EXPECT_FLOAT_EQ(
            static_cast<float>(*r->get_float("llama.attention.layer_norm_rms_epsilon")), 1e-5f);
        EXPECT_TRUE(*r->get_bool("flag"));
        const Array* toks = *r->get_array("tokenizer.ggml.tokens");
        ASSERT_EQ(toks->strings.size(), 3u);
        EXPECT_EQ(toks->strings[2], "c");
        const Array* ints = *r->get_array("ints");
        EXPECT_EQ(array_int(*ints, 1), -2);
        ASSERT_EQ(r->tensors().size(), 2u);
        const TensorInfo* t0 = r->find_tensor("t0");
        ASSERT_NE(t0, nullptr);
        EXPECT_EQ(t0->ne[0], 16);
        EXPECT_EQ(t0->ne[1], 4);
        EXPECT_EQ(t0->n_bytes, 256u);
        EXPECT_EQ(reinterpret_cast<const float*>(t0->data)[5], 0.5f);
        EXPECT_EQ(reinterpret_cast<const float*>(r->find_tensor("t1")->data)[30], 1.5f);
        EXPECT_EQ(reinterpret_cast<uintptr_t>(t0->data) % 32, 0u);
    }
}

TEST(GgufReader, TypedGettersNameTheKey) {
    auto r = parse(small_file());
    ASSERT_TRUE(r.ok());
    auto missing = r->get_uint("llama.context_length");
    ASSERT_FALSE(missing.ok());
    EXPECT_NE(missing.message().find("llama.context_length"), std::string::npos);
    auto wrong = r->get_uint("general.architecture");
    ASSERT_FALSE(wrong.ok());
    EXPECT_NE(wrong.message().find("expected an integer"), std::string::npos);
    EXPECT_EQ(*r->get_uint_or("absent", 7), 7u);
}

TEST(GgufReader, EveryValueTypeAndNestedArrays) {
    std::string s = header(3, 0, 13);
    uint32_t type = 0;
    for (int bytes : {1, 1, 2, 2, 4, 4, 4, 1}) {  // u8 i8 u16 i16 u32 i32 f32 bool
        put_string(s, "k" + std::to_string(type));
        put_u32(s, type++);
        s.append(static_cast<size_t>(bytes), '\x01');
    }
    put_string(s, "k8"); put_u32(s, 8); put_string(s, "str");
    put_string(s, "k9"); put_u32(s, 9); put_u32(s, 9); put_u64(s, 2);  // array of 2 arrays
    for (int i = 0; i < 2; ++i) { put_u32(s, 4); put_u64(s, 1); put_u32(s, 42 + i); }
    for (uint32_t t : {10u, 11u, 12u}) {  // u64 i64 f64
        put_string(s, "k" + std::to_string(t));
        put_u32(s, t);
        s.append(8, '\0');
    }
    auto r = parse(s);
    ASSERT_TRUE(r.ok()) << r.message();
    EXPECT_EQ(r->find("k2")->u, 0x0101u);
    EXPECT_EQ(r->find("k8")->str, "str");
    const Array* outer = *r->get_array("k9");
    ASSERT_EQ(outer->arrays.size(), 2u);
    EXPECT_EQ(array_int(*outer->arrays[1].array, 0), 43);
}

TEST(GgufReader, RejectsBadMagicAndVersion) {
    expect_error("", "too small");
    expect_error("GGUX" + std::string(20, '\0'), "bad magic");
    expect_error(header(1, 0, 0), "unsupported GGUF version 1");
    expect_error(header(4, 0, 0), "unsupported GGUF version 4");
}

TEST(GgufReader, ParsesVersion2) { EXPECT_TRUE(parse(header(2, 0, 0)).ok()); }

TEST(GgufReader, RejectsEveryTruncation) {
    const std::string full = small_file();
    // Cut inside the header, the kv section and the tensor infos: always an error, never a crash.
    auto r = parse(full);
    ASSERT_TRUE(r.ok());
    for (size_t cut = 0; cut < r->data_offset(); ++cut) {
        auto t = parse(full.substr(0, cut));
        EXPECT_FALSE(t.ok()) << "cut at " << cut;
    }
    const TensorInfo* last = r->find_tensor("t1");
    ASSERT_NE(last, nullptr);
    const size_t end = r->data_offset() + last->offset + last->n_bytes;  // padding follows
    expect_error(full.substr(0, end - 1), "runs past the end");
}

TEST(GgufReader, RejectsAbsurdCounts) {
    expect_error(header(3, 0, uint64_t{1} << 62), "metadata count");
    expect_error(header(3, uint64_t{1} << 60, 0), "tensor count");
    std::string s = header(3, 0, 1);
    put_string(s, "arr");
    put_u32(s, 9);
    put_u32(s, 4);
    put_u64(s, uint64_t{1} << 61);
    expect_error(s, "runs past the end");
    s = header(3, 0, 1);
    put_u64(s, uint64_t{1} << 63);  // key length
    s.append(8, 'x');
    expect_error(s, "truncated");
}

TEST(GgufReader, RejectsUnknownValueAndTensorTypes) {
    std::string s = header(3, 0, 1);
    put_string(s, "k");
    put_u32(s, 99);
    expect_error(s, "unknown value type 99");

    s = header(3, 1, 0);
    put_string(s, "w");
    put_u32(s, 1);
    put_u64(s, 32);
    put_u32(s, 77);  // type
    put_u64(s, 0);
    s.resize(64 + 32 * 4, '\0');
    expect_error(s, "unknown tensor type 77");
}

std::string one_tensor(uint32_t n_dims, std::vector<uint64_t> ne, uint32_t type, uint64_t offset,
                       size_t data_bytes) {
    std::string s = header(3, 1, 0);
    put_string(s, "blk.0.w");
    put_u32(s, n_dims);
    for (uint64_t d : ne) put_u64(s, d);
    put_u32(s, type);
    put_u64(s, offset);
    s.resize((s.size() + 31) / 32 * 32, '\0');
    s.append(data_bytes, '\0');
    return s;
}

TEST(GgufReader, RejectsBadTensorInfos) {
    expect_error(one_tensor(0, {}, 0, 0, 0), "dimensions");
    expect_error(one_tensor(5, {1, 1, 1, 1, 1}, 0, 0, 4), "dimensions");
    expect_error(one_tensor(2, {uint64_t{1} << 41, 2}, 0, 0, 0), "absurd dimension");
    expect_error(one_tensor(2, {uint64_t{1} << 39, uint64_t{1} << 39}, 0, 0, 0), "absurd dimension");
    expect_error(one_tensor(1, {48}, 8, 0, 64), "not a multiple of the Q8_0 block size");
    expect_error(one_tensor(1, {64}, 0, 0, 100), "runs past the end");
    expect_error(one_tensor(1, {8}, 0, 16, 64), "not a multiple of the alignment");
    expect_error(one_tensor(1, {8}, 0, uint64_t{1} << 63, 64), "runs past the end");
}

TEST(GgufReader, RejectsOverlapsAndDuplicates) {
    std::string s = header(3, 2, 0);
    for (const char* name : {"a", "b"}) {
        put_string(s, name);
        put_u32(s, 1);
        put_u64(s, 16);
        put_u32(s, 0);
        put_u64(s, 32);  // both at the same offset, 64 bytes each
    }
    s.resize((s.size() + 31) / 32 * 32 + 128, '\0');
    expect_error(s, "overlaps");

    std::string d = header(3, 0, 2);
    for (int i = 0; i < 2; ++i) {
        put_string(d, "same");
        put_u32(d, 4);
        put_u32(d, 1);
    }
    expect_error(d, "duplicate metadata key 'same'");
}

TEST(GgufReader, RejectsBadAlignment) {
    Writer w;
    w.add_u32("general.alignment", 24);
    expect_error(w.bytes(), "general.alignment");
    // A legal alignment of 1 that leaves tensor data at an odd file offset.
    std::string s = header(3, 1, 1);
    put_string(s, "general.alignment");
    put_u32(s, 4);
    put_u32(s, 1);
    put_string(s, "w");
    put_u32(s, 1);
    put_u64(s, 32);
    put_u32(s, 8);  // Q8_0
    put_u64(s, 0);
    if (s.size() % 2 == 0) s += '\0';  // data starts right here, at an odd offset
    s.append(34, '\1');
    expect_error(s, "misaligned");
}

TEST(GgufReader, MissingFileIsAnError) {
    auto r = Reader::open("/nonexistent/model.gguf");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.message().find("/nonexistent/model.gguf"), std::string::npos);
}

}  // namespace
}  // namespace hearth::gguf
