// The architecture registry's entries (one loader per arch file) and shared config checks.
#pragma once

#include <memory>

#include "model/loader.h"
#include "model/model.h"

namespace hearth::model {

// What each architecture file defines: the model built from reader's tensors, progress hearing
// of each one bound (model.h).
using ArchLoader = Result<std::unique_ptr<Model>>(const gguf::Reader& reader, ThreadPool& pool,
                                                  const LoadProgress& progress);
ArchLoader load_llama, load_qwen2, load_qwen3, load_qwen3moe, load_qwen35, load_qwen35moe;

// Checks the hyper-parameters a softmax-attention decoder needs; returns hp's first error.
Status check_attention_config(const Config& c, Hparams& hp);

}  // namespace hearth::model
