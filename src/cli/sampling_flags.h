// The sampling flags hearth run and hearth chat share: their --help lines and one reader
// with the range checks.
#pragma once

#include <vector>

#include "cli/args.h"
#include "runtime/sampler.h"

namespace hearth::cli {

// --temp, --top-k, --top-p, --min-p, the three penalties and --seed (whose help line is
// `seed_help`, as the commands use the seed differently).
std::vector<FlagSpec> sampling_flags(const char* seed_help);

// The sampler settings those flags give, or an error naming what is out of range.
Result<runtime::SamplerParams> read_sampling(const Args& a);

}  // namespace hearth::cli
