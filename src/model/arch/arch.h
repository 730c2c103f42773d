// The architecture registry's entries (one loader per arch file) and shared config checks.
#pragma once

#include <memory>

#include "model/loader.h"
#include "model/model.h"

namespace hearth::model {

Result<std::unique_ptr<Model>> load_llama(const gguf::Reader& reader, ThreadPool& pool,
                                          const LoadProgress& progress);
Result<std::unique_ptr<Model>> load_qwen2(const gguf::Reader& reader, ThreadPool& pool,
                                          const LoadProgress& progress);
Result<std::unique_ptr<Model>> load_qwen3(const gguf::Reader& reader, ThreadPool& pool,
                                          const LoadProgress& progress);
Result<std::unique_ptr<Model>> load_qwen3moe(const gguf::Reader& reader, ThreadPool& pool,
                                             const LoadProgress& progress);
Result<std::unique_ptr<Model>> load_qwen35(const gguf::Reader& reader, ThreadPool& pool,
                                           const LoadProgress& progress);
Result<std::unique_ptr<Model>> load_qwen35moe(const gguf::Reader& reader, ThreadPool& pool,
                                              const LoadProgress& progress);

// Checks the hyper-parameters a softmax-attention decoder needs; returns hp's first error.
Status check_attention_config(const Config& c, Hparams& hp);

}  // namespace hearth::model
