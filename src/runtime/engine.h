// A loaded model with everything it needs to run: the mapped file, the thread pool, the
// weights bound into it, and its tokenizer. The faces (CLI, server) start from here.
#pragma once

#include <memory>
#include <string>

#include "base/read_ahead.h"
#include "base/thread_pool.h"
#include "gguf/reader.h"
#include "model/model.h"
#include "text/tokenizer.h"

namespace hearth::runtime {

struct Engine {
    std::unique_ptr<gguf::Reader> reader;
    std::unique_ptr<ThreadPool> pool;
    std::unique_ptr<model::Model> model;
    std::unique_ptr<text::Tokenizer> tokenizer;  // null when the file carries none
    double load_seconds = 0;
    // The file read into the page cache in the background (base/read_ahead.h); null when it
    // would not fit in the memory available.
    std::unique_ptr<ReadAhead> read_ahead;
};

// Opens a GGUF file and loads the model (and tokenizer when present) with n_threads; progress,
// when given, hears of the weights as they are bound (model::LoadProgress). The file's read
// into the page cache starts first, so the load and the first prompts find it there.
Result<Engine> load_engine(const std::string& path, int n_threads, bool need_tokenizer,
                           const model::LoadProgress& progress = {});
// The same from bytes in memory (the built-in synthetic model).
Result<Engine> load_engine_from_bytes(std::string bytes, const std::string& name, int n_threads);

}  // namespace hearth::runtime
