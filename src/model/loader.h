// Helpers the architecture files use to read hyper-parameters and bind tensors by name.
// Both record the first error and carry on, so a loader reads like a list of declarations
// and reports one precise message at the end ("blk.3.attn_q.weight: expected [256, 256] ...").
#pragma once

#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "gguf/reader.h"
#include "kernels/matmul.h"
#include "model/model.h"

namespace hearth::model {

// A weight bound to its bytes in the mapped file, or to a copy made at load (see Binder).
struct Tensor {
    const gguf::TensorInfo* info = nullptr;
    std::shared_ptr<const uint8_t> copy;  // nullptr: the bytes are the file's
    bool interleaved = false;             // copy is rearranged for the kernels

    explicit operator bool() const { return info != nullptr; }
    kernels::WeightView view() const;  // as a matrix: ne[0] columns, the rest rows
    const float* f32() const {
        return reinterpret_cast<const float*>(copy ? copy.get() : info->data);
    }
    // The 2-D matrix of expert e of a 3-D tensor.
    kernels::WeightView expert(int64_t e) const;
};

class Binder {
   public:
    // progress, when given, hears of each tensor bound (model.h's LoadProgress); pool's
    // threads rearrange the copies.
    Binder(const gguf::Reader& reader, ThreadPool& pool, LoadProgress progress = {});
    // Releases the mapped pages that only copied tensors used.
    ~Binder();
    Binder(const Binder&) = delete;
    Binder& operator=(const Binder&) = delete;

    // A tensor that must exist with exactly this shape (trailing 1s are ignored).
    Tensor req(const std::string& name, std::initializer_list<int64_t> shape);
    // The same, but absence is fine.
    Tensor opt(const std::string& name, std::initializer_list<int64_t> shape);
    // A 3-D stack of experts' matrices, read through views of view_rows rows each (an
    // expert's, or part of one): interleaved only when every view starts and ends on a group.
    Tensor experts(const std::string& name, std::initializer_list<int64_t> shape, bool required,
                   int64_t view_rows);
    // token_embd.weight and the output head, output.weight, both [n_embd, n_vocab]. Without a
    // head of its own the model multiplies by its embeddings (tied): then both are the one
    // matrix. Otherwise the embeddings are a table whose rows are read one at a time (get_row),
    // left as mapped so that only the rows a prompt uses are read.
    std::pair<Tensor, Tensor> embeddings(int64_t n_embd, int64_t n_vocab);
    // Norms, biases and other vectors must be F32 (the converter never quantizes them).
    Tensor req_f32(const std::string& name, std::initializer_list<int64_t> shape);
    Tensor opt_f32(const std::string& name, std::initializer_list<int64_t> shape);

    Status status() const { return status_; }

   private:
    enum class Use { Matrix, Stack, Table, Vector };  // Vector: F32 only
    Tensor bind(const std::string& name, std::initializer_list<int64_t> shape, bool required,
                Use use, int64_t view_rows = 0);
    // Where the kernels matmul() uses have a faster layout for a matrix (kernels/interleave.h),
    // bind copies it rearranged; then F32 vectors are copied too, so that the file's pages
    // those tensors lie in can all be released. Copies are laid end to end in arenas of huge
    // pages: one map per matrix would leave small ones on 4 KiB pages, where streaming them
    // walks a page table entry every 4 KiB and the hardware prefetcher stops at each.
    uint8_t* arena_bytes(size_t bytes);  // nullptr if no memory
    static constexpr size_t kArenaBytes = size_t{64} << 20;
    const gguf::Reader& reader_;
    ThreadPool& pool_;
    const bool copies_;  // some weight type is interleaved on this ISA
    // Expert stacks are copied only when the whole file fits in memory with room to spare
    // (read_ahead_fits). A token reads a few experts of each stack; a model larger than
    // memory runs from the mapped file, whose cold experts the system can drop, where copies
    // could not be.
    const bool copies_stacks_;
    const LoadProgress progress_;
    size_t bound_bytes_ = 0;
    Status status_;
    std::shared_ptr<uint8_t> arena_;
    size_t arena_size_ = 0, arena_used_ = 0;
    std::vector<std::pair<const uint8_t*, size_t>> kept_;  // bound tensors read from the file
};

// Reads "<arch>.<suffix>" keys; the first failure is kept.
class Hparams {
   public:
    Hparams(const gguf::Reader& reader, std::string arch) : reader_(reader), arch_(std::move(arch)) {}
    int64_t u(const std::string& suffix);                 // required unsigned integer
    int64_t u_or(const std::string& suffix, int64_t def);
    float f(const std::string& suffix);                   // required float
    float f_or(const std::string& suffix, float def);
    Status status() const { return status_; }
    // Records a failed consistency check, e.g. "head_count 0".
    void fail(const std::string& message);

   private:
    const gguf::Reader& reader_;
    std::string arch_;
    Status status_;
};

// Reads the keys every decoder has into a Config (vocab size from the token list or
// token_embd). Arch-specific checks are the caller's.
Config load_common_config(const gguf::Reader& reader, Hparams& hp, const std::string& arch);

}  // namespace hearth::model
