// What a command shows while a model loads: on a terminal, once loading has taken half a
// second, "hearth: loading NAME  42%" on one line of stderr, cleared when the weights are
// bound. Nothing elsewhere (pipes, logs, tests) and nothing for a quick load.
#pragma once

#include <string>

#include "model/model.h"

namespace hearth::cli {

// For the model file at path (shown by its file name).
model::LoadProgress load_progress(const std::string& path);

}  // namespace hearth::cli
