// Name binding with shape checks, and hyper-parameter reads with key names in every error.
#include "model/loader.h"

#include <algorithm>
#include <cstring>

#include "base/mapped_file.h"
#include "base/read_ahead.h"
#include "kernels/interleave.h"
#include "kernels/kernels.h"

namespace hearth::model {

kernels::WeightView Tensor::view() const {
    return {.type = info->type,
            .data = copy ? copy.get() : info->data,
            .n_in = info->ne[0],
            .n_out = info->n_rows(),
            .row_bytes = info->row_bytes(),
            .interleaved = interleaved};
}

kernels::WeightView Tensor::expert(int64_t e) const {
    kernels::WeightView v = view();
    v.n_out = info->ne[1];
    v.data += e * info->ne[1] * info->row_bytes();
    return v;
}

Tensor Binder::bind(const std::string& name, std::initializer_list<int64_t> shape, bool required,
                    Use use, int64_t view_rows) {
    const bool need_f32 = use == Use::Vector;
    if (!status_.ok()) return {};
    const gguf::TensorInfo* t = reader_.find_tensor(name);
    if (!t) {
        if (required) status_ = error("missing tensor '" + name + "'");
        return {};
    }
    bool same = true;
    int d = 0;
    for (int64_t want : shape) same = same && t->ne[d++] == want;
    for (; d < gguf::kMaxDims; ++d) same = same && t->ne[d] == 1;
    if (!same) {
        std::string want = "[";
        int k = 0;
        for (int64_t x : shape) want += (k++ ? ", " : "") + std::to_string(x);
        status_ = error(strfmt("tensor '%s': expected shape %s], got %s", name.c_str(),
                               want.c_str(), t->shape_string().c_str()));
        return {};
    }
    if (need_f32 && t->type != gguf::TensorType::F32) {
        status_ = error(strfmt("tensor '%s': expected type F32, got %s", name.c_str(),
                               std::string(gguf::type_name(t->type)).c_str()));
        return {};
    }
    if (!kernels::can_dequantize(t->type)) {
        status_ = error(strfmt("tensor '%s': type %s is not supported", name.c_str(),
                               std::string(gguf::type_name(t->type)).c_str()));
        return {};
    }
    Tensor bound{t};
    const size_t bytes = t->row_bytes() * static_cast<size_t>(t->n_rows());
    // A matrix is read whole; a stack of experts through views of view_rows rows within each
    // expert's ne[1], which must start and end on groups.
    const int64_t group_rows = use == Use::Stack ? view_rows : t->n_rows();
    const bool interleave =
        ((use == Use::Matrix && t->n_rows() == t->ne[1]) || (use == Use::Stack && copies_stacks_)) &&
        kernels::interleaved_kernels(t->type, kernels::current_isa()) &&
        kernels::can_interleave(t->type, t->ne[0], group_rows) && t->ne[1] % group_rows == 0;
    if (interleave || (need_f32 && copies_)) {
        if (uint8_t* copy = arena_bytes(bytes)) {
            if (interleave) {
                // Group by group on the pool's threads: a stack of experts is gigabytes.
                const size_t row_bytes = t->row_bytes();
                const int64_t n_groups = t->n_rows() / kernels::kInterleaveRows;
                pool_.for_range(n_groups, kernels::kInterleaveRows * row_bytes,
                                [&](int64_t g0, int64_t g1) {
                    const size_t at = g0 * kernels::kInterleaveRows * row_bytes;
                    kernels::interleave(t->type, t->ne[0], (g1 - g0) * kernels::kInterleaveRows,
                                        t->data + at, copy + at);
                });
            }
            else std::memcpy(copy, t->data, bytes);
            bound.copy = std::shared_ptr<const uint8_t>(arena_, copy);
            bound.interleaved = interleave;
            // Its own whole pages at once (the destructor takes the rest), so that loading
            // does not hold both copies of a large model.
            reader_.release_pages(t->data, bytes);
        }
    }
    if (!bound.copy) kept_.emplace_back(t->data, bytes);
    bound_bytes_ += bytes;
    if (progress_) progress_(bound_bytes_, reader_.tensor_bytes().size());
    return bound;
}

Binder::Binder(const gguf::Reader& reader, ThreadPool& pool, LoadProgress progress)
    : reader_(reader),
      pool_(pool),
      copies_(kernels::has_interleaved_kernels(kernels::current_isa())),
      copies_stacks_(copies_ && read_ahead_fits(reader.tensor_bytes().size(), mem_available_bytes())),
      progress_(std::move(progress)) {}

uint8_t* Binder::arena_bytes(size_t bytes) {
    const size_t at = (arena_used_ + 63) / 64 * 64;
    if (arena_ == nullptr || at + bytes > arena_size_) {
        arena_size_ = std::max(kArenaBytes, bytes);
        arena_ = huge_buffer(arena_size_);
        arena_used_ = 0;
        if (arena_ == nullptr) return nullptr;
    } else {
        arena_used_ = at;
    }
    uint8_t* p = arena_.get() + arena_used_;
    arena_used_ += bytes;
    return p;
}

Binder::~Binder() {
    if (arena_ == nullptr) return;
    // The file's bytes between the tensors still read from it (the ones not copied) are no
    // longer needed: their whole 2 MiB pages go back (a page shared with a kept tensor stays,
    // so as not to split the huge page it is read through).
    std::sort(kept_.begin(), kept_.end());
    const std::span<const uint8_t> data = reader_.tensor_bytes();
    const uint8_t* from = data.data();
    for (const auto& [p, n] : kept_) {
        if (p > from) reader_.release_pages(from, static_cast<size_t>(p - from));
        from = std::max(from, p + n);
    }
    const uint8_t* end = data.data() + data.size();
    if (end > from) reader_.release_pages(from, static_cast<size_t>(end - from));
}

Tensor Binder::req(const std::string& name, std::initializer_list<int64_t> shape) {
    return bind(name, shape, true, Use::Matrix);
}
Tensor Binder::opt(const std::string& name, std::initializer_list<int64_t> shape) {
    return bind(name, shape, false, Use::Matrix);
}
std::pair<Tensor, Tensor> Binder::embeddings(int64_t n_embd, int64_t n_vocab) {
    Tensor output = opt("output.weight", {n_embd, n_vocab});
    Tensor table = bind("token_embd.weight", {n_embd, n_vocab}, true,
                        output ? Use::Table : Use::Matrix);
    return {table, output ? output : table};
}
Tensor Binder::experts(const std::string& name, std::initializer_list<int64_t> shape,
                       bool required, int64_t view_rows) {
    return bind(name, shape, required, Use::Stack, view_rows);
}
Tensor Binder::req_f32(const std::string& name, std::initializer_list<int64_t> shape) {
    return bind(name, shape, true, Use::Vector);
}
Tensor Binder::opt_f32(const std::string& name, std::initializer_list<int64_t> shape) {
    return bind(name, shape, false, Use::Vector);
}

int64_t Hparams::u(const std::string& suffix) {
    auto r = reader_.get_uint(arch_ + "." + suffix);
    if (!r.ok()) {
        if (status_.ok()) status_ = r.status();
        return 0;
    }
    if (*r > (uint64_t{1} << 40)) fail(arch_ + "." + suffix + ": absurd value " + std::to_string(*r));
    return static_cast<int64_t>(*r);
}

int64_t Hparams::u_or(const std::string& suffix, int64_t def) {
    return reader_.find(arch_ + "." + suffix) ? u(suffix) : def;
}

float Hparams::f(const std::string& suffix) {
    auto r = reader_.get_float(arch_ + "." + suffix);
    if (!r.ok()) {
        if (status_.ok()) status_ = r.status();
        return 0;
    }
    return static_cast<float>(*r);
}

float Hparams::f_or(const std::string& suffix, float def) {
    return reader_.find(arch_ + "." + suffix) ? f(suffix) : def;
}

void Hparams::fail(const std::string& message) {
    if (status_.ok()) status_ = error(message);
}

Config load_common_config(const gguf::Reader& reader, Hparams& hp, const std::string& arch) {
    Config c;
    c.arch = arch;
    c.n_layer = hp.u("block_count");
    c.n_ctx_train = hp.u("context_length");
    c.n_embd = hp.u("embedding_length");
    c.n_head = hp.u("attention.head_count");
    c.n_head_kv = hp.u_or("attention.head_count_kv", c.n_head);
    c.rms_eps = hp.f("attention.layer_norm_rms_epsilon");
    c.rope_theta = hp.f_or("rope.freq_base", 10000.0f);
    if (const gguf::TensorInfo* emb = reader.find_tensor("token_embd.weight"))
        c.n_vocab = emb->ne[1];
    if (!hp.status().ok()) return c;
    if (c.n_layer <= 0) hp.fail(arch + ".block_count: must be positive");
    if (c.n_embd <= 0) hp.fail(arch + ".embedding_length: must be positive");
    if (c.n_head <= 0) hp.fail(arch + ".attention.head_count: must be positive");
    if (c.n_head_kv <= 0 || (c.n_head > 0 && c.n_head % c.n_head_kv != 0))
        hp.fail(strfmt("%s.attention.head_count_kv: %lld does not divide head_count %lld",
                       arch.c_str(), (long long)c.n_head_kv, (long long)c.n_head));
    if (c.n_vocab <= 0) hp.fail("missing tensor 'token_embd.weight'");
    if (!(c.rms_eps > 0)) hp.fail(arch + ".attention.layer_norm_rms_epsilon: must be positive");
    return c;
}

}  // namespace hearth::model
