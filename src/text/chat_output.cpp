// Streaming chat-output parser: a small state machine over a buffer of unconsumed text. Each
// step consumes a decided prefix or returns false to wait for more input (or, at the end, flush).

#include "text/chat_output.h"

#include <cctype>
#include <nlohmann/json.hpp>
#include <utility>

namespace hearth::text {

namespace {

using Kind = ChatEvent::Kind;
using Json = nlohmann::ordered_json;

constexpr std::string_view kThinkOpen = "<think>";
constexpr std::string_view kThinkClose = "</think>";
constexpr std::string_view kCallOpen = "<tool_call>";
constexpr std::string_view kCallClose = "</tool_call>";
constexpr std::string_view kFunctionOpen = "<function=";
constexpr std::string_view kFunctionClose = "</function>";
constexpr std::string_view kParamOpen = "<parameter=";
constexpr std::string_view kParamClose = "</parameter>";
// A <function=NAME> or <parameter=KEY> header longer than this is not a header.
constexpr size_t kMaxHeader = 256;

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

size_t count_space(std::string_view s) {
    size_t n = 0;
    while (n < s.size() && is_space(s[n])) ++n;
    return n;
}

// Full: s starts with tag. Partial: s is a proper prefix of tag (more input may complete it).
enum class Match { None, Partial, Full };

Match match(std::string_view s, std::string_view tag) {
    if (s.starts_with(tag)) return Match::Full;
    return tag.starts_with(s) ? Match::Partial : Match::None;
}

// Dumps without throwing: invalid UTF-8 from the model becomes U+FFFD instead of an exception.
std::string dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

// Parses without throwing; a discarded value means "not JSON".
Json parse_json(std::string_view s) {
    try {
        return Json::parse(s, nullptr, false);
    } catch (const std::exception&) {
        return Json(Json::value_t::discarded);
    }
}

// A Qwen3-Coder parameter value as JSON: numbers, bools, null, objects and arrays stay JSON;
// anything else (including quoted text, which the template writes raw) is a JSON string.
std::string xml_value_json(std::string value) {
    if (value.starts_with('\n')) value.erase(0, 1);
    if (value.ends_with('\n')) value.pop_back();
    Json j = parse_json(value);
    if (!j.is_discarded() && !j.is_string()) return dump(j);
    return dump(Json(value));
}

// "<function=NAME>" headers: returns the position of '>' after the prefix, npos if not there yet,
// or 0 if the header is malformed (a newline or too long).
size_t header_end(std::string_view s, size_t prefix_len) {
    for (size_t i = prefix_len; i < s.size(); ++i) {
        if (s[i] == '>') return i;
        if (s[i] == '\n' || i > kMaxHeader) return 0;
    }
    return std::string_view::npos;
}

}  // namespace

ChatOutputParser::ChatOutputParser(Options options)
    : mode_(options.thinking_open_at_start && !options.no_reasoning ? Mode::Reasoning
                                                                     : Mode::Content),
      think_seen_(options.thinking_open_at_start || options.no_reasoning) {}

std::vector<ChatEvent> ChatOutputParser::feed(std::string_view text_piece) {
    buf_.append(text_piece);
    while (step(false)) {
    }
    return std::exchange(out_, {});
}

std::vector<ChatEvent> ChatOutputParser::finish() {
    while (step(true)) {
    }
    return std::exchange(out_, {});
}

bool ChatOutputParser::step(bool at_end) {
    switch (mode_) {
        case Mode::Reasoning:
        case Mode::Content:
            return step_text(at_end);
        case Mode::CallStart:
            return step_call_start(at_end);
        case Mode::CallJson:
        case Mode::CallRaw:
            return step_call_buffered(at_end);
        case Mode::CallFunction:
            return step_function(at_end);
        case Mode::CallValue:
            return step_value(at_end);
        case Mode::CallAfter:
            return step_after(at_end);
    }
    return false;
}

// Returns how many bytes of buf_ are plain text before the first full tag (its index in *hit) or
// before a possible tag prefix that more input could complete (*hit = -1; never at the end).
size_t ChatOutputParser::scan(const std::vector<std::string_view>& tags, int* hit,
                              bool at_end) const {
    *hit = -1;
    for (size_t pos = buf_.find('<'); pos != std::string::npos; pos = buf_.find('<', pos + 1)) {
        std::string_view rest = std::string_view(buf_).substr(pos);
        bool partial = false;
        for (size_t i = 0; i < tags.size(); ++i) {
            Match m = match(rest, tags[i]);
            if (m == Match::Full) {
                *hit = static_cast<int>(i);
                return pos;
            }
            partial = partial || m == Match::Partial;
        }
        if (partial && !at_end) return pos;
    }
    return buf_.size();
}

void ChatOutputParser::emit(Kind kind, std::string_view text, int tool_index) {
    bool is_text = kind == Kind::Reasoning || kind == Kind::Content || kind == Kind::ToolCallArgs;
    if (is_text && text.empty()) return;
    if (is_text && !out_.empty() && out_.back().kind == kind &&
        out_.back().tool_index == tool_index) {
        out_.back().text.append(text);
        return;
    }
    out_.push_back(ChatEvent{.kind = kind, .text = std::string(text), .tool_index = tool_index});
}

bool ChatOutputParser::step_text(bool at_end) {
    bool reasoning = mode_ == Mode::Reasoning;
    std::vector<std::string_view> tags = {kCallOpen};
    if (reasoning) tags.push_back(kThinkClose);
    if (!reasoning && !think_seen_) tags.push_back(kThinkOpen);
    int hit = -1;
    size_t n = scan(tags, &hit, at_end);
    emit(reasoning ? Kind::Reasoning : Kind::Content, std::string_view(buf_).substr(0, n));
    buf_.erase(0, n);
    if (hit < 0) return false;
    std::string_view tag = tags[hit];
    buf_.erase(0, tag.size());
    think_seen_ = true;
    if (tag == kCallOpen) {
        // <tool_call> inside thinking is an implicit end of reasoning.
        mode_ = Mode::CallStart;
        call_raw_ = std::string(kCallOpen);
    } else {
        mode_ = tag == kThinkOpen ? Mode::Reasoning : Mode::Content;
    }
    return true;
}

bool ChatOutputParser::step_call_start(bool at_end) {
    size_t ws = count_space(buf_);
    call_raw_.append(buf_, 0, ws);
    buf_.erase(0, ws);
    if (buf_.empty()) {
        if (at_end) degrade_call();
        return at_end;  // after degrading, step_text flushes what is still buffered
    }
    if (buf_[0] == '{') {
        mode_ = Mode::CallJson;
        return true;
    }
    Match m = match(buf_, kFunctionOpen);
    if (m == Match::Partial) {
        if (at_end) degrade_call();
        return at_end;  // after degrading, step_text flushes what is still buffered
    }
    size_t end = m == Match::Full ? header_end(buf_, kFunctionOpen.size()) : 0;
    if (end == std::string::npos) {
        if (at_end) degrade_call();
        return at_end;  // after degrading, step_text flushes what is still buffered
    }
    if (end == 0) {
        mode_ = Mode::CallRaw;
        return true;
    }
    std::string name = buf_.substr(kFunctionOpen.size(), end - kFunctionOpen.size());
    buf_.erase(0, end + 1);
    call_raw_.clear();  // committed: from here on the call is converted, not degraded
    emit(Kind::ToolCallStart, name, n_calls_);
    n_params_ = 0;
    mode_ = Mode::CallFunction;
    return true;
}

// JSON and unrecognised bodies wait for </tool_call>; an unterminated one degrades to Content.
bool ChatOutputParser::step_call_buffered(bool at_end) {
    size_t close = buf_.find(kCallClose);
    if (close == std::string::npos) {
        if (at_end) {
            call_raw_.append(buf_);
            buf_.clear();
            degrade_call();
        }
        return false;
    }
    std::string body = buf_.substr(0, close);
    call_raw_.append(buf_, 0, close + kCallClose.size());
    buf_.erase(0, close + kCallClose.size());
    if (mode_ == Mode::CallJson) {
        emit_json_call(body);
    } else {
        degrade_call();
    }
    mode_ = Mode::Content;
    return true;
}

void ChatOutputParser::emit_json_call(std::string_view body) {
    Json j = parse_json(body);
    if (j.is_discarded() || !j.is_object() || !j.contains("name") || !j["name"].is_string()) {
        degrade_call();
        return;
    }
    std::string args = "{}";
    auto it = j.find("arguments");
    if (it == j.end()) it = j.find("parameters");
    if (it != j.end()) {
        // Some models write the arguments as a JSON-encoded string; pass that through as is.
        args = it->is_string() ? it->get<std::string>() : dump(*it);
    }
    emit(Kind::ToolCallStart, j["name"].get<std::string>(), n_calls_);
    emit(Kind::ToolCallArgs, args, n_calls_);
    emit(Kind::ToolCallEnd, "", n_calls_);
    ++n_calls_;
    call_raw_.clear();
}

void ChatOutputParser::degrade_call() {
    emit(Kind::Content, call_raw_);
    call_raw_.clear();
    mode_ = Mode::Content;
}

// Whitespace between parameters is dropped; anything else there is kept as Content. Whitespace
// is held until the next non-space decides, so the result does not depend on how input is split.
bool ChatOutputParser::step_function(bool at_end) {
    size_t ws = count_space(buf_);
    if (ws == buf_.size()) {
        if (!at_end) return false;
        buf_.clear();
        close_call();
        mode_ = Mode::Content;
        return false;
    }
    std::string_view rest = std::string_view(buf_).substr(ws);
    if (rest[0] == '<') {
        Match param = match(rest, kParamOpen);
        size_t end = param == Match::Full ? header_end(rest, kParamOpen.size()) : 0;
        if (end == std::string::npos && !at_end) return false;
        if (end != std::string::npos && end != 0) {
            param_key_ = std::string(rest.substr(kParamOpen.size(), end - kParamOpen.size()));
            param_value_.clear();
            buf_.erase(0, ws + end + 1);
            mode_ = Mode::CallValue;
            return true;
        }
        bool call_closed = rest.starts_with(kCallClose);
        if (call_closed || rest.starts_with(kFunctionClose)) {
            buf_.erase(0, ws + (call_closed ? kCallClose.size() : kFunctionClose.size()));
            close_call();
            mode_ = call_closed ? Mode::Content : Mode::CallAfter;
            return true;
        }
        bool partial = param == Match::Partial || match(rest, kFunctionClose) == Match::Partial ||
                       match(rest, kCallClose) == Match::Partial;
        if (partial && !at_end) return false;
    }
    size_t next = buf_.find('<', ws + 1);
    size_t n = next == std::string::npos ? buf_.size() : next;
    if (next != std::string::npos || !at_end) {
        while (n > ws + 1 && is_space(buf_[n - 1])) --n;  // may precede a tag: decide later
    }
    emit(Kind::Content, std::string_view(buf_).substr(0, n));
    buf_.erase(0, n);
    return true;
}

bool ChatOutputParser::step_value(bool at_end) {
    static const std::vector<std::string_view> kEnds = {kParamClose, kFunctionClose, kCallClose};
    int hit = -1;
    size_t n = scan(kEnds, &hit, at_end);
    param_value_.append(buf_, 0, n);
    buf_.erase(0, n);
    if (hit < 0 && !at_end) return false;
    // A missing </parameter> before </function> or </tool_call> is tolerated.
    if (hit == 0) buf_.erase(0, kParamClose.size());
    finish_param();
    mode_ = Mode::CallFunction;
    return true;
}

void ChatOutputParser::finish_param() {
    std::string delta = n_params_ == 0 ? "{" : ",";
    delta += dump(Json(param_key_));
    delta += ':';
    delta += xml_value_json(std::move(param_value_));
    param_value_.clear();
    emit(Kind::ToolCallArgs, delta, n_calls_);
    ++n_params_;
}

void ChatOutputParser::close_call() {
    emit(Kind::ToolCallArgs, n_params_ == 0 ? "{}" : "}", n_calls_);
    emit(Kind::ToolCallEnd, "", n_calls_);
    ++n_calls_;
    n_params_ = 0;
}

bool ChatOutputParser::step_after(bool at_end) {
    size_t ws = count_space(buf_);
    if (ws == buf_.size()) {
        if (at_end) mode_ = Mode::Content;
        return at_end && !buf_.empty();
    }
    std::string_view rest = std::string_view(buf_).substr(ws);
    if (match(rest, kCallClose) == Match::Full) {
        buf_.erase(0, ws + kCallClose.size());
        mode_ = Mode::Content;
        return true;
    }
    if (match(rest, kFunctionOpen) == Match::Full) {
        // Several <function> blocks in one <tool_call>: each is its own call.
        buf_.erase(0, ws);
        call_raw_.clear();
        mode_ = Mode::CallStart;
        return true;
    }
    bool partial =
        match(rest, kCallClose) == Match::Partial || match(rest, kFunctionOpen) == Match::Partial;
    if (partial && !at_end) return false;
    mode_ = Mode::Content;  // the model never closed the tool call: the rest is content
    return true;
}

}  // namespace hearth::text
