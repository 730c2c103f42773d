// Slots, prefix reuse and the worker loop. Only the worker thread touches slots and the model;
// the mutex guards the queue and the statistics.
#include "runtime/scheduler.h"

#include <algorithm>
#include <chrono>

#include "runtime/generate.h"

namespace hearth::runtime {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Tokens per forward pass: every decoding slot's next token, then prompt chunks up to this
// total, so that long prompts go in pieces while the other slots keep decoding and the
// activation buffers stay bounded.
constexpr int64_t kBatchTokens = 512;
// Recurrent memories keep this many restorable positions per slot (besides position 0).
constexpr size_t kMaxCheckpoints = 4;

// Length of the longest suffix of `text` that is a proper prefix of one of the stop strings:
// text that might still turn into a stop string and must not be handed out yet.
size_t stop_hold(std::string_view text, const std::vector<std::string>& stops) {
    size_t hold = 0;
    for (const std::string& s : stops) {
        for (size_t n = std::min(s.size() - 1, text.size()); n > hold; --n) {
            if (text.substr(text.size() - n) == std::string_view(s).substr(0, n)) {
                hold = n;
                break;
            }
        }
    }
    return hold;
}

}  // namespace

size_t common_prefix(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
    const size_t n = std::min(a.size(), b.size());
    size_t i = 0;
    while (i < n && a[i] == b[i]) ++i;
    return i;
}

// --- Job ----------------------------------------------------------------------------------------

void Job::push(JobOutput out) {
    std::lock_guard<std::mutex> lock(mu_);
    out_.push_back(std::move(out));
    cv_.notify_all();
}

std::optional<JobOutput> Job::next(int wait_ms) {
    std::unique_lock<std::mutex> lock(mu_);
    if (finished_) return last_;
    auto ready = [&] { return !out_.empty(); };
    if (wait_ms < 0) cv_.wait(lock, ready);
    else if (!cv_.wait_for(lock, std::chrono::milliseconds(wait_ms), ready)) return std::nullopt;
    JobOutput out = std::move(out_.front());
    out_.pop_front();
    if (out.done) {
        finished_ = true;
        last_ = out;
        last_.text.clear();
    }
    return out;
}

// --- Slots --------------------------------------------------------------------------------------

struct Scheduler::Slot {
    std::unique_ptr<model::State> state;
    std::vector<int32_t> tokens;                // what the state has seen: n_past == size()
    std::vector<model::Checkpoint> checkpoints;  // recurrent models: restorable, ascending n_past
    uint64_t last_used = 0;

    // The job in this slot, if any.
    std::shared_ptr<Job> job;
    std::unique_ptr<Sampler> sampler;
    std::vector<float> logits;
    size_t n_prompt_done = 0;  // prompt tokens in the state so far
    int64_t n_cached = 0;
    int64_t n_generated = 0;
    std::string pending;  // generated text not handed out yet
    bool in_think = false;     // inside <think> (for the thinking budget)
    int64_t n_think = 0;       // tokens generated inside it
    size_t n_forced = 0;       // think_close tokens already forced
    std::string tail;          // the last few bytes of output, to see <think> and </think>
    std::unique_ptr<TokenMatcher> matcher;  // the job's constraint, if any
    int32_t next = 0;          // the token step() chose, evaluated in the next pass
    Clock::time_point t_start, t_decode;
    double prompt_seconds = 0;
};

Scheduler::Scheduler(model::Model& model, const text::Tokenizer& tokenizer, int n_slots, int64_t n_ctx)
    : model_(model), tokenizer_(tokenizer), n_ctx_(n_ctx), recurrent_([&] {
          for (auto k : model.layer_kinds())
              if (k == model::Model::LayerKind::Recurrent) return true;
          return false;
      }()) {
    for (int i = 0; i < n_slots; ++i) {
        auto s = std::make_unique<Slot>();
        s->state = model_.new_state(n_ctx);
        if (recurrent_) s->checkpoints.push_back(s->state->checkpoint());  // position 0
        s->logits.resize(model_.config().n_vocab);
        slots_.push_back(std::move(s));
    }
    worker_ = std::thread([this] { run(); });
}

