// The sampler chain. Probabilities for top-p/min-p are taken before temperature, as in
// llama.cpp's default chain, so the truncation does not move when only temperature changes.
#include "runtime/sampler.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

namespace hearth::runtime {

int32_t argmax(std::span<const float> logits) {
    int32_t best = 0;
    for (size_t i = 1; i < logits.size(); ++i) {
        if (logits[i] > logits[best]) best = static_cast<int32_t>(i);
    }
    return best;
}

Sampler::Sampler(const SamplerParams& params) : params_(params), rng_(params.seed) {}

void Sampler::accept(int32_t token) {
    if (params_.penalty_last_n <= 0) return;
    recent_.push_back(token);
    while (static_cast<int>(recent_.size()) > params_.penalty_last_n) recent_.pop_front();
}

double Sampler::uniform() { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }

void Sampler::apply_penalties(std::vector<Candidate>& c) const {
    const bool any = params_.repeat_penalty != 1.0f || params_.presence_penalty != 0.0f ||
                     params_.frequency_penalty != 0.0f;
    if (!any || recent_.empty()) return;
    std::unordered_map<int32_t, int> counts;
    for (int32_t t : recent_) ++counts[t];
    for (auto [id, n] : counts) {
        if (id < 0 || id >= static_cast<int32_t>(c.size())) continue;
        float& l = c[id].logit;
        l = l > 0 ? l / params_.repeat_penalty : l * params_.repeat_penalty;
        l -= static_cast<float>(n) * params_.frequency_penalty + params_.presence_penalty;
    }
}

int32_t Sampler::sample(std::span<const float> logits) {
    auto& c = candidates_;
    c.resize(logits.size());
    for (size_t i = 0; i < logits.size(); ++i) c[i] = {static_cast<int32_t>(i), logits[i], 0.0f};
    apply_penalties(c);
    if (params_.temperature <= 0.0f) {
        size_t best = 0;
        for (size_t i = 1; i < c.size(); ++i) {
            if (c[i].logit > c[best].logit) best = i;
        }
        return c[best].id;
    }
    auto by_logit = [](const Candidate& a, const Candidate& b) {
        return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
    };
    size_t n = c.size();
    if (params_.top_k > 0 && static_cast<size_t>(params_.top_k) < n) {
        n = static_cast<size_t>(params_.top_k);
        std::partial_sort(c.begin(), c.begin() + n, c.end(), by_logit);
    } else {
        std::sort(c.begin(), c.end(), by_logit);
    }
    c.resize(n);
    // Softmax over the survivors, then nucleus and min-p cuts (c is sorted, best first).
    double sum = 0;
    for (auto& x : c) sum += (x.p = std::exp(x.logit - c[0].logit));
    for (auto& x : c) x.p = static_cast<float>(x.p / sum);
    if (params_.top_p < 1.0f) {
        double cum = 0;
        size_t keep = 0;
        while (keep < c.size() && (keep == 0 || cum < params_.top_p)) cum += c[keep++].p;
        c.resize(keep);
    }
    if (params_.min_p > 0.0f) {
        const float floor = c[0].p * params_.min_p;
        size_t keep = 1;
        while (keep < c.size() && c[keep].p >= floor) ++keep;
        c.resize(keep);
    }
    // Temperature on the survivors, then one draw.
    sum = 0;
    for (auto& x : c) sum += (x.p = std::exp((x.logit - c[0].logit) / params_.temperature));
    double r = uniform() * sum;
    for (const auto& x : c) {
        r -= x.p;
        if (r <= 0) return x.id;
    }
    return c.back().id;
}

}  // namespace hearth::runtime
