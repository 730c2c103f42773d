// Token sampling: repetition/presence/frequency penalties, then greedy (temperature 0) or
// top-k → top-p → min-p → temperature → a seeded draw. Same seed, same logits: same token.
#pragma once

#include <cstdint>
#include <deque>
#include <random>
#include <span>
#include <vector>

namespace hearth::runtime {

struct SamplerParams {
    float temperature = 0.8f;  // <= 0: greedy
    int top_k = 40;            // <= 0: off
    float top_p = 0.95f;       // >= 1: off
    float min_p = 0.05f;       // <= 0: off
    float repeat_penalty = 1.0f;  // 1: off; divides positive logits, multiplies negative ones
    float presence_penalty = 0.0f;
    float frequency_penalty = 0.0f;
    int penalty_last_n = 64;   // how many recent tokens the penalties look at
    uint64_t seed = 0;
};

class Sampler {
   public:
    explicit Sampler(const SamplerParams& params);

    // Picks the next token from one row of logits (not modified).
    int32_t sample(std::span<const float> logits);
    // Records a token of the context (prompt or generated) for the penalties.
    void accept(int32_t token);

   private:
    struct Candidate {
        int32_t id;
        float logit;
        float p;
    };
    void apply_penalties(std::vector<Candidate>& c) const;
    double uniform();

    SamplerParams params_;
    std::mt19937_64 rng_;
    std::deque<int32_t> recent_;
    std::vector<Candidate> candidates_;
};

// Index of the largest value; ties go to the lowest index (as the reference engine does).
int32_t argmax(std::span<const float> logits);

}  // namespace hearth::runtime
