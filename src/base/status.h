// Status and Result<T>: how anything that can fail on user input reports it.
// A Status is ok or carries a one-line message with context; no exceptions cross layers.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <variant>

namespace hearth {

class [[nodiscard]] Status {
   public:
    Status() = default;
    static Status error(std::string message) { return Status(std::move(message)); }

    bool ok() const { return !failed_; }
    const std::string& message() const { return message_; }

    // Prepends context: "blk.3.attn_q.weight: " + message.
    Status with_context(const std::string& context) const {
        return ok() ? *this : Status(context + ": " + message_);
    }

   private:
    explicit Status(std::string message) : message_(std::move(message)), failed_(true) {}
    std::string message_;
    bool failed_ = false;
};

template <typename T>
class [[nodiscard]] Result {
   public:
    Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit on purpose
    Result(Status status) : v_(std::move(status)) {
        if (std::get<Status>(v_).ok()) {
            std::fprintf(stderr, "Result constructed from an ok Status\n");
            std::abort();
        }
    }

    bool ok() const { return std::holds_alternative<T>(v_); }
    Status status() const { return ok() ? Status() : std::get<Status>(v_); }
    const std::string& message() const { return std::get<Status>(v_).message(); }

    T& value() & { return std::get<T>(v_); }
    const T& value() const& { return std::get<T>(v_); }
    T&& value() && { return std::get<T>(std::move(v_)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T&& operator*() && { return std::move(*this).value(); }

   private:
    std::variant<Status, T> v_;
};

// Formats like printf into a std::string (GCC 12 has no <format>).
std::string strfmt(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

inline Status error(std::string message) { return Status::error(std::move(message)); }

}  // namespace hearth

// Always-on invariant check: aborts with file:line. For broken invariants, not user input.
#define HEARTH_CHECK(cond)                                                                   \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);    \
            std::abort();                                                                    \
        }                                                                                    \
    } while (0)

#ifdef NDEBUG
#define HEARTH_DCHECK(cond) \
    do {                    \
    } while (0)
#else
#define HEARTH_DCHECK(cond) HEARTH_CHECK(cond)
#endif

// Returns early from a function returning Status or Result<T> when `expr` failed.
#define HEARTH_RETURN_IF_ERROR(expr)          \
    do {                                      \
        ::hearth::Status hearth_st_ = (expr); \
        if (!hearth_st_.ok()) return hearth_st_; \
    } while (0)
