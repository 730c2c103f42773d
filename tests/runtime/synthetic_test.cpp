// Synthetic models: the build reports each layer, the bytes do not depend on whether anyone
// listens, the streamed file has the announced size and stops at a write error, and the file
// records llama-quantize's file type for its scheme.
#include <gtest/gtest.h>

#include <span>
#include <string>
#include <utility>
#include <vector>

#include "gguf/reader.h"
#include "runtime/engine.h"
#include "runtime/synthetic.h"
#include "tiny_model.h"

namespace hearth::runtime {
namespace {

TEST(Synthetic, ReportsEachLayerAndBuildsTheSameBytes) {
    SyntheticSpec spec = tiny_spec("qwen35", 3);
    std::vector<std::pair<int64_t, int64_t>> calls;
    auto heard = synthetic_model_gguf(spec, 7, 2, [&](int64_t done, int64_t total) {
        calls.emplace_back(done, total);
    });
    ASSERT_TRUE(heard.ok()) << heard.message();
    const std::vector<std::pair<int64_t, int64_t>> want = {{1, 3}, {2, 3}, {3, 3}};
    EXPECT_EQ(calls, want);
    auto quiet = synthetic_model_gguf(spec, 7, 1);
    ASSERT_TRUE(quiet.ok());
    EXPECT_TRUE(*heard == *quiet);
}

TEST(Synthetic, StreamsTheFileItsSizeAnnounces) {
    SyntheticSpec spec = tiny_spec("qwen35moe", 2);
    auto size = synthetic_model_size(spec);
    ASSERT_TRUE(size.ok()) << size.message();
    std::string streamed;
    size_t pieces = 0;
    Status st = write_synthetic_model(spec, 7, 2, [&](std::span<const uint8_t> b) {
        streamed.append(reinterpret_cast<const char*>(b.data()), b.size());
        ++pieces;
        return Status();
    });
    ASSERT_TRUE(st.ok()) << st.message();
    EXPECT_EQ(streamed.size(), *size);
    EXPECT_GT(pieces, 2u);  // the head, then the tensors one by one
    auto e = load_engine_from_bytes(std::move(streamed), "tiny", 1);  // every tensor in bounds
    ASSERT_TRUE(e.ok()) << e.message();
}

TEST(Synthetic, StopsAtTheFirstWriteError) {
    SyntheticSpec spec = tiny_spec("qwen3", 3);
    int calls = 0;
    Status st = write_synthetic_model(spec, 7, 1, [&](std::span<const uint8_t>) {
        return ++calls == 4 ? error("disk full") : Status();
    });
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.message(), "disk full");
    EXPECT_EQ(calls, 4);
}

TEST(Synthetic, RecordsTheFileTypeOfItsScheme) {
    // llama.cpp's enum: MOSTLY_Q8_0 = 7, MOSTLY_Q4_K_M = 15; a pure Q4_K file has none.
    for (const auto& [quant, file_type] :
         std::vector<std::pair<const char*, int64_t>>{{"q8_0", 7}, {"q4_k_m", 15}, {"q4_k", -1}}) {
        SyntheticSpec spec = tiny_spec("qwen3", 1);
        spec.n_embd = 256, spec.n_head = 8, spec.head_dim = 32, spec.n_ff = 256;  // K-quant rows
        spec.quant = quant;
        auto bytes = synthetic_model_gguf(spec, 1);
        ASSERT_TRUE(bytes.ok()) << bytes.message();
        auto e = load_engine_from_bytes(std::move(*bytes), "tiny", 1);
        ASSERT_TRUE(e.ok()) << e.message();
        const auto ft = e->reader->get_uint("general.file_type");
        if (file_type < 0) {
            EXPECT_FALSE(ft.ok()) << quant;
        } else {
            ASSERT_TRUE(ft.ok()) << quant;
            EXPECT_EQ(static_cast<int64_t>(*ft), file_type) << quant;
        }
    }
}

}  // namespace
}  // namespace hearth::runtime
