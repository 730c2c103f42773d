// libedit input with history, the SIGINT flag, and the answer view's folding: the rows the
// thinking took are counted as it streams (wide characters and wraps included), so that the
// cursor can go back up and erase them when the answer starts.
#include "cli/chat_terminal.h"

#include <editline/readline.h>
#include <langinfo.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <atomic>
#include <clocale>
#include <cstdlib>
#include <cstring>
#include <cwchar>
#include <filesystem>
#include <iostream>

#include "base/status.h"

namespace hearth::cli {

namespace {

std::atomic<bool> g_interrupt{false};

void on_sigint(int) { g_interrupt.store(true); }

constexpr const char* kDim = "\x1b[2m";
constexpr const char* kReset = "\x1b[0m";

}  // namespace

// libedit decodes multi-byte input through the C library: it needs a UTF-8 LC_CTYPE.
void use_utf8_ctype() {
    const char* got = std::setlocale(LC_CTYPE, "");
    if (got && std::strcmp(nl_langinfo(CODESET), "UTF-8") == 0) return;
    std::setlocale(LC_CTYPE, "C.UTF-8");
}

void install_interrupt_handler() {
    struct sigaction sa;
    std::memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: a Ctrl-C at the prompt ends the blocking read
    sigaction(SIGINT, &sa, nullptr);
}

bool interrupt_pending() { return g_interrupt.load(); }
void clear_interrupt() { g_interrupt.store(false); }

void write_dim(FILE* out, bool styled, const std::string& text) {
    if (styled) std::fputs(kDim, out);
    std::fputs(text.c_str(), out);
    if (styled) std::fputs(kReset, out);
    std::fflush(out);
}

LineInput::LineInput(bool edit) : edit_(edit) {
    if (!edit_) return;
    use_utf8_ctype();
    // ~/.editrc may hold "hearth:bind ..." lines. Our SIGINT handler, not libedit's, sees Ctrl-C.
    rl_readline_name = const_cast<char*>("hearth");
    rl_catch_signals = 0;
    using_history();
    stifle_history(1000);
    if (const char* home = std::getenv("HOME"); home && *home) {
        std::error_code ec;
        const std::filesystem::path dir = std::filesystem::path(home) / ".cache" / "hearth";
        std::filesystem::create_directories(dir, ec);
        if (!ec) history_path_ = (dir / "chat_history").string();
    }
    if (!history_path_.empty()) read_history(history_path_.c_str());
}

LineInput::~LineInput() {
    if (edit_ && !history_path_.empty()) write_history(history_path_.c_str());
}

LineInput::Read LineInput::read_line(const char* prompt, std::string* line) {
    clear_interrupt();
    if (!edit_) {
        if (!std::getline(std::cin, *line)) {
            std::cin.clear();
            return interrupt_pending() ? Read::Interrupted : Read::End;
        }
        if (line->ends_with('\r')) line->pop_back();
        return Read::Message;
    }
    char* s = readline(prompt);
    if (s == nullptr) {
        if (!interrupt_pending()) return Read::End;
        // The cursor may sit mid-line: erase what follows it, so that "^C" ends the line.
        std::fputs(isatty(STDOUT_FILENO) ? "^C\x1b[K\n" : "\n", stdout);
        return Read::Interrupted;
    }
    *line = s;
    std::free(s);
    if (line->find_first_not_of(" \t") != std::string::npos) add_history(line->c_str());
    return Read::Message;
}

LineInput::Read LineInput::read_message(std::string* message) {
    std::string line;
    Read r = read_line(edit_ ? "> " : "", &line);
    if (r != Read::Message) return r;
    message->clear();
    if (line.starts_with("\"\"\"")) {  // a block, up to a line ending in """
        line.erase(0, 3);
        std::string text;
        bool any = false;
        for (bool opening = true;; opening = false) {
            const bool closing = line.ends_with("\"\"\"");
            if (closing) line.resize(line.size() - 3);
            // The bare """ lines that open and close the block are not part of it.
            if (!line.empty() || !(opening || closing)) {
                text += (any ? "\n" : "") + line;
                any = true;
            }
            if (closing) break;
            r = read_line(edit_ ? "... " : "", &line);
            if (r == Read::Interrupted) return r;
            if (r == Read::End) break;  // an unclosed block ends with the input
        }
        *message = text;
        return Read::Message;
    }
    while (line.ends_with('\\')) {  // a trailing backslash continues the message
        line.pop_back();
        *message += line + "\n";
        r = read_line(edit_ ? "... " : "", &line);
        if (r == Read::Interrupted) return r;
        if (r == Read::End) return Read::Message;
    }
    *message += line;
    return Read::Message;
}

void AnswerView::show(const text::ChatEvent& event) {
    using Kind = text::ChatEvent::Kind;
    switch (event.kind) {
        case Kind::Reasoning: {
            if (!thinking_ && reasoning_.empty()) begin_thinking();
            // The newline after <think> is the template's, not the model's thought.
            std::string_view t = event.text;
            if (reasoning_.find_first_not_of("\n") == std::string::npos) {
                while (t.starts_with('\n')) t.remove_prefix(1);
            }
            reasoning_ += event.text;
            if (thinking_) write(std::string(t));
            break;
        }
        case Kind::Content: {
            if (thinking_) end_thinking();
            std::string_view t = event.text;
            if (!content_started_) {  // "\n\n" after </think> and the like
                while (!t.empty() && (t[0] == '\n' || t[0] == ' ')) t.remove_prefix(1);
                content_started_ = !t.empty();
            }
            write(std::string(t));
            break;
        }
        case Kind::ToolCallStart:
            if (thinking_) end_thinking();
            write((col_ ? "\n" : "") + std::string("[tool call] ") + event.text + " ");
            break;
        case Kind::ToolCallArgs:
            write(event.text);
            break;
        case Kind::ToolCallEnd:
            write("\n");
            break;
    }
    std::fflush(stdout);
}

void AnswerView::finish() {
    if (thinking_) end_thinking();
    if (col_ != 0) write("\n");
    std::fflush(stdout);
}

void AnswerView::begin_thinking() {
    thinking_ = true;
    rows_ = 0;
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 && ws.ws_row > 0) {
        width_ = ws.ws_col;
        height_ = ws.ws_row;
    }
    if (col_ != 0) write("\n");
    rows_ = 0;
    std::fputs(styled_ ? kDim : "[thinking]\n", stdout);
}

