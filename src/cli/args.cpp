// Flag parsing for the hearth subcommands.
#include "cli/args.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <sstream>

namespace hearth::cli {

namespace {

std::vector<std::string> split_names(const std::string& names) {
    std::vector<std::string> out;
    std::stringstream ss(names);
    for (std::string n; std::getline(ss, n, ',');) out.push_back(n);
    return out;
}

const FlagSpec* find_spec(const std::vector<FlagSpec>& specs, const std::string& name) {
    for (const auto& s : specs) {
        for (const auto& n : split_names(s.names)) {
            if (n == name) return &s;
        }
    }
    return nullptr;
}

std::string key_of(const FlagSpec& s) { return split_names(s.names).back(); }

}  // namespace

Result<Args> Args::parse(const std::vector<FlagSpec>& specs, int argc, char** argv) {
    Args a;
    a.specs_ = specs;
    bool only_positional = false;
    for (int i = 0; i < argc; ++i) {
        std::string arg = argv[i];
        if (only_positional || arg.size() < 2 || arg[0] != '-' ||
            (arg[1] >= '0' && arg[1] <= '9')) {
            a.positional_.push_back(arg);
            continue;
        }
        if (arg == "--") {
            only_positional = true;
            continue;
        }
        std::string value;
        bool has_inline = false;
        if (auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
            value = arg.substr(eq + 1);
            arg = arg.substr(0, eq);
            has_inline = true;
        }
        const FlagSpec* spec = find_spec(specs, arg);
        if (!spec) return error("unknown option '" + arg + "'");
        if (spec->value.empty()) {
            if (has_inline) return error("option '" + arg + "' takes no value");
            a.values_[key_of(*spec)] = "1";
            continue;
        }
        if (!has_inline) {
            if (i + 1 >= argc) return error("option '" + arg + "' needs a value (" + spec->value + ")");
            value = argv[++i];
        }
        a.values_[key_of(*spec)] = value;
    }
    return a;
}

bool Args::has(const std::string& name) const {
    const FlagSpec* s = find_spec(specs_, name);
    return s && values_.count(key_of(*s));
}

std::string Args::get(const std::string& name, const std::string& def) const {
    const FlagSpec* s = find_spec(specs_, name);
    if (!s) return def;
    auto it = values_.find(key_of(*s));
    return it == values_.end() ? def : it->second;
}

Result<int64_t> Args::get_int(const std::string& name, int64_t def) const {
    if (!has(name)) return def;
    std::string v = get(name);
    errno = 0;
    char* end = nullptr;
    long long x = std::strtoll(v.c_str(), &end, 10);
    if (v.empty() || *end != '\0' || errno != 0)
        return error("option '" + name + "' expects an integer, got '" + v + "'");
    return static_cast<int64_t>(x);
}

Result<double> Args::get_float(const std::string& name, double def) const {
    if (!has(name)) return def;
    std::string v = get(name);
    errno = 0;
    char* end = nullptr;
    double x = std::strtod(v.c_str(), &end);
    if (v.empty() || *end != '\0' || errno != 0)
        return error("option '" + name + "' expects a number, got '" + v + "'");
    return x;
}

void print_help(const std::string& command, const std::string& synopsis,
                const std::string& description, const std::vector<FlagSpec>& specs) {
    std::printf("usage: hearth %s %s\n\n%s\n", command.c_str(), synopsis.c_str(),
                description.c_str());
    if (specs.empty()) return;
    std::printf("\noptions:\n");
    for (const auto& s : specs) {
        std::string left = s.names + (s.value.empty() ? "" : " " + s.value);
        std::printf("  %-24s %s\n", left.c_str(), s.help.c_str());
    }
}

int usage_error(const std::string& command, const std::string& message) {
    std::fprintf(stderr, "hearth %s: %s\n(see 'hearth %s --help')\n", command.c_str(),
                 message.c_str(), command.c_str());
    return kExitUsage;
}

int fail(const std::string& command, const std::string& message) {
    std::fprintf(stderr, "hearth %s: error: %s\n", command.c_str(), message.c_str());
    return kExitError;
}

}  // namespace hearth::cli
