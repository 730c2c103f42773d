// The terminal side of `hearth chat`: reading messages (libedit line editing and history on a
// terminal, plain lines otherwise; a trailing \ or a """ block continues a message), Ctrl-C
// handling, and the streaming view of an answer (thinking dimmed while it streams, folded to
// one line afterwards). Knows nothing of models or templates.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include "text/chat_output.h"

namespace hearth::cli {

// SIGINT sets a flag instead of ending the process (and interrupts a blocking read).
void install_interrupt_handler();
bool interrupt_pending();
void clear_interrupt();

// Sets a UTF-8 LC_CTYPE (libedit and the width of what is printed depend on it); only
// LC_CTYPE, so numbers keep printing with a '.'.
void use_utf8_ctype();

// Writes text dimmed (ANSI faint) when `styled`, plain otherwise.
void write_dim(FILE* out, bool styled, const std::string& text);

class LineInput {
   public:
    // With `edit`, lines come through libedit (history in ~/.cache/hearth/chat_history);
    // without, from stdin as they are, with no prompt (scripts drive it).
    explicit LineInput(bool edit);
    ~LineInput();
    LineInput(const LineInput&) = delete;
    LineInput& operator=(const LineInput&) = delete;

    enum class Read { Message, Interrupted, End };
    // One message, possibly of several lines. Interrupted: Ctrl-C at the prompt (the line is
    // dropped); End: Ctrl-D or end of input.
    Read read_message(std::string* message);

   private:
    Read read_line(const char* prompt, std::string* line);
    bool edit_;
    std::string history_path_;
};

// Shows one answer as its parser events arrive.
class AnswerView {
   public:
    explicit AnswerView(bool styled) : styled_(styled) {}
    void token() { tokens_ += thinking_ ? 1 : 0; }  // counts the tokens spent thinking
    void show(const text::ChatEvent& event);
    // The end of the answer: closes an open thinking block and ends the line.
    void finish();

    int64_t thought_tokens() const { return tokens_; }
    const std::string& reasoning() const { return reasoning_; }

   private:
    void begin_thinking();
    void end_thinking();
    void write(const std::string& text);  // to stdout, tracking the rows it takes

    bool styled_;
    bool thinking_ = false;
    bool content_started_ = false;
    int64_t tokens_ = 0;
    std::string reasoning_;
    int rows_ = 0;  // rows the thinking has taken so far (folding erases them)
    int col_ = 0;   // cursor column on the current row
    int width_ = 80, height_ = 24;
};

}  // namespace hearth::cli