void AnswerView::end_thinking() {
    thinking_ = false;
    const bool empty = reasoning_.find_first_not_of(" \n") == std::string::npos;
    if (!styled_) {
        if (col_ != 0) write("\n");
        std::fputs("[/thinking]\n", stdout);
        return;
    }
    std::fputs(kReset, stdout);
    if (rows_ + 2 < height_) {
        // Back to the first row of the thinking and erase down: the fold.
        std::fputs("\r", stdout);
        if (rows_ > 0) std::fprintf(stdout, "\x1b[%dA", rows_);
        std::fputs("\x1b[J", stdout);
        col_ = 0;
    } else if (col_ != 0) {  // taller than the screen: leave it, end its line
        write("\n");
    }
    if (!empty)
        write_dim(stdout, true,
                  strfmt("thought for %lld tokens (/show to expand)\n", (long long)tokens_));
}

void AnswerView::write(const std::string& text) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::mbstate_t st{};
    const char* p = text.data();
    const char* end = p + text.size();
    while (p < end) {
        wchar_t wc;
        size_t n = std::mbrtowc(&wc, p, end - p, &st);
        if (n == 0 || n > size_t(end - p)) {  // invalid or incomplete: one column per byte
            wc = L'?';
            n = 1;
            st = std::mbstate_t{};
        }
        p += n;
        if (wc == L'\n') {
            ++rows_;
            col_ = 0;
            continue;
        }
        if (wc == L'\r') {
            col_ = 0;
            continue;
        }
        int w = wc == L'\t' ? 8 - col_ % 8 : wcwidth(wc);
        if (w <= 0) continue;
        if (col_ + w > width_) {  // the terminal wraps before this character
            ++rows_;
            col_ = 0;
        }
        col_ += w;
    }
}

}  // namespace hearth::cli