Scheduler::~Scheduler() {
    {
        std::lock_guard<std::mutex> lock(mu_);
        stopping_ = true;
        cv_.notify_all();
    }
    worker_.join();
    for (auto& s : slots_)
        if (s->job) finish(*s, FinishReason::Cancelled);
    for (auto& job : queue_) job->push({.done = true, .finish = FinishReason::Cancelled});
}

std::shared_ptr<Job> Scheduler::submit(JobSpec spec) {
    auto job = std::make_shared<Job>(std::move(spec));
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(job);
    stats_.queued = static_cast<int64_t>(queue_.size());
    cv_.notify_all();
    return job;
}

void Scheduler::cancel_all() {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& job : queue_) job->cancel();
    for (auto& job : running_) job->cancel();
    cv_.notify_all();
}

SchedulerStats Scheduler::stats() const {
    std::lock_guard<std::mutex> lock(mu_);
    return stats_;
}

// The free slot that can reuse the most of `prompt`; among equals the least recently used.
Scheduler::Slot* Scheduler::pick_slot(const std::vector<int32_t>& prompt) {
    Slot* best = nullptr;
    size_t best_reuse = 0;
    for (auto& s : slots_) {
        if (s->job) continue;
        size_t reuse = prompt.empty() ? 0 : std::min(common_prefix(s->tokens, prompt), prompt.size() - 1);
        if (recurrent_) {  // only checkpointed positions can be returned to
            size_t at = 0;
            for (const auto& cp : s->checkpoints)
                if (size_t(cp.n_past) <= reuse) at = size_t(cp.n_past);
            reuse = at;
        }
        if (!best || reuse > best_reuse || (reuse == best_reuse && s->last_used < best->last_used)) {
            best = s.get();
            best_reuse = reuse;
        }
    }
    return best;
}

void Scheduler::admit(std::shared_ptr<Job> job, Slot& slot) {
    static uint64_t clock = 0;
    slot.last_used = ++clock;
    slot.job = std::move(job);
    const JobSpec& spec = slot.job->spec();
    slot.t_start = Clock::now();
    slot.n_generated = 0;
    slot.pending.clear();
    slot.prompt_seconds = 0;
    slot.in_think = spec.thinking_open;
    slot.n_think = 0;
    slot.n_forced = 0;
    slot.tail.clear();
    slot.sampler = std::make_unique<Sampler>(spec.sampling);
    slot.matcher.reset();
    if (spec.constraint) {
        if (!token_index_) token_index_ = TokenIndex::build(tokenizer_);
        slot.matcher = std::make_unique<TokenMatcher>(*spec.constraint, token_index_);
    }
    for (int32_t t : spec.prompt) slot.sampler->accept(t);
    if (spec.prompt.empty() || int64_t(spec.prompt.size()) >= n_ctx_) {
        finish(slot, FinishReason::Error,
               strfmt("the prompt has %zu tokens; the context holds %lld", spec.prompt.size(),
                      (long long)n_ctx_));
        return;
    }

    // Keep what the slot's memory shares with the prompt, but always evaluate at least one
    // token: its logits start the answer.
    size_t keep = std::min(common_prefix(slot.tokens, spec.prompt), spec.prompt.size() - 1);
    if (recurrent_) {
        size_t pick = 0;
        for (size_t i = 0; i < slot.checkpoints.size(); ++i)
            if (size_t(slot.checkpoints[i].n_past) <= keep) pick = i;
        slot.state->restore(slot.checkpoints[pick]);
        keep = size_t(slot.checkpoints[pick].n_past);
        slot.checkpoints.resize(pick + 1);  // later positions are about to be overwritten
    } else if (!slot.state->truncate(int64_t(keep))) {
        slot.state = model_.new_state(n_ctx_);
        keep = 0;
    }
    slot.tokens.resize(keep);
    slot.n_prompt_done = keep;
    slot.n_cached = int64_t(keep);
}

void Scheduler::prefilled(Slot& slot, size_t n, double seconds) {
    const std::vector<int32_t>& prompt = slot.job->spec().prompt;
    slot.tokens.insert(slot.tokens.end(), prompt.begin() + slot.n_prompt_done,
                       prompt.begin() + slot.n_prompt_done + n);
    slot.n_prompt_done += n;
    slot.prompt_seconds += seconds;
    if (slot.n_prompt_done == prompt.size()) {
        if (recurrent_) {
            slot.checkpoints.push_back(slot.state->checkpoint());
            if (slot.checkpoints.size() > kMaxCheckpoints + 1)
                slot.checkpoints.erase(slot.checkpoints.begin() + 1);
        }
        slot.t_decode = Clock::now();
    }
}

