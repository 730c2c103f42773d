// Matmul kernels on every ISA this host has, against the scalar ref kernels: vec_dot and the
// multi-token gemm on random weights of every type (odd row and token counts), the SIMD
// activation quantizers bit for bit, and matmul() against the exact float path.
#include "kernels/matmul.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <initializer_list>
#include <random>
#include <string>
#include <vector>

#include "base/fp16.h"
#include "base/thread_pool.h"
#include "gguf/types.h"
#include "kernels/dispatch.h"
#include "kernels/interleave.h"
#include "kernels/kernels.h"
#include "kernels/ref/blocks.h"
#include "random_weights.h"

namespace hearth::kernels {
namespace {

using gguf::TensorType;
using testing::gaussian;
using testing::make_weights;
using testing::row_bytes;

constexpr TensorType kTypes[] = {
    TensorType::F32,  TensorType::F16,  TensorType::BF16, TensorType::Q4_0,   TensorType::Q4_1,
    TensorType::Q5_0, TensorType::Q5_1, TensorType::Q8_0, TensorType::IQ4_NL, TensorType::Q2_K,
    TensorType::Q3_K, TensorType::Q4_K, TensorType::Q5_K, TensorType::Q6_K,   TensorType::IQ4_XS};

double nmse(const std::vector<float>& got, const std::vector<float>& want) {
    double num = 0, den = 0;
    for (size_t i = 0; i < want.size(); ++i) {
        num += (double(got[i]) - want[i]) * (double(got[i]) - want[i]);
        den += double(want[i]) * want[i];
    }
    return den > 0 ? num / den : num;
}

std::vector<Isa> fast_isas() {
    std::vector<Isa> v;
    for (Isa i : available_isas())
        if (i != Isa::Exact) v.push_back(i);
    return v;
}

TEST(MatmulKernels, EveryTypeHasRefKernels) {
    for (TensorType t : kTypes) {
        const MatmulKernels* k = matmul_kernels(t, Isa::Ref);
        ASSERT_NE(k, nullptr) << gguf::type_name(t);
        EXPECT_TRUE(k->vec_dot_type == t || can_quantize(k->vec_dot_type) ||
                    k->vec_dot_type == TensorType::F32);
    }
}

// kN = 512 by default; long rows (33024 = 129 super-blocks, 1032 Q8_0 blocks) take the kernels
// paths for rows too long for their per-call scale caches.
void vec_dot_and_gemm_match_ref(int64_t kN, std::initializer_list<int> nys) {
    constexpr int64_t kRows = 7;
    for (Isa isa : fast_isas()) {
        for (TensorType t : kTypes) {
            SCOPED_TRACE(std::string(isa_name(isa)) + " " + std::string(gguf::type_name(t)));
            std::mt19937 rng(1234 + static_cast<int>(t));
            const MatmulKernels* k = matmul_kernels(t, isa);
            const MatmulKernels* r = matmul_kernels(t, Isa::Ref);
            ASSERT_NE(k, nullptr);
            ASSERT_EQ(k->vec_dot_type, r->vec_dot_type);
            const std::vector<uint8_t> w = make_weights(t, kRows, kN, rng);
            const size_t bw = row_bytes(t, kN), ba = row_bytes(r->vec_dot_type, kN);
            for (int ny : nys) {
                const std::vector<float> x = gaussian(static_cast<size_t>(ny * kN), rng);
                std::vector<uint8_t> a(ba * ny), a_simd(ba * ny);
                for (int i = 0; i < ny; ++i) {
                    const float* xi = x.data() + i * kN;
                    if (r->quantize == nullptr) {
                        std::memcpy(a.data() + i * ba, xi, ba);
                        std::memcpy(a_simd.data() + i * ba, xi, ba);
                    } else {
                        r->quantize(xi, a.data() + i * ba, kN);
                        k->quantize(xi, a_simd.data() + i * ba, kN);
                    }
                }
                EXPECT_EQ(a, a_simd) << "activation quantizer differs from ref";
                std::vector<float> want(ny * kRows), dots(ny * kRows), tiles(ny * kRows);
                for (int i = 0; i < ny; ++i) {
                    for (int64_t j = 0; j < kRows; ++j) {
                        want[i * kRows + j] = r->vec_dot(kN, w.data() + j * bw, a.data() + i * ba);
                        dots[i * kRows + j] = k->vec_dot(kN, w.data() + j * bw, a.data() + i * ba);
                    }
                }
                EXPECT_LT(nmse(dots, want), 1e-10) << "vec_dot, ny=" << ny;
                // Token groups of the table's gemm_tokens and of kMaxGemmTokens (what matmul()
                // passes to SIMD kernels; their wide paths take 5..8 tokens).
                for (int group : {k->gemm_tokens, kMaxGemmTokens}) {
                    std::fill(tiles.begin(), tiles.end(), 0.0f);
                    for (int t0 = 0; t0 < ny; t0 += group) {
                        const int nt = std::min(group, ny - t0);
                        k->gemm(kN, w.data(), bw, kRows, a.data() + t0 * ba, ba, nt,
                                tiles.data() + t0 * kRows, kRows);
                    }
                    EXPECT_LT(nmse(tiles, want), 1e-10) << "gemm, ny=" << ny << " group=" << group;
                }
            }
        }
    }
}

TEST(MatmulKernels, VecDotAndGemmMatchRef) { vec_dot_and_gemm_match_ref(512, {1, 2, 3, 5, 8, 17}); }

TEST(MatmulKernels, VecDotAndGemmMatchRefLongRows) { vec_dot_and_gemm_match_ref(33024, {6, 8}); }

// Packed paths that take float activations (F16 and BF16 with AVX-512) get ref's roundings to
// the format, widened back, bit for bit.
TEST(MatmulKernels, FloatPackedActivationsAreRefRoundings) {
    const std::vector<float> x = testing::rounding_cases();
    const int64_t n = static_cast<int64_t>(x.size());
    int checked = 0;
    for (Isa isa : fast_isas()) {
        for (TensorType t : {TensorType::F16, TensorType::BF16}) {
            const MatmulKernels* k = matmul_kernels(t, isa);
            if (k == nullptr || k->packed_quantize == nullptr || k->packed_act_bytes == nullptr)
                continue;
            SCOPED_TRACE(std::string(isa_name(isa)) + " " + std::string(gguf::type_name(t)));
            ASSERT_GE(k->packed_act_bytes(n), n * sizeof(float));
            std::vector<float> got(n);
            k->packed_quantize(x.data(), got.data(), n);
            const int64_t bad = testing::first_unlike_widened_rounding(t, x, got.data());
            EXPECT_EQ(bad, -1) << "x " << x[std::max<int64_t>(bad, 0)];
            ++checked;
        }
    }
    if (checked == 0) GTEST_SKIP() << "no ISA here has a float-activation packed path";
}

// matmul() on quantized activations stays within the activation rounding of the exact path.
TEST(MatmulKernels, MatmulMatchesExactPath) {
    constexpr int64_t kN = 768, kOut = 37;
    ThreadPool pool(2);
    for (Isa isa : fast_isas()) {
        for (TensorType t : kTypes) {
            SCOPED_TRACE(std::string(isa_name(isa)) + " " + std::string(gguf::type_name(t)));
            std::mt19937 rng(99 + static_cast<int>(t));
            const std::vector<uint8_t> w = make_weights(t, kOut, kN, rng);
            const WeightView view{.type = t,
                                  .data = w.data(),
                                  .n_in = kN,
                                  .n_out = kOut,
                                  .row_bytes = row_bytes(t, kN)};
            const TensorType act = matmul_kernels(t, isa)->vec_dot_type;
            const double tol = act == TensorType::F32    ? 1e-10
                               : act == TensorType::F16  ? 1e-5
                               : act == TensorType::BF16 ? 1e-4
                                                         : 5e-4;
            for (int64_t n_tokens : {1, 5, 17, 29}) {  // 29: past every packing threshold
                const std::vector<float> x = gaussian(static_cast<size_t>(n_tokens * kN), rng);
                std::vector<float> exact(n_tokens * kOut), fast(n_tokens * kOut);
                matmul(view, x.data(), exact.data(), n_tokens, pool, Isa::Exact);
                matmul(view, x.data(), fast.data(), n_tokens, pool, isa);
                EXPECT_LT(nmse(fast, exact), tol) << "n_tokens=" << n_tokens;
            }
        }
    }
}

// A group of products of one x, of different weight types and row counts, gives each product
// bit for bit what it gives alone, on every ISA and thread count (rows split across products).
TEST(MatmulKernels, MatmulGroupEqualsSeparateProducts) {
    constexpr int64_t kN = 512;
    struct Spec {
        TensorType type;
        int64_t n_out;
    };
    const Spec specs[] = {{TensorType::Q4_K, 37}, {TensorType::Q6_K, 5}, {TensorType::Q8_0, 70},
                          {TensorType::F16, 3}};
    std::mt19937 rng(7);
    std::vector<std::vector<uint8_t>> weights;
    std::vector<WeightView> views;
    for (const Spec& sp : specs) {
        weights.push_back(make_weights(sp.type, sp.n_out, kN, rng));
        views.push_back({.type = sp.type,
                         .data = weights.back().data(),
                         .n_in = kN,
                         .n_out = sp.n_out,
                         .row_bytes = row_bytes(sp.type, kN)});
    }
    for (int n_threads : {1, 2, 3}) {
        ThreadPool pool(n_threads);
        for (Isa isa : available_isas()) {
            for (int64_t n_tokens : {1, 3, 17}) {
                SCOPED_TRACE(std::string(isa_name(isa)) + " threads=" + std::to_string(n_threads) +
                             " n_tokens=" + std::to_string(n_tokens));
                const std::vector<float> x = gaussian(static_cast<size_t>(n_tokens * kN), rng);
                std::vector<std::vector<float>> alone, grouped;
                std::vector<MatmulOut> outs;
                for (const WeightView& v : views) {
                    alone.emplace_back(n_tokens * v.n_out);
                    grouped.emplace_back(n_tokens * v.n_out, std::nanf(""));
                    matmul(v, x.data(), alone.back().data(), n_tokens, pool, isa);
                }
                for (size_t i = 0; i < views.size(); ++i)
                    outs.push_back({views[i], grouped[i].data()});
                matmul_group(outs, x.data(), n_tokens, pool, isa);
                for (size_t i = 0; i < views.size(); ++i)
                    for (size_t j = 0; j < alone[i].size(); ++j)
                        ASSERT_EQ(grouped[i][j], alone[i][j]) << "product " << i << " at " << j;
            }
        }
    }
}

// matmul_tasks: products with their own inputs, token counts and row lengths in one pass must
// give each product what it gives alone, whether inputs are shared (one quantized copy for
// two products) or not, and in batches mixing one-token products with larger ones.
TEST(MatmulKernels, MatmulTasksEqualSeparateProducts) {
    struct Spec {
        TensorType type;
        int64_t n_in, n_out;
        int input;  // which input: products of one input share it
        int64_t n_tokens;
    };
    const std::vector<std::vector<Spec>> batches = {
        {{TensorType::Q4_K, 512, 37, 0, 5}, {TensorType::Q6_K, 512, 5, 0, 5},
         {TensorType::Q8_0, 256, 70, 1, 17}, {TensorType::F16, 512, 3, 0, 5},
         {TensorType::Q4_K, 512, 300, 2, 1}, {TensorType::Q4_K, 512, 33, 3, 16}},
        // A decode step over several inputs (a MoE layer's chosen experts).
        {{TensorType::Q4_K, 512, 40, 0, 1}, {TensorType::Q4_K, 512, 40, 0, 1},
         {TensorType::Q6_K, 256, 21, 1, 1}, {TensorType::Q8_0, 256, 9, 2, 1}},
    };
    std::mt19937 rng(11);
    for (const auto& specs : batches) {
        std::vector<std::vector<uint8_t>> weights;
        std::vector<std::vector<float>> inputs(4);
        std::vector<WeightView> views;
        for (const Spec& sp : specs) {
            weights.push_back(make_weights(sp.type, sp.n_out, sp.n_in, rng));
            views.push_back({.type = sp.type,
                             .data = weights.back().data(),
                             .n_in = sp.n_in,
                             .n_out = sp.n_out,
                             .row_bytes = row_bytes(sp.type, sp.n_in)});
            auto& x = inputs[sp.input];
            if (x.empty()) x = gaussian(static_cast<size_t>(sp.n_tokens * sp.n_in), rng);
        }
        for (int n_threads : {1, 2, 3}) {
            ThreadPool pool(n_threads);
            for (Isa isa : available_isas()) {
                SCOPED_TRACE(std::string(isa_name(isa)) + " threads=" + std::to_string(n_threads));
                std::vector<std::vector<float>> alone, together;
                std::vector<MatmulTask> tasks;
                std::vector<const MatmulKernels*> kernels;
                for (size_t i = 0; i < specs.size(); ++i) {
                    const Spec& sp = specs[i];
                    alone.emplace_back(sp.n_tokens * sp.n_out);
                    together.emplace_back(sp.n_tokens * sp.n_out, std::nanf(""));
                    matmul(views[i], inputs[sp.input].data(), alone.back().data(), sp.n_tokens, pool, isa);
                }
                for (size_t i = 0; i < specs.size(); ++i) {
                    tasks.push_back({.w = views[i], .x = inputs[specs[i].input].data(),
                                     .n_tokens = specs[i].n_tokens, .y = together[i].data()});
                    kernels.push_back(matmul_kernels(views[i].type, isa));
                }
                matmul_tasks_with(tasks, kernels.data(), pool);
                for (size_t i = 0; i < specs.size(); ++i)
                    for (size_t j = 0; j < alone[i].size(); ++j)
                        ASSERT_EQ(together[i][j], alone[i][j]) << "product " << i << " at " << j;
            }
        }
    }
}

// The interleaved layout gives every row back byte for byte, and is only offered for whole
// groups of Q4_K, Q5_K, Q6_K or Q8_0 rows.
TEST(Interleave, EveryRowComesBackUnchanged) {
    constexpr int64_t kN = 768, kRows = 48;
    for (TensorType t : {TensorType::Q4_K, TensorType::Q5_K, TensorType::Q6_K, TensorType::Q8_0}) {
        SCOPED_TRACE(gguf::type_name(t));
        std::mt19937 rng(5);
        const std::vector<uint8_t> w = make_weights(t, kRows, kN, rng);
        const size_t bw = row_bytes(t, kN);
        std::vector<uint8_t> il(w.size());
        interleave(t, kN, kRows, w.data(), il.data());
        EXPECT_NE(il, w);
        std::vector<uint8_t> row(bw);
        for (int64_t r = 0; r < kRows; ++r) {
            deinterleave_row(t, kN, il.data(), r, row.data());
            ASSERT_EQ(0, std::memcmp(row.data(), w.data() + r * bw, bw)) << "row " << r;
        }
        EXPECT_TRUE(can_interleave(t, kN, kRows));
        EXPECT_FALSE(can_interleave(t, kN, kRows + 8));
        EXPECT_FALSE(can_interleave(t, 16, kRows));
    }
    EXPECT_FALSE(can_interleave(TensorType::Q3_K, kN, kRows));
}

// Interleaved weights through matmul (decode rows split over 1..3 threads, token groups, the
// packed batch path from 9 tokens on) against the ref kernels on the plain rows; grouped with
// plain products of odd row counts, so that row bands cross into the interleaved matrix at
// rows that are not group boundaries, and with the plain matrix itself, whose activations are
// quantized differently. The exact path reads it through get_row.
TEST(MatmulKernels, InterleavedMatchesRef) {
    constexpr int64_t kN = 512, kOut = 80;
    for (Isa isa : available_isas()) {
        for (TensorType type :
             {TensorType::Q4_K, TensorType::Q5_K, TensorType::Q6_K, TensorType::Q8_0}) {
            if (interleaved_kernels(type, isa) == nullptr) continue;
            std::mt19937 rng(11);
            const std::vector<uint8_t> w = make_weights(type, kOut, kN, rng);
            std::vector<uint8_t> il(w.size());
            interleave(type, kN, kOut, w.data(), il.data());
            const WeightView plain{.type = type,
                                   .data = w.data(),
                                   .n_in = kN,
                                   .n_out = kOut,
                                   .row_bytes = row_bytes(type, kN)};
            WeightView inter = plain;
            inter.data = il.data();
            inter.interleaved = true;
            const std::vector<uint8_t> other = make_weights(TensorType::Q6_K, 37, kN, rng);
            const WeightView odd{.type = TensorType::Q6_K,
                                 .data = other.data(),
                                 .n_in = kN,
                                 .n_out = 37,
                                 .row_bytes = row_bytes(TensorType::Q6_K, kN)};
            for (int n_threads : {1, 2, 3}) {
                ThreadPool pool(n_threads);
                for (int64_t n_tokens : {1, 2, 5, 8, 9, 17, 40}) {
                    SCOPED_TRACE(std::string(isa_name(isa)) + " " +
                                 std::string(gguf::type_name(type)) + " threads=" +
                                 std::to_string(n_threads) + " n_tokens=" + std::to_string(n_tokens));
                    const std::vector<float> x = gaussian(static_cast<size_t>(n_tokens * kN), rng);
                    std::vector<float> want(n_tokens * kOut), got(n_tokens * kOut, std::nanf(""));
                    std::vector<float> odd_want(n_tokens * 37), odd_got(n_tokens * 37);
                    std::vector<float> plain_want(n_tokens * kOut), plain_got(n_tokens * kOut);
                    matmul(plain, x.data(), want.data(), n_tokens, pool, Isa::Ref);
                    matmul(odd, x.data(), odd_want.data(), n_tokens, pool, isa);
                    matmul(plain, x.data(), plain_want.data(), n_tokens, pool, isa);
                    const MatmulOut outs[] = {{odd, odd_got.data()},
                                              {inter, got.data()},
                                              {plain, plain_got.data()},
                                              {odd, odd_got.data()}};
                    matmul_group({outs, 3}, x.data(), n_tokens, pool, isa);
                    EXPECT_LT(nmse(got, want), 1e-10);
                    EXPECT_EQ(odd_got, odd_want);
                    EXPECT_EQ(plain_got, plain_want);
                    std::fill(got.begin(), got.end(), std::nanf(""));
                    matmul_group({outs + 1, 3}, x.data(), n_tokens, pool, isa);
                    EXPECT_LT(nmse(got, want), 1e-10);
                    std::vector<float> exact_plain(n_tokens * kOut), exact_inter(n_tokens * kOut);
                    matmul(plain, x.data(), exact_plain.data(), n_tokens, pool, Isa::Exact);
                    matmul(inter, x.data(), exact_inter.data(), n_tokens, pool, Isa::Exact);
                    EXPECT_EQ(exact_inter, exact_plain);
                }
            }
        }
    }
}

TEST(MatmulKernels, StartupSelfCheckFoundNoBadKernel) { EXPECT_EQ(self_check_failures(), 0); }

TEST(MatmulKernels, ScopedIsaForcesThePath) {
    const Isa before = current_isa();
    {
        ScopedIsa exact(Isa::Exact);
        EXPECT_EQ(current_isa(), Isa::Exact);
        {
            ScopedIsa ref(Isa::Ref);
            EXPECT_EQ(current_isa(), Isa::Ref);
        }
        EXPECT_EQ(current_isa(), Isa::Exact);
    }
    EXPECT_EQ(current_isa(), before);
}

}  // namespace
}  // namespace hearth::kernels
