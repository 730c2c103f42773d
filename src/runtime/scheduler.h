// The server's engine room: one worker thread owns the model and a fixed set of sequence slots,
// admits queued jobs into free slots (reusing the slot whose memory shares the longest prefix
// with the new prompt), and runs all active slots together in one forward pass per step
// (continuous batching): each decoding slot's next token beside chunks of new prompts, so
// concurrent requests all make progress and the weights are read once for all of them. Jobs stream their text back through a thread-safe queue and can
// be cancelled at any time from another thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "model/model.h"
#include "runtime/constraint.h"
#include "runtime/sampler.h"
#include "text/tokenizer.h"

namespace hearth::runtime {

struct JobSpec {
    std::vector<int32_t> prompt;
    SamplerParams sampling;
    int64_t max_tokens = -1;         // < 0: until end of generation or a full context
    std::vector<std::string> stop;   // stop strings: generation ends before the first match
    // Thinking budget: after this many tokens inside <think>, the tokens of think_close (e.g.
    // "\n</think>\n\n") are forced, and the answer starts. < 0: no limit.
    int64_t thinking_budget = -1;
    bool thinking_open = false;      // the prompt ends inside <think>
    std::vector<int32_t> think_close;
    // Constrained decoding (response_format, forced tool calls): every token continues the
    // match, and generation ends when it is complete. Null: free text.
    std::shared_ptr<const Constraint> constraint;
};

enum class FinishReason { None, Eog, Length, Stop, Cancelled, Error };

// What a job hands back, piece by piece. The last piece has done set.
struct JobOutput {
    std::string text;           // new generated text (complete UTF-8)
    bool done = false;
    FinishReason finish = FinishReason::None;
    std::string stop_string;    // the stop string that ended generation (Stop)
    std::string error;          // Error
    int64_t n_prompt = 0;       // usage, set on the last piece
    int64_t n_cached = 0;       // prompt tokens reused from a slot's memory
    int64_t n_generated = 0;
    double prompt_seconds = 0;
    double generate_seconds = 0;
};

class Job {
   public:
    explicit Job(JobSpec spec) : spec_(std::move(spec)) {}
    const JobSpec& spec() const { return spec_; }

    // Waits up to wait_ms (forever when negative) for output; nullopt on time-out. Once a piece
    // with done has been returned, further calls return it again.
    std::optional<JobOutput> next(int wait_ms = -1);
    // Asks the scheduler to stop this job; it finishes with FinishReason::Cancelled.
    void cancel() { cancelled_ = true; }
    bool cancelled() const { return cancelled_; }

   private:
    friend class Scheduler;
    void push(JobOutput out);

    JobSpec spec_;
    std::atomic<bool> cancelled_{false};
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<JobOutput> out_;
    bool finished_ = false;
    JobOutput last_;
};

struct SchedulerStats {
    int64_t requests = 0;          // jobs finished
    int64_t prompt_tokens = 0;     // prompt tokens evaluated (not counting reused ones)
    int64_t cached_tokens = 0;     // prompt tokens reused from slot memory
    int64_t generated_tokens = 0;
    int64_t queued = 0;            // waiting for a slot now
    int64_t active = 0;            // in a slot now
    double prompt_seconds = 0;     // total time in prompt evaluation
    double generate_seconds = 0;   // total time in decoding
};

class Scheduler {
   public:
    // n_slots sequences of n_ctx positions each. The model and tokenizer must outlive it.
    Scheduler(model::Model& model, const text::Tokenizer& tokenizer, int n_slots, int64_t n_ctx);
    ~Scheduler();
    Scheduler(const Scheduler&) = delete;
    Scheduler& operator=(const Scheduler&) = delete;

    // Queues a job. Its prompt must be non-empty and shorter than n_ctx (callers check, so
    // they can answer with a proper error); a violating job finishes with an Error.
    std::shared_ptr<Job> submit(JobSpec spec);

    // Cancels every queued and running job (shutting down).
    void cancel_all();

    int64_t n_ctx() const { return n_ctx_; }
    int n_slots() const { return static_cast<int>(slots_.size()); }
    SchedulerStats stats() const;

   private:
    struct Slot;
    void run();
    void admit(std::shared_ptr<Job> job, Slot& slot);
    void advance();
    // Records n more prompt tokens evaluated in `seconds`.
    void prefilled(Slot& slot, size_t n, double seconds);
    // Chooses a decoding slot's next token and hands out its text; false when that ended the
    // job, else the token waits in the slot to be evaluated.
    bool step(Slot& slot);
    void finish(Slot& slot, FinishReason reason, std::string detail = {});
    Slot* pick_slot(const std::vector<int32_t>& prompt);

    model::Model& model_;
    const text::Tokenizer& tokenizer_;
    const int64_t n_ctx_;
    const bool recurrent_;  // some layers keep state that cannot be rewound by position
    std::shared_ptr<const TokenIndex> token_index_;  // built at the first constrained job
    std::vector<std::unique_ptr<Slot>> slots_;

    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::shared_ptr<Job>> queue_;
    std::vector<std::shared_ptr<Job>> running_;  // jobs in slots, for cancel_all
    bool stopping_ = false;
    SchedulerStats stats_;
    std::thread worker_;
};

// Number of leading tokens a and b share.
size_t common_prefix(const std::vector<int32_t>& a, const std::vector<int32_t>& b);

}  // namespace hearth::runtime