bool Scheduler::step(Slot& slot) {
    const JobSpec& spec = slot.job->spec();
    const bool force = slot.in_think && spec.thinking_budget >= 0 && slot.n_think >= spec.thinking_budget &&
                       slot.n_forced < spec.think_close.size();
    int32_t tok = force ? spec.think_close[slot.n_forced++]
                        : slot.sampler->sample({slot.logits.data(), slot.logits.size()});
    if (slot.matcher && !force) {
        if (!slot.matcher->allows(tok)) {  // draw again among the tokens the constraint allows
            if (slot.matcher->mask(slot.logits) == 0) {
                finish(slot, slot.matcher->complete() ? FinishReason::Eog : FinishReason::Error,
                       "the constraint allows no token here");
                return false;
            }
            tok = slot.sampler->sample({slot.logits.data(), slot.logits.size()});
            // The sampler's last resort can land on a masked token through rounding.
            if (!slot.matcher->allows(tok)) tok = argmax({slot.logits.data(), slot.logits.size()});
        }
        slot.matcher->accept(tok);
    }
    if (tokenizer_.is_eog(tok)) {
        finish(slot, FinishReason::Eog);
        return false;
    }
    slot.sampler->accept(tok);
    ++slot.n_generated;
    const std::string piece = tokenizer_.token_to_piece(tok, false);
    slot.pending += piece;
    if (slot.in_think) ++slot.n_think;
    slot.tail += piece;
    if (slot.tail.find(slot.in_think ? "</think>" : "<think>") != std::string::npos) {
        slot.in_think = !slot.in_think;
        slot.tail.clear();
    } else if (slot.tail.size() > 16) {
        slot.tail.erase(0, slot.tail.size() - 16);
    }

    for (const std::string& s : spec.stop) {
        const size_t at = slot.pending.find(s);
        if (at == std::string::npos) continue;
        slot.pending.resize(at);
        finish(slot, FinishReason::Stop, s);
        return false;
    }
    size_t ready = slot.pending.size() - stop_hold(slot.pending, spec.stop);
    ready = complete_utf8_prefix(std::string_view(slot.pending).substr(0, ready));
    if (ready > 0) {
        slot.job->push({.text = slot.pending.substr(0, ready)});
        slot.pending.erase(0, ready);
    }
    if (slot.matcher && slot.matcher->complete() && !slot.matcher->can_continue()) {
        finish(slot, FinishReason::Eog);  // the constrained output is whole: nothing may follow
        return false;
    }
    const bool budget_done = spec.max_tokens >= 0 && slot.n_generated >= spec.max_tokens;
    if (budget_done || slot.state->n_past() + 1 >= n_ctx_) {
        finish(slot, FinishReason::Length);
        return false;
    }
    slot.next = tok;
    return true;
}

void Scheduler::finish(Slot& slot, FinishReason reason, std::string detail) {
    JobOutput out;
    out.done = true;
    out.finish = reason;
    out.text = std::move(slot.pending);
    slot.pending.clear();
    if (reason == FinishReason::Stop) out.stop_string = std::move(detail);
    if (reason == FinishReason::Error) out.error = std::move(detail);
    out.n_prompt = int64_t(slot.job->spec().prompt.size());
    out.n_cached = slot.n_cached;
    out.n_generated = slot.n_generated;
    out.prompt_seconds = slot.prompt_seconds;
    const bool decoded = slot.n_prompt_done == slot.job->spec().prompt.size() && reason != FinishReason::Error;
    out.generate_seconds = decoded ? seconds_since(slot.t_decode) : 0;
    if (recurrent_ && decoded && slot.state->n_past() > slot.checkpoints.back().n_past) {
        slot.checkpoints.push_back(slot.state->checkpoint());
        if (slot.checkpoints.size() > kMaxCheckpoints + 1)
            slot.checkpoints.erase(slot.checkpoints.begin() + 1);
    }
    if (reason == FinishReason::Error) {  // what the memory holds is unknown: forget it
        slot.tokens.clear();
        slot.state = model_.new_state(n_ctx_);
        slot.checkpoints.clear();
        if (recurrent_) slot.checkpoints.push_back(slot.state->checkpoint());
    }
    {
        std::lock_guard<std::mutex> lock(mu_);
        ++stats_.requests;
        stats_.prompt_tokens += int64_t(slot.n_prompt_done) - slot.n_cached;
        stats_.cached_tokens += slot.n_cached;
        stats_.generated_tokens += slot.n_generated;
        stats_.prompt_seconds += out.prompt_seconds;
        stats_.generate_seconds += out.generate_seconds;
        stats_.active -= 1;
        std::erase(running_, slot.job);
    }
    slot.job->push(std::move(out));
    slot.job.reset();
    slot.sampler.reset();
    slot.matcher.reset();
}

