// hearth: entry point and subcommand table.
#include <cstdio>
#include <cstring>
#include <string>

#include "cli/args.h"
#include "cli/commands.h"
#include "kernels/dispatch.h"

namespace {

struct Command {
    const char* name;
    int (*run)(int argc, char** argv);
    const char* summary;
};

constexpr Command kCommands[] = {
    {"run", hearth::cli::cmd_run, "generate text from a prompt (built-in demo model without -m)"},
    {"chat", hearth::cli::cmd_chat, "chat with a model in the terminal (thinking shown folded)"},
    {"inspect", hearth::cli::cmd_inspect, "show a GGUF file: metadata, tensors, sizes"},
    {"tokenize", hearth::cli::cmd_tokenize, "turn text into token ids with a model's tokenizer"},
    {"logits", hearth::cli::cmd_logits, "evaluate tokens and write every position's logits (.npy)"},
    {"bench", hearth::cli::cmd_bench, "prompt and generation speed in tokens/s (llama-bench style)"},
    {"serve", hearth::cli::cmd_serve, "serve the OpenAI and Anthropic APIs over HTTP (127.0.0.1)"},
};

void print_usage(FILE* out) {
    std::fprintf(out,
                 "hearth %s: run open-weight language models on this machine's CPU\n\n"
                 "usage: hearth <command> [options]\n\ncommands:\n",
                 "0.1.0");
    for (const auto& c : kCommands) std::fprintf(out, "  %-10s %s\n", c.name, c.summary);
    std::fprintf(out, "\n'hearth <command> --help' explains each command and its options.\n");
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        print_usage(stderr);
        return hearth::cli::kExitUsage;
    }
    std::string cmd = argv[1];
    if (cmd == "-h" || cmd == "--help" || cmd == "help") {
        print_usage(stdout);
        return 0;
    }
    if (cmd == "--version") {
        std::printf("hearth 0.1.0\n");
        return 0;
    }
    for (const auto& c : kCommands) {
        if (cmd != c.name) continue;
        // HEARTH_ISA is checked for every command, even one that runs no kernels (inspect,
        // tokenize): a bad value exits with status 2 instead of being ignored.
        hearth::kernels::active_isa();
        return c.run(argc - 2, argv + 2);
    }
    std::fprintf(stderr, "hearth: unknown command '%s'\n\n", cmd.c_str());
    print_usage(stderr);
    return hearth::cli::kExitUsage;
}
