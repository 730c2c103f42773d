// hearth chat: a conversation in the terminal. Messages go through the model's chat template
// (runtime/chat.h), answers stream through the output parser with the thinking folded, and one
// model state lives across turns so that each turn evaluates only what it adds. No tools: tool
// calls the model writes are shown, never run. Without -m it talks to the synthetic demo model.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>

#include "cli/args.h"
#include "cli/chat_terminal.h"
#include "cli/commands.h"
#include "cli/load_progress.h"
#include "cli/sampling_flags.h"
#include "runtime/chat.h"
#include "runtime/chat_session.h"
#include "runtime/engine.h"
#include "runtime/synthetic.h"

namespace hearth::cli {

namespace {

using runtime::ojson;

const std::vector<FlagSpec> kFlags = [] {
    std::vector<FlagSpec> f = {
        {"-m,--model", "FILE", "GGUF model file (default: the built-in synthetic demo model)"},
        {"--system", "TEXT", "system prompt (change it later with /system)"},
        {"--no-think", "", "ask the model not to think (enable_thinking=false; /think on|off)"},
        {"--chat-template", "FILE", "Jinja chat template to use instead of the model's"},
        {"-n,--n-predict", "N", "most tokens per answer (default -1: until the answer ends)"},
        {"-c,--ctx-size", "N", "context size in tokens (default: 4096, at most the model's)"},
        {"-t,--threads", "N", "threads (default: the number of physical cores)"},
    };
    const std::vector<FlagSpec> sampling = sampling_flags("random seed (default 0); answer k samples with seed S+k");
    f.insert(f.end(), sampling.begin(), sampling.end());
    f.insert(f.end(), std::initializer_list<FlagSpec>{
        {"-h,--help", "", "show this help"},
    });
    return f;
}();

constexpr const char* kHelp =
    "commands:\n"
    "  /help            this list\n"
    "  /clear           start a new conversation (the system prompt stays)\n"
    "  /system [TEXT]   show or set the system prompt\n"
    "  /think on|off    let the model think before answering, or not\n"
    "  /show            the thinking behind the last answer, in full\n"
    "  /stats           tokens, speeds and context used\n"
    "  /save FILE       write the conversation as JSON (OpenAI messages)\n"
    "  /load FILE       continue a saved conversation\n"
    "  /exit            quit (or Ctrl-D)\n"
    "input: a line ending in \\ continues on the next; \"\"\" opens and closes a block.\n"
    "Ctrl-C stops an answer (what was written stays); at the prompt it clears the line.\n";

struct ChatOptions {
    int64_t n_predict = -1, n_ctx = 0, threads = 1;
    runtime::SamplerParams sampling;
};

// The same flags and ranges as hearth run (minus speculation, which needs the whole prompt).
Result<ChatOptions> read_options(const Args& a) {
    auto n = a.get_int("--n-predict", -1);
    auto c = a.get_int("--ctx-size", 0);
    auto t = a.get_int("--threads", ThreadPool::physical_cores());
    auto sampling = read_sampling(a);
    for (const Status& s : {n.status(), c.status(), t.status(), sampling.status()}) {
        if (!s.ok()) return s;
    }
    if (*t < 1 || *t > 1024) return error("--threads must be between 1 and 1024");
    if (*c < 0) return error("--ctx-size must be positive");
    if (*n < -1 || *n == 0) return error("--n-predict must be -1 or more than 0");
    ChatOptions o;
    o.n_predict = *n;
    o.n_ctx = *c;
    o.threads = *t;
    o.sampling = *sampling;
    return o;
}

Result<std::string> read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return error(path + ": cannot read the file");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string trim(const std::string& s) {
    const size_t b = s.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) return "";
    return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

double per_second(int64_t n, double seconds) { return n / std::max(seconds, 1e-9); }

class ChatApp {
   public:
    ChatApp(runtime::Engine engine, runtime::ChatFormat format, const ChatOptions& opt,
            int64_t n_ctx, bool styled_out, bool styled_err)
        : engine_(std::move(engine)),
          format_(std::move(format)),
          session_(*engine_.model, *engine_.tokenizer, n_ctx),
          opt_(opt),
          styled_out_(styled_out),
          styled_err_(styled_err) {}

    std::string system;
    std::optional<bool> think;  // unset: the template's default

    void run(LineInput& in);

