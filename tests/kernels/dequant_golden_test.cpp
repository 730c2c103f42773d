// Dequantization against the reference engine: every tensor sampled in the golden
// qwen3-<TYPE>.dequant.{json,bin} files (first/last rows and whole-tensor statistics).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "gguf/reader.h"
#include "kernels/kernels.h"

namespace hearth::kernels {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const fs::path kLocalDir = fs::path(HEARTH_TEST_DATA) / "golden" / "qwen3";
const fs::path kSharedDir = fs::path(HEARTH_SHARED_DIR) / "golden" / "qwen3";

std::vector<fs::path> dequant_cases(const fs::path& dir) {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(dir)) {
        const std::string name = e.path().filename().string();
        if (name.ends_with(".dequant.json")) out.push_back(e.path());
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<float> read_floats(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::vector<float> v(fs::file_size(path) / sizeof(float));
    in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(v.size() * 4));
    return v;
}

// Row values must agree to float rounding: the kernels repeat the reference's float math.
void expect_row_matches(const float* got, const float* want, int64_t n, int64_t row) {
    int64_t bad = 0, first_bad = -1;
    for (int64_t i = 0; i < n; ++i) {
        const double tol = 1e-6 * std::max(1.0, std::fabs(static_cast<double>(want[i])));
        if (got[i] != want[i] && !(std::fabs(got[i] - want[i]) <= tol)) {
            if (bad++ == 0) first_bad = i;
        }
    }
    EXPECT_EQ(bad, 0) << "row " << row << ": " << bad << " of " << n << " values differ; first at "
                      << first_bad << ": got " << (bad ? got[first_bad] : 0.0f) << ", want "
                      << (bad ? want[first_bad] : 0.0f);
}

// Dequantizes the whole tensor row by row and compares float64 sum, sum of squares, max |x|.
void expect_stats_match(const gguf::TensorInfo& t, const json& entry) {
    std::vector<float> row(static_cast<size_t>(t.ne[0]));
    double sum = 0, sum_abs = 0, sum_sq = 0, max_abs = 0;
    for (int64_t r = 0; r < t.n_rows(); ++r) {
        dequantize_row(t.type, t.data + r * t.row_bytes(), row.data(), t.ne[0]);
        for (float v : row) {
            sum += v, sum_abs += std::fabs(v), sum_sq += double(v) * v;
            max_abs = std::max(max_abs, double(std::fabs(v)));
        }
    }
    // The sum may cancel to near zero, so its tolerance scales with the sum of magnitudes.
    EXPECT_NEAR(sum, entry["sum"].get<double>(), 1e-6 * std::max(1.0, sum_abs));
    EXPECT_NEAR(sum_sq, entry["sum_sq"].get<double>(), 1e-6 * std::max(1.0, sum_sq));
    EXPECT_NEAR(max_abs, entry["max_abs"].get<double>(), 1e-6 * std::max(1.0, max_abs));
}

void check_tensor(const gguf::Reader& reader, const json& entry, const std::vector<float>& values) {
    const std::string name = entry["name"];
    SCOPED_TRACE(name + " (" + entry["type"].get<std::string>() + ")");
    const gguf::TensorInfo* t = reader.find_tensor(name);
    ASSERT_NE(t, nullptr) << "tensor missing from the model file";
    ASSERT_EQ(gguf::type_name(t->type), entry["type"].get<std::string>());
    const auto& ne = entry["ne"];
    for (size_t d = 0; d < ne.size(); ++d) ASSERT_EQ(t->ne[d], ne[d].get<int64_t>()) << "dim " << d;
    ASSERT_TRUE(can_dequantize(t->type));

    const int64_t row_len = entry["row_len"];
    ASSERT_EQ(row_len, t->ne[0]);
    const int64_t offset = entry["offset_floats"];
    std::vector<float> got(static_cast<size_t>(row_len));
    for (size_t k = 0; k < entry["rows"].size(); ++k) {
        const int64_t r = entry["rows"][k];
        ASSERT_LE(static_cast<size_t>(offset + (k + 1) * row_len), values.size());
        dequantize_row(t->type, t->data + r * t->row_bytes(), got.data(), row_len);
        expect_row_matches(got.data(), values.data() + offset + k * row_len, row_len, r);
    }
    expect_stats_match(*t, entry);
}

// Checks one dequant.json; the model file is looked up beside it, then in fallback_dir.
void check_case(const fs::path& json_path, const fs::path& fallback_dir) {
    SCOPED_TRACE(json_path.string());
    std::ifstream in(json_path);
    const json doc = json::parse(in);
    ASSERT_EQ(doc["format"], "golden-dequant-v1");
    fs::path model = json_path.parent_path() / doc["model_file"].get<std::string>();
    if (!fs::exists(model) && !fallback_dir.empty()) {
        model = fallback_dir / doc["model_file"].get<std::string>();
    }
    ASSERT_TRUE(fs::exists(model)) << "model file missing: " << model;
    auto reader = gguf::Reader::open(model.string());
    ASSERT_TRUE(reader.ok()) << reader.message();
    const auto values =
        read_floats(json_path.parent_path() / doc["values_file"].get<std::string>());
    for (const json& entry : doc["tensors"]) check_tensor(*reader, entry, values);
}

TEST(DequantGolden, LocalCopies) {
    ASSERT_TRUE(fs::is_directory(kLocalDir)) << kLocalDir;
    const auto cases = dequant_cases(kLocalDir);
    ASSERT_FALSE(cases.empty()) << "no *.dequant.json in " << kLocalDir;
    // Until the .gguf files are copied next to them, the shared originals stand in.
    for (const auto& c : cases)
        check_case(c, fs::is_directory(kSharedDir) ? kSharedDir : fs::path());
}

TEST(DequantGolden, SharedCopies) {
    if (!fs::is_directory(kSharedDir)) GTEST_SKIP() << "no shared golden dir at " << kSharedDir;
    const auto cases = dequant_cases(kSharedDir);
    ASSERT_FALSE(cases.empty()) << "no *.dequant.json in " << kSharedDir;
    for (const auto& c : cases) check_case(c, fs::path());
}

}  // namespace
}  // namespace hearth::kernels
