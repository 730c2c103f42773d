// Attention over the typed KV cache (fused online softmax for short batches, tiles for long
// ones) against a plain double-precision softmax attention written here, on every ISA this
// host has: odd head sizes, GQA ratios 1..8, 1..17 tokens, depths that cross the 32-position
// blocks and the position splits, 1..3 threads. Two checks per case: against the reference on
// the values the cache holds (the kernels' own error: float rounding only), and against the
// reference on the unrounded K/V (the cache type's rounding, bounded per type below).
#include "model/attention.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "kernels/attention.h"
#include "kernels/dispatch.h"

namespace hearth::model {
namespace {

struct Case {
    int64_t n_head, n_head_kv, head_dim, n_tokens, pos0;
};

// out (T, H * D) in double: scores q·k / sqrt(D) over positions <= pos0 + t, softmax, V sum.
std::vector<double> reference(const std::vector<float>& q, const std::vector<float>& k,
                              const std::vector<float>& v, const Case& c) {
    const int64_t H = c.n_head, Hkv = c.n_head_kv, D = c.head_dim, group = H / Hkv;
    std::vector<double> out(c.n_tokens * H * D, 0.0);
    for (int64_t t = 0; t < c.n_tokens; ++t) {
        for (int64_t h = 0; h < H; ++h) {
            const int64_t hk = h / group, n_keys = c.pos0 + t + 1;
            std::vector<double> s(n_keys);
            double max_s = -INFINITY, sum = 0;
            for (int64_t j = 0; j < n_keys; ++j) {
                double dot = 0;
                for (int64_t d = 0; d < D; ++d)
                    dot += double(q[(t * H + h) * D + d]) * k[(j * Hkv + hk) * D + d];
                s[j] = dot / std::sqrt(double(D));
                max_s = std::max(max_s, s[j]);
            }
            for (double& x : s) sum += (x = std::exp(x - max_s));
            for (int64_t j = 0; j < n_keys; ++j)
                for (int64_t d = 0; d < D; ++d)
                    out[(t * H + h) * D + d] += s[j] / sum * v[(j * Hkv + hk) * D + d];
        }
    }
    return out;
}

double max_abs_diff(const std::vector<float>& got, const std::vector<double>& want) {
    double m = 0;
    for (size_t i = 0; i < want.size(); ++i) {
        const double e = std::fabs(got[i] - want[i]);
        if (!(e <= m)) m = e;  // NaN propagates
    }
    return m;
}

// What a K/V element of magnitude ~1 (Gaussian, |x| < ~4.5) can be off by in the cache. F16:
// half an ulp, 2^-11 relative (~2e-3 at the largest values). Q8_0: half a quantization step,
// max|x| / 254 per 32-element block (~0.018). An output is a convex mix of V rows, so its error
// stays near one element's, plus the change of the weights from the rounded scores. Largest
// errors seen with these seeds: F32 3e-6, F16 1.4e-3, Q8_0 2.6e-2.
double rounding_bound(CacheType t) {
    switch (t) {
        case CacheType::F32:
            return 2e-5;
        case CacheType::F16:
            return 4e-3;
        case CacheType::Q8_0:
            return 5e-2;
    }
    return 0;
}

void check_case(const Case& c, CacheType type, int threads, uint32_t seed) {
    const int64_t H = c.n_head, Hkv = c.n_head_kv, D = c.head_dim, T = c.n_tokens;
    const int64_t n_all = c.pos0 + T;
    std::mt19937 rng(seed);
    std::normal_distribution<float> g(0.0f, 1.0f);
    std::vector<float> q(T * H * D), k(n_all * Hkv * D), v(n_all * Hkv * D);
    for (auto* x : {&q, &k, &v})
        for (float& e : *x) e = g(rng);
    // Queries twice as large: sharper softmax, so a wrong mask or weight shows.
    for (float& e : q) e *= 2.0f;

    KvCache cache(type, n_all + 3, Hkv, D);
    cache.store(k.data(), v.data(), 0, c.pos0);  // the context, then the batch's own rows
    cache.store(k.data() + c.pos0 * Hkv * D, v.data() + c.pos0 * Hkv * D, c.pos0, T);
    // The values the cache holds, back in float.
    std::vector<float> kc(k.size()), vc(v.size());
    const auto& ref = kernels::attention_kernels(type == CacheType::F32   ? gguf::TensorType::F32
                                                 : type == CacheType::F16 ? gguf::TensorType::F16
                                                                          : gguf::TensorType::Q8_0,
                                                 kernels::Isa::Ref);
    std::vector<float> panel(D * kernels::kKPanel);
    for (int64_t j = 0; j < n_all; ++j) {
        for (int64_t hk = 0; hk < Hkv; ++hk) {
            ref.load_k(cache.k_panel(hk, j / kernels::kKPanel), panel.data(), D);
            for (int64_t d = 0; d < D; ++d)
                kc[(j * Hkv + hk) * D + d] = panel[d * kernels::kKPanel + j % kernels::kKPanel];
            ref.load(cache.v_row(hk, j), vc.data() + (j * Hkv + hk) * D, D);
        }
    }

    ThreadPool pool(threads);
    std::vector<float> out(T * H * D, NAN);
    attention(q.data(), cache, out.data(), T, c.pos0, H, pool);

    const std::string what = "H " + std::to_string(H) + " Hkv " + std::to_string(Hkv) + " D " +
                             std::to_string(D) + " T " + std::to_string(T) + " pos0 " +
                             std::to_string(c.pos0) + " cache " + cache_type_name(type) +
                             " threads " + std::to_string(threads) + " isa " +
                             kernels::isa_name(kernels::current_isa());
    EXPECT_LT(max_abs_diff(out, reference(q, kc, vc, c)), 2e-5) << what << " (cached values)";
    EXPECT_LT(max_abs_diff(out, reference(q, k, v, c)), rounding_bound(type)) << what;
}

const Case kCases[] = {
    {1, 1, 17, 1, 0},   {2, 1, 17, 3, 40}, {4, 2, 64, 1, 300},    {4, 2, 64, 4, 63},
    {8, 1, 40, 3, 700}, {8, 8, 24, 17, 5}, {16, 2, 128, 1, 1030}, {16, 8, 128, 17, 290},
    {6, 3, 34, 8, 257}, {8, 2, 96, 9, 33}, {4, 4, 130, 2, 513},   {16, 2, 64, 17, 100},
    // Prompts of several tiles (of 64 / group tokens), the last one partial.
    {3, 1, 24, 70, 10}, {8, 1, 40, 20, 5}, {4, 2, 64, 100, 37},   {2, 2, 16, 130, 0},
    // Keys in several of the tile's steps (kKeyStep), the last one partial.
    {4, 2, 64, 40, 600}, {2, 1, 40, 300, 0},
};

TEST(Attention, MatchesDoubleReferenceOnEveryIsaAndCacheType) {
    for (kernels::Isa isa : kernels::available_isas()) {
        kernels::ScopedIsa scoped(isa);
        uint32_t seed = 1;
        for (const Case& c : kCases)
            for (CacheType type : {CacheType::F32, CacheType::F16, CacheType::Q8_0})
                check_case(c, type, 1 + static_cast<int>(seed % 3), seed), ++seed;
    }
}

// Every ISA's exp_sum (the prompt path's softmax) against std::exp in double: lengths around
// the vector widths (tails included), arguments down past where the kernels clamp (-87.3, whose
// exp is within the absolute slack). The scale is a power of two, so the float argument
// x * scale - max rounds once, fused or not, and the tolerance is the exp's own error.
TEST(Attention, ExpSumMatchesStdExpOnEveryIsa) {
    std::mt19937 rng(5);
    std::uniform_real_distribution<float> u(-200.0f, 0.0f);
    for (kernels::Isa isa : kernels::available_isas()) {
        const kernels::ExpSumFn exp_sum =
            kernels::attention_kernels(gguf::TensorType::F16, isa).exp_sum;
        for (int64_t n : {1, 7, 8, 9, 15, 16, 17, 31, 33, 100}) {
            std::vector<float> x(n);
            for (float& e : x) e = u(rng);
            const float scale = 0.5f, max = -3.0f;
            std::vector<float> got = x;
            const float sum = exp_sum(got.data(), n, scale, max);
            double want_sum = 0;
            for (int64_t i = 0; i < n; ++i) {
                const double want = std::exp(static_cast<double>(x[i] * scale - max));
                want_sum += want;
                EXPECT_NEAR(got[i], want, 4e-7 * want + 1e-37)
                    << kernels::isa_name(isa) << " n " << n << " x " << x[i];
            }
            // The elements' absolute slack too: a sum of clamped exps alone (n = 1) is ~1e-38.
            EXPECT_NEAR(sum, want_sum, 1e-6 * want_sum + n * 1e-37)
                << kernels::isa_name(isa) << " n " << n;
        }
    }
}

// Every ISA's cache conversions against the scalar kernels: the same bytes stored for a V row
// and for a position of a K panel, the same floats read back. Head sizes past and between the
// vector widths and Q8_0's blocks; values from f16's subnormals to its largest.
TEST(Attention, CacheConversionsMatchScalarOnEveryIsa) {
    std::mt19937 rng(9);
    std::normal_distribution<float> g(0.0f, 1.0f);
    for (gguf::TensorType t : {gguf::TensorType::F32, gguf::TensorType::F16, gguf::TensorType::Q8_0}) {
        const kernels::AttentionKernels& ref = kernels::attention_kernels(t, kernels::Isa::Ref);
        for (kernels::Isa isa : kernels::available_isas()) {
            const kernels::AttentionKernels& k = kernels::attention_kernels(t, isa);
            for (int64_t D : {1, 7, 8, 17, 24, 40, 64, 96, 128, 130}) {
                const size_t rb = kernels::kv_row_bytes(t, D);
                std::vector<float> row(D);
                for (float& e : row) e = g(rng) * std::exp2(static_cast<float>(rng() % 40) - 25.0f);
                const std::string what = std::string(kernels::isa_name(isa)) + " type " +
                                         std::to_string(static_cast<int>(t)) + " D " +
                                         std::to_string(D);
                std::vector<uint8_t> want(rb), got(rb);
                ref.store(row.data(), want.data(), D);
                k.store(row.data(), got.data(), D);
                EXPECT_EQ(got, want) << what << " (row)";
                std::vector<float> want_f(D), got_f(D);
                ref.load(want.data(), want_f.data(), D);
                k.load(want.data(), got_f.data(), D);
                EXPECT_EQ(got_f, want_f) << what << " (row read)";

                std::vector<uint8_t> want_p(kernels::kKPanel * rb), got_p(kernels::kKPanel * rb);
                const int lane = static_cast<int>(D % kernels::kKPanel);
                ref.store_k(row.data(), want_p.data(), lane, D);
                k.store_k(row.data(), got_p.data(), lane, D);
                EXPECT_EQ(got_p, want_p) << what << " (panel lane " << lane << ")";
                std::vector<float> want_pf(D * kernels::kKPanel), got_pf(D * kernels::kKPanel);
                ref.load_k(want_p.data(), want_pf.data(), D);
                k.load_k(want_p.data(), got_pf.data(), D);
                EXPECT_EQ(got_pf, want_pf) << what << " (panel read)";
            }
        }
    }
}

// One KV head at depth: the positions must be split so that both threads work, and the
// partial softmax states merged; same answer as one thread to float rounding.
TEST(Attention, PositionSplitsMergeLikeOneThread) {
    const Case c{4, 1, 64, 1, 2000};
    for (CacheType type : {CacheType::F16, CacheType::Q8_0}) {
        std::mt19937 rng(5);
        std::normal_distribution<float> g(0.0f, 1.0f);
        std::vector<float> q(4 * 64), kv(2001 * 64);
        for (float& e : q) e = 3.0f * g(rng);
        for (float& e : kv) e = g(rng);
        KvCache cache(type, 2001, 1, 64);
        cache.store(kv.data(), kv.data(), 0, 2001);
        std::vector<float> one(4 * 64), two(4 * 64);
        ThreadPool p1(1), p2(2);
        attention(q.data(), cache, one.data(), 1, c.pos0, 4, p1);
        attention(q.data(), cache, two.data(), 1, c.pos0, 4, p2);
        for (size_t i = 0; i < one.size(); ++i) EXPECT_NEAR(one[i], two[i], 1e-5) << i;
    }
}

// Resident bytes of this process (/proc/self/statm), or -1 where that cannot be read.
int64_t resident_bytes() {
    std::FILE* f = std::fopen("/proc/self/statm", "r");
    if (f == nullptr) return -1;
    long size = 0, resident = -1;
    const int got = std::fscanf(f, "%ld %ld", &size, &resident);
    std::fclose(f);
    return got == 2 ? resident * 4096 : -1;
}

// A large cache commits memory as positions are written, not when it is made: a 512 MiB
// cache (128 Ki positions of 8 F16 heads of 128) adds far less than that to the resident set
// until rows are stored, and then about what the stored rows take.
TEST(Attention, CacheCommitsMemoryAsPositionsAreWritten) {
    const int64_t before = resident_bytes();
    if (before < 0) GTEST_SKIP() << "no /proc/self/statm";
    KvCache cache(CacheType::F16, int64_t{1} << 17, 8, 128);
    ASSERT_EQ(cache.bytes(), int64_t{512} << 20);
    EXPECT_LT(resident_bytes() - before, int64_t{64} << 20);
    // 4096 positions written: 16 MiB of rows (4096 x 8 heads x 256 bytes x K and V).
    std::vector<float> rows(4096 * 8 * 128, 0.5f);
    cache.store(rows.data(), rows.data(), 0, 4096);
    EXPECT_LT(resident_bytes() - before, int64_t{96} << 20);
    EXPECT_EQ(cache.v_row(7, 4095)[0], cache.v_row(0, 0)[0]);
    EXPECT_EQ(cache.k_panel(7, 255)[0], cache.k_panel(0, 0)[0]);
}

// Bytes of 10 positions of 2 heads: V rows for 10 positions, K panels for 16 (one panel).
TEST(Attention, CacheRowSizes) {
    EXPECT_EQ(KvCache(CacheType::F32, 10, 2, 17).bytes(), (16 + 10) * 2 * 17 * 4);
    EXPECT_EQ(KvCache(CacheType::F16, 10, 2, 17).bytes(), (16 + 10) * 2 * 17 * 2);
    // 17 elements take one padded 32-element Q8_0 block (34 bytes); 128 take four.
    EXPECT_EQ(KvCache(CacheType::Q8_0, 10, 2, 17).bytes(), (16 + 10) * 2 * 34);
    EXPECT_EQ(KvCache(CacheType::Q8_0, 10, 2, 128).bytes(), (16 + 10) * 2 * 4 * 34);
    EXPECT_EQ(KvCache(CacheType::F16, 32, 2, 128).bytes(), 2 * 32 * 2 * 128 * 2);
    EXPECT_EQ(*parse_cache_type("q8_0"), CacheType::Q8_0);
    EXPECT_FALSE(parse_cache_type("q4_0").ok());
}

}  // namespace
}  // namespace hearth::model