   private:
    struct Prompt {
        std::string text;
        std::vector<int32_t> ids;
        int64_t n_stable = 0;  // ids the next turn's prompt starts with
    };
    Result<Prompt> prompt() const;          // the conversation rendered, with the generation prompt
    bool command(const std::string& line);  // false: quit
    void answer(const std::string& text);
    void report_speed(const runtime::GenerateStats& s);
    ojson conversation() const;
    void set_think(const std::string& arg);
    void save(const std::string& path) const;
    void load(const std::string& path);
    void print_stats() const;
    void note(const std::string& text) const { write_dim(stdout, styled_out_, text + "\n"); }
    void complain(const std::string& text) const { std::fprintf(stderr, "%s\n", text.c_str()); }

    runtime::Engine engine_;
    runtime::ChatFormat format_;
    runtime::ChatSession session_;
    ChatOptions opt_;
    bool styled_out_, styled_err_;
    ojson messages_ = ojson::array();  // the turns after the system prompt
    std::string last_reasoning_;
    std::optional<runtime::GenerateStats> last_;
    int64_t turns_ = 0, total_generated_ = 0;
    double total_seconds_ = 0;
};

void ChatApp::run(LineInput& in) {
    for (;;) {
        std::string message;
        const LineInput::Read r = in.read_message(&message);
        if (r == LineInput::Read::End) break;
        if (r == LineInput::Read::Interrupted) continue;
        if (trim(message).empty()) continue;
        if (message[0] == '/') {
            if (!command(trim(message))) break;
            continue;
        }
        answer(message);
    }
}

ojson ChatApp::conversation() const {
    ojson all = ojson::array();
    if (!system.empty()) all.push_back({{"role", "system"}, {"content", system}});
    for (const ojson& m : messages_) all.push_back(m);
    return all;
}

Result<ChatApp::Prompt> ChatApp::prompt() const {
    auto normalized = runtime::normalize_messages(conversation());
    if (!normalized.ok()) return normalized.status();
    Prompt p;
    auto text = format_.render(*normalized, nullptr, {.enable_thinking = think});
    if (!text.ok()) return text.status();
    p.text = std::move(text.value());
    p.ids = format_.tokenize(p.text);
    // The next turn's prompt starts with the conversation as it stands, without the generation
    // prompt (templates may re-render the answered turn differently from how it was prompted).
    auto settled = format_.render(*normalized, nullptr,
                                  {.add_generation_prompt = false, .enable_thinking = think});
    if (settled.ok()) {
        const std::vector<int32_t> s = format_.tokenize(*settled);
        p.n_stable =
            std::mismatch(s.begin(), s.end(), p.ids.begin(), p.ids.end()).first - s.begin();
    }
    return p;
}

void ChatApp::answer(const std::string& text) {
    messages_.push_back({{"role", "user"}, {"content", text}});
    auto prompt = this->prompt();
    if (!prompt.ok()) {
        messages_.erase(messages_.size() - 1);
        return complain("chat template: " + prompt.message());
    }
    text::ChatOutputParser parser(format_.parser_options(prompt->text));
    runtime::ChatReply reply;
    AnswerView view(styled_out_);
    auto show = [&](const std::vector<text::ChatEvent>& events) {
        for (const text::ChatEvent& e : events) {
            reply.add(e);
            view.show(e);
        }
    };
    runtime::GenerateParams gp{.n_predict = opt_.n_predict, .sampling = opt_.sampling};
    gp.sampling.seed += static_cast<uint64_t>(turns_);
    clear_interrupt();
    auto stats = session_.generate(prompt->ids, prompt->n_stable, gp, [&](std::string_view piece) {
        if (interrupt_pending()) return false;
        view.token();
        show(parser.feed(piece));
        return !interrupt_pending();
    });
    show(parser.finish());
    view.finish();
    const bool stopped = interrupt_pending();
    clear_interrupt();
    if (!stats.ok()) {
        messages_.erase(messages_.size() - 1);
        return complain("error: " + stats.message());
    }
    ++turns_;
    last_reasoning_ = trim(view.reasoning());
    messages_.push_back(reply.to_message());  // a stopped answer stays, as far as it got
    if (stopped)
        note("[stopped]");
    else if (!stats->stopped_by_eog)
        note("[cut off: the -n limit or the context is full]");
    report_speed(*stats);
}

void ChatApp::report_speed(const runtime::GenerateStats& s) {
    last_ = s;
    total_generated_ += s.n_generated;
    total_seconds_ += s.generate_seconds;
    const std::string line = strfmt(
        "%lld tokens, %.1f tokens/s | prompt: %lld new tokens, %.1f tokens/s | context: "
        "%lld/%lld\n",
        (long long)s.n_generated, per_second(s.n_generated, s.generate_seconds),
        (long long)s.n_prompt, per_second(s.n_prompt, s.prompt_seconds),
        (long long)session_.n_used(), (long long)session_.n_ctx());
    write_dim(stderr, styled_err_, line);
}

bool ChatApp::command(const std::string& line) {
    const size_t sp = line.find(' ');
    const std::string name = line.substr(0, sp);
    const std::string arg = sp == std::string::npos ? "" : trim(line.substr(sp + 1));
    if (name == "/exit" || name == "/quit") return false;
    if (name == "/help") {
        std::fputs(kHelp, stdout);
    } else if (name == "/clear") {
        messages_ = ojson::array();
        session_.reset();
        last_reasoning_.clear();
        note("new conversation" + std::string(system.empty() ? "" : " (same system prompt)"));
    } else if (name == "/system") {
        if (!arg.empty()) system = arg;
        note(system.empty() ? "no system prompt (set one with /system TEXT)"
                            : "system prompt: " + system);
    } else if (name == "/think") {
        set_think(arg);
    } else if (name == "/show") {
        if (last_reasoning_.empty())
            note("the last answer has no thinking to show");
        else
            write_dim(stdout, styled_out_, last_reasoning_ + "\n");
    } else if (name == "/stats") {
        print_stats();
    } else if (name == "/save" || name == "/load") {
        if (arg.empty())
            complain(name + " needs a FILE");
        else if (name == "/save")
            save(arg);
        else
            load(arg);
    } else {
        complain("unknown command '" + name + "' (/help lists the commands)");
    }
    std::fflush(stdout);
    return true;
}

void ChatApp::set_think(const std::string& arg) {
    if (!format_.supports_thinking()) {
        return complain("this model's chat template has no thinking switch");
    }
    if (arg == "on")
        think = true;
    else if (arg == "off")
        think = false;
    else if (!arg.empty())
        return complain("/think takes on or off");
    note(std::string("thinking: ") + (!think ? "the template's default" : *think ? "on" : "off"));
}

void ChatApp::save(const std::string& path) const {
    ojson doc = {{"model", engine_.reader->path()}, {"messages", conversation()}};
    std::ofstream out(path, std::ios::binary);
    out << doc.dump(2, ' ', false, ojson::error_handler_t::replace) << "\n";
    out.close();
    if (!out) return complain(path + ": cannot write the file");
    note(strfmt("saved %zu messages to %s", doc["messages"].size(), path.c_str()));
}

void ChatApp::load(const std::string& path) {
    auto text = read_file(path);
    if (!text.ok()) return complain(text.message());
    ojson doc = ojson::parse(*text, nullptr, false);
    if (doc.is_discarded()) return complain(path + ": not JSON");
    const ojson msgs = doc.is_object() && doc.contains("messages") ? doc["messages"] : doc;
    auto normalized = runtime::normalize_messages(msgs);
    if (!normalized.ok()) return complain(path + ": " + normalized.message());
    system.clear();
    messages_ = ojson::array();
    for (const ojson& m : *normalized) {
        if (m["role"] == "system" && messages_.empty() && system.empty())
            system = m["content"];
        else
            messages_.push_back(m);
    }
    last_reasoning_.clear();
    note(strfmt("loaded %zu messages from %s", normalized->size(), path.c_str()));
}

void ChatApp::print_stats() const {
    std::string s = strfmt("conversation: %zu messages%s\ncontext: %lld of %lld tokens used\n",
                           messages_.size(), system.empty() ? "" : " and a system prompt",
                           (long long)session_.n_used(), (long long)session_.n_ctx());
    if (last_) {
        s += strfmt(
            "last answer: %lld tokens at %.1f tokens/s; prompt: %lld tokens evaluated "
            "at %.1f tokens/s, %lld reused\n",
            (long long)last_->n_generated, per_second(last_->n_generated, last_->generate_seconds),
            (long long)last_->n_prompt, per_second(last_->n_prompt, last_->prompt_seconds),
            (long long)session_.n_reused());
    }
    s += strfmt("all answers: %lld tokens in %.1f s (%.1f tokens/s), %lld threads\n",
                (long long)total_generated_, total_seconds_,
                per_second(total_generated_, total_seconds_), (long long)opt_.threads);
    std::fputs(s.c_str(), stdout);
}

Result<runtime::Engine> load(const Args& args, const ChatOptions& opt) {
    if (args.has("--model"))
        return runtime::load_engine(args.get("--model"), int(opt.threads), true,
                                    load_progress(args.get("--model")));
    std::fprintf(stderr,
                 "hearth: no model given (-m): chatting with the built-in synthetic model, "
                 "a qwen3-architecture network with random weights. Its answers are word "
                 "salad; pass -m model.gguf for real ones.\n");
    auto bytes =
        runtime::synthetic_model_gguf(*runtime::synthetic_preset("demo"), 1234, int(opt.threads));
    if (!bytes.ok()) return bytes.status();
    return runtime::load_engine_from_bytes(std::move(bytes.value()), "<built-in synthetic model>",
                                           int(opt.threads));
}

Result<runtime::ChatFormat> chat_format(const Args& args, const runtime::Engine& engine) {
    if (!args.has("--chat-template")) return runtime::ChatFormat::from_engine(engine);
    auto source = read_file(args.get("--chat-template"));
    if (!source.ok()) return source.status();
    auto f = runtime::ChatFormat::from_source(std::move(source.value()), *engine.tokenizer);
    if (!f.ok()) return f.status().with_context(args.get("--chat-template"));
    return f;
}

bool styled(int fd) { return isatty(fd) && std::getenv("NO_COLOR") == nullptr; }

}  // namespace

int cmd_chat(int argc, char** argv) {
    const char* cmd = "chat";
    auto args = Args::parse(kFlags, argc, argv);
    if (!args.ok()) return usage_error(cmd, args.message());
    if (args->has("--help")) {
        print_help(
            cmd, "[-m MODEL] [options]",
            "Chats with a model in the terminal: line editing and history, the model's\n"
            "thinking shown dimmed while it streams and folded afterwards, the speed after\n"
            "each answer. Type /help in the chat for its commands. When stdin is not a\n"
            "terminal, each line is one message (scripts can drive it). Without -m, a small\n"
            "built-in model with random weights answers (meaningless text).",
            kFlags);
        return 0;
    }
    if (!args->positional().empty())
        return usage_error(
            cmd, "unexpected argument '" + args->positional()[0] + "' (give the model with -m)");
    auto opt = read_options(*args);
    if (!opt.ok()) return usage_error(cmd, opt.message());
    if (args->has("--chat-template") && !read_file(args->get("--chat-template")).ok())
        return usage_error(cmd, args->get("--chat-template") + ": cannot read the chat template");

    auto engine = load(*args, *opt);
    if (!engine.ok()) return fail(cmd, engine.message());
    auto format = chat_format(*args, *engine);
    if (!format.ok()) return fail(cmd, format.message());
    const model::Config& c = engine->model->config();
    int64_t n_ctx = opt->n_ctx > 0 ? opt->n_ctx : std::min<int64_t>(4096, c.n_ctx_train);
    if (n_ctx <= 0) n_ctx = 4096;
    const bool edit = isatty(STDIN_FILENO);
    if (styled(STDOUT_FILENO)) use_utf8_ctype();
    const std::string tpl = args->has("--chat-template")
                                ? "template " + args->get("--chat-template")
                            : format->builtin() ? "built-in template"
                                                : "the file's template";
    std::fprintf(stderr,
                 "hearth chat: %s (%s, %s, context %lld tokens). /help for commands, "
                 "Ctrl-D to quit.\n",
                 engine->reader->path().c_str(), c.arch.c_str(), tpl.c_str(), (long long)n_ctx);

    ChatApp app(std::move(engine.value()), std::move(format.value()), *opt, n_ctx,
                styled(STDOUT_FILENO), styled(STDERR_FILENO));
    app.system = args->get("--system");
    if (args->has("--no-think")) app.think = false;
    install_interrupt_handler();
    LineInput in(edit);
    app.run(in);
    if (edit) std::fputs("\n", stdout);
    return 0;
}

}  // namespace hearth::cli
