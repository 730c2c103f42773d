// Helpers shared by the model tests: load a model from GGUF bytes built in the test, and
// expect a load error that names what is wrong.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "gguf/reader.h"
#include "model/model.h"

namespace hearth::model {

struct Loaded {
    std::unique_ptr<gguf::Reader> reader;  // the model's weights point into it
    Result<std::unique_ptr<Model>> model = error("not loaded");
};

inline Loaded load_bytes(std::string bytes, ThreadPool& pool) {
    Loaded l;
    auto r = gguf::Reader::from_file(MappedFile::from_bytes(std::move(bytes), "tiny.gguf"));
    EXPECT_TRUE(r.ok()) << r.message();
    if (!r.ok()) return l;
    l.reader = std::make_unique<gguf::Reader>(std::move(r.value()));
    l.model = load_model(*l.reader, pool);
    return l;
}

inline void expect_load_error_bytes(std::string bytes, const std::string& needle) {
    ThreadPool pool(1);
    Loaded l = load_bytes(std::move(bytes), pool);
    ASSERT_FALSE(l.model.ok()) << "expected: " << needle;
    EXPECT_NE(l.model.message().find(needle), std::string::npos) << l.model.message();
}

}  // namespace hearth::model
