// Loading: map, parse, bind weights, build the tokenizer, and time it.
#include "runtime/engine.h"

#include <chrono>

namespace hearth::runtime {

namespace {

Result<Engine> load(Result<gguf::Reader> reader, int n_threads, bool need_tokenizer,
                    std::chrono::steady_clock::time_point t0, const model::LoadProgress& progress,
                    std::unique_ptr<ReadAhead> read_ahead) {
    if (!reader.ok()) return reader.status();
    Engine e;
    e.read_ahead = std::move(read_ahead);
    e.reader = std::make_unique<gguf::Reader>(std::move(reader.value()));
    e.pool = std::make_unique<ThreadPool>(n_threads);
    auto m = model::load_model(*e.reader, *e.pool, progress);
    if (!m.ok()) return m.status();
    e.model = std::move(m.value());
    if (e.reader->find("tokenizer.ggml.model")) {
        auto tok = text::Tokenizer::from_gguf(*e.reader);
        if (!tok.ok()) return tok.status().with_context(e.reader->path());
        e.tokenizer = std::make_unique<text::Tokenizer>(std::move(tok.value()));
        if (e.tokenizer->n_vocab() < e.model->config().n_vocab)
            return error(strfmt("%s: tokenizer has %d tokens but the model outputs %lld",
                                e.reader->path().c_str(), e.tokenizer->n_vocab(),
                                (long long)e.model->config().n_vocab));
    } else if (need_tokenizer) {
        return error(e.reader->path() + ": the file has no tokenizer (tokenizer.ggml.model)");
    }
    e.load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return e;
}

}  // namespace

Result<Engine> load_engine(const std::string& path, int n_threads, bool need_tokenizer,
                           const model::LoadProgress& progress) {
    auto t0 = std::chrono::steady_clock::now();
    auto read_ahead = ReadAhead::of_file(path);
    return load(gguf::Reader::open(path), n_threads, need_tokenizer, t0, progress,
                std::move(read_ahead));
}

Result<Engine> load_engine_from_bytes(std::string bytes, const std::string& name, int n_threads) {
    auto t0 = std::chrono::steady_clock::now();
    return load(gguf::Reader::from_file(MappedFile::from_bytes(std::move(bytes), name)), n_threads,
                true, t0, {}, nullptr);
}

}  // namespace hearth::runtime
