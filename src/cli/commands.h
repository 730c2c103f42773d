// The hearth subcommands, one file each (cmd_<name>.cpp). main.cpp holds the table.
#pragma once

namespace hearth::cli {

// Each takes the arguments after the subcommand name and returns the exit status.
int cmd_inspect(int argc, char** argv);
int cmd_tokenize(int argc, char** argv);
int cmd_run(int argc, char** argv);
int cmd_logits(int argc, char** argv);
int cmd_bench(int argc, char** argv);
int cmd_serve(int argc, char** argv);
int cmd_chat(int argc, char** argv);

}  // namespace hearth::cli