void Scheduler::run() {
    for (;;) {
        {
            std::unique_lock<std::mutex> lock(mu_);
            auto any_active = [&] {
                for (auto& s : slots_)
                    if (s->job) return true;
                return false;
            };
            cv_.wait(lock, [&] { return stopping_ || !queue_.empty() || any_active(); });
            if (stopping_) return;
            while (!queue_.empty()) {
                if (queue_.front()->cancelled()) {  // gone before it started
                    queue_.front()->push({.done = true, .finish = FinishReason::Cancelled});
                    queue_.pop_front();
                    continue;
                }
                Slot* slot = pick_slot(queue_.front()->spec().prompt);
                if (!slot) break;
                auto job = std::move(queue_.front());
                queue_.pop_front();
                running_.push_back(job);
                lock.unlock();
                admit(std::move(job), *slot);
                lock.lock();
            }
            stats_.queued = int64_t(queue_.size());
            stats_.active = 0;
            for (auto& s : slots_) stats_.active += s->job ? 1 : 0;
        }
        advance();
    }
}

// One forward pass for every active slot: the next token of each decoding slot, and prompt
// chunks of the others within what is left of the token budget.
void Scheduler::advance() {
    struct Part {
        Slot* slot;
        bool prompt;
    };
    std::vector<Part> parts;
    std::vector<model::SeqBatch> batch;
    int64_t budget = kBatchTokens;
    for (auto& s : slots_) {  // decoding slots first: each costs one token of the budget
        Slot& slot = *s;
        if (!slot.job) continue;
        if (slot.job->cancelled()) finish(slot, FinishReason::Cancelled);
        else if (slot.n_prompt_done == slot.job->spec().prompt.size() && step(slot)) {
            parts.push_back({&slot, false});
            batch.push_back({.tokens = {&slot.next, 1}, .state = slot.state.get(), .logits = slot.logits.data()});
            --budget;
        }
    }
    for (auto& s : slots_) {
        Slot& slot = *s;
        if (!slot.job || budget <= 0) continue;
        const std::vector<int32_t>& prompt = slot.job->spec().prompt;
        if (slot.n_prompt_done == prompt.size()) continue;
        const size_t n = std::min<size_t>(size_t(budget), prompt.size() - slot.n_prompt_done);
        parts.push_back({&slot, true});
        batch.push_back({.tokens = {prompt.data() + slot.n_prompt_done, n},
                         .state = slot.state.get(),
                         .logits = slot.logits.data()});
        budget -= int64_t(n);
    }
    if (batch.empty()) return;

    const auto t0 = Clock::now();
    Status st = model_.eval_batch(batch);
    const double seconds = seconds_since(t0);
    for (size_t i = 0; i < parts.size(); ++i) {
        Slot& slot = *parts[i].slot;
        if (!st.ok()) {
            // A batch fails as a whole and leaves every state unchanged: evaluate each sequence
            // alone, so that only the one at fault ends with the error.
            Status one = model_.eval(batch[i].tokens, *slot.state, slot.logits.data(), false);
            if (!one.ok()) {
                finish(slot, FinishReason::Error, one.message());
                continue;
            }
        }
        if (parts[i].prompt) prefilled(slot, batch[i].tokens.size(), seconds);
        else slot.tokens.push_back(slot.next);
    }
}

}  // namespace hearth::runtime
