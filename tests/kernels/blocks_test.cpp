// The block structs against the GGUF type table, and which types the kernel table supports.
#include "kernels/ref/blocks.h"

#include <gtest/gtest.h>

#include "gguf/types.h"
#include "kernels/kernels.h"

namespace hearth::kernels {
namespace {

using gguf::TensorType;

template <typename Block>
void expect_block_matches(TensorType t, int64_t block_size) {
    SCOPED_TRACE(std::string(gguf::type_name(t)));
    EXPECT_EQ(static_cast<int64_t>(sizeof(Block)), gguf::traits(t).block_bytes);
    EXPECT_EQ(block_size, gguf::traits(t).block_size);
}

TEST(KernelBlocks, SizesMatchTypeTable) {
    expect_block_matches<BlockQ4_0>(TensorType::Q4_0, kQK);
    expect_block_matches<BlockQ4_1>(TensorType::Q4_1, kQK);
    expect_block_matches<BlockQ5_0>(TensorType::Q5_0, kQK);
    expect_block_matches<BlockQ5_1>(TensorType::Q5_1, kQK);
    expect_block_matches<BlockQ8_0>(TensorType::Q8_0, kQK);
    expect_block_matches<BlockQ8_1>(TensorType::Q8_1, kQK);
    expect_block_matches<BlockQ2_K>(TensorType::Q2_K, kQK_K);
    expect_block_matches<BlockQ3_K>(TensorType::Q3_K, kQK_K);
    expect_block_matches<BlockQ4_K>(TensorType::Q4_K, kQK_K);
    expect_block_matches<BlockQ5_K>(TensorType::Q5_K, kQK_K);
    expect_block_matches<BlockQ6_K>(TensorType::Q6_K, kQK_K);
    expect_block_matches<BlockQ8_K>(TensorType::Q8_K, kQK_K);
    expect_block_matches<BlockIQ4_NL>(TensorType::IQ4_NL, kQK);
    expect_block_matches<BlockIQ4_XS>(TensorType::IQ4_XS, kQK_K);
}

TEST(KernelTable, SupportedTypes) {
    for (TensorType t :
         {TensorType::F32, TensorType::F16, TensorType::BF16, TensorType::Q4_0, TensorType::Q4_1,
          TensorType::Q5_0, TensorType::Q5_1, TensorType::Q8_0, TensorType::Q8_1, TensorType::Q2_K,
          TensorType::Q3_K, TensorType::Q4_K, TensorType::Q5_K, TensorType::Q6_K, TensorType::Q8_K,
          TensorType::IQ4_NL, TensorType::IQ4_XS}) {
        EXPECT_TRUE(can_dequantize(t)) << gguf::type_name(t);
    }
    for (TensorType t : {TensorType::F32, TensorType::F16, TensorType::BF16, TensorType::Q4_0,
                         TensorType::Q8_0, TensorType::Q8_1, TensorType::Q4_K, TensorType::Q5_K,
                         TensorType::Q6_K, TensorType::Q8_K}) {
        EXPECT_TRUE(can_quantize(t)) << gguf::type_name(t);
    }
    EXPECT_FALSE(can_quantize(TensorType::Q3_K));
    EXPECT_FALSE(can_quantize(TensorType::IQ4_XS));
}

TEST(KernelTable, UnknownTypesAreUnsupported) {
    // Ids the GGUF format knows but we do not (4, 5 were removed; 16 is IQ2_XXS), and junk.
    for (uint32_t id : {4u, 5u, 16u, 29u, 31u, 1000u, 0xFFFFFFFFu}) {
        EXPECT_FALSE(can_dequantize(static_cast<TensorType>(id))) << id;
        EXPECT_FALSE(can_quantize(static_cast<TensorType>(id))) << id;
    }
}

TEST(KernelTableDeathTest, UnsupportedCallAborts) {
    float f[256] = {};
    uint8_t buf[512] = {};
    EXPECT_DEATH(dequantize_row(static_cast<TensorType>(16), buf, f, 256), "check failed");
    EXPECT_DEATH(quantize_row(TensorType::Q3_K, f, buf, 256), "check failed");
}

}  // namespace
}  // namespace hearth::kernels
