// A small command-line parser for the subcommands: flags with values, booleans, positionals.
// Usage errors print one line plus a hint and exit with status 2.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/status.h"

namespace hearth::cli {

inline constexpr int kExitError = 1;
inline constexpr int kExitUsage = 2;

struct FlagSpec {
    std::string names;  // "-m,--model"
    std::string value;  // "" for a boolean flag, else the value's name for --help ("FILE")
    std::string help;
};

class Args {
   public:
    // Parses argv (after the subcommand name). On a usage error returns a message.
    static Result<Args> parse(const std::vector<FlagSpec>& specs, int argc, char** argv);

    bool has(const std::string& name) const;  // name as written in the spec, e.g. "--model"
    std::string get(const std::string& name, const std::string& def = "") const;
    Result<int64_t> get_int(const std::string& name, int64_t def) const;
    Result<double> get_float(const std::string& name, double def) const;
    const std::vector<std::string>& positional() const { return positional_; }

   private:
    std::map<std::string, std::string> values_;  // keyed by the long name (or the only name)
    std::vector<std::string> positional_;
    std::vector<FlagSpec> specs_;
};

// Prints "usage: hearth <cmd> <synopsis>", the description and the flag table.
void print_help(const std::string& command, const std::string& synopsis,
                const std::string& description, const std::vector<FlagSpec>& specs);
// Prints "hearth <cmd>: <message>" and a hint to --help; returns kExitUsage.
int usage_error(const std::string& command, const std::string& message);
// Prints "hearth <cmd>: error: <message>"; returns kExitError.
int fail(const std::string& command, const std::string& message);

}  // namespace hearth::cli
