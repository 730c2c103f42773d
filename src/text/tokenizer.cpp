// Tokenizer: loads the vocabulary from GGUF, splits special tokens, dispatches to the BPE or
// SentencePiece model, and renders ids back to bytes.
#include "text/tokenizer.h"

#include <optional>

#include "text/bpe.h"
#include "text/spm.h"
#include "text/vocab.h"

namespace hearth::text {

namespace {

// Token texts that end generation when the vocabulary marks them as control tokens.
constexpr std::string_view kEogTexts[] = {
    "<|im_end|>",  "<|endoftext|>", "<|eot_id|>", "<|end_of_text|>",
    "<|fim_pad|>", "<|eom_id|>",    "</s>"};

Status load_types(const gguf::Reader& reader, Vocab* v) {
    const size_t n = v->text.size();
    v->type.assign(n, TokenType::Normal);
    if (reader.find("tokenizer.ggml.token_type")) {
        Result<const gguf::Array*> types = reader.get_array("tokenizer.ggml.token_type");
        if (!types.ok()) return types.status();
        const gguf::Array& a = **types;
        if (a.elem_type == gguf::ValueType::String || a.elem_type == gguf::ValueType::Array ||
            a.elem_type == gguf::ValueType::F32 || a.elem_type == gguf::ValueType::F64)
            return error("tokenizer.ggml.token_type: expected an integer array");
        if (a.count != n)
            return error(strfmt("tokenizer.ggml.token_type: %llu entries for %zu tokens",
                                static_cast<unsigned long long>(a.count), n));
        for (size_t i = 0; i < n; ++i) {
            int64_t t = gguf::array_int(a, i);
            // Unknown type codes (0 "undefined" included) are treated as normal text.
            v->type[i] = (t >= 1 && t <= 6) ? static_cast<TokenType>(t) : TokenType::Normal;
        }
    }
    v->score.assign(n, 0.0f);
    if (reader.find("tokenizer.ggml.scores")) {
        Result<const gguf::Array*> scores = reader.get_array("tokenizer.ggml.scores");
        if (!scores.ok()) return scores.status();
        const gguf::Array& a = **scores;
        if (a.elem_type != gguf::ValueType::F32 && a.elem_type != gguf::ValueType::F64)
            return error("tokenizer.ggml.scores: expected a float array");
        if (a.count != n)
            return error(strfmt("tokenizer.ggml.scores: %llu entries for %zu tokens",
                                static_cast<unsigned long long>(a.count), n));
        for (size_t i = 0; i < n; ++i) v->score[i] = static_cast<float>(gguf::array_float(a, i));
    }
    return {};
}

Result<Vocab> load_vocab(const gguf::Reader& reader) {
    Result<const gguf::Array*> tokens = reader.get_array("tokenizer.ggml.tokens");
    if (!tokens.ok()) return tokens.status();
    const gguf::Array& a = **tokens;
    if (a.elem_type != gguf::ValueType::String)
        return error("tokenizer.ggml.tokens: expected an array of strings");
    if (a.strings.empty()) return error("tokenizer.ggml.tokens: the vocabulary is empty");
    if (a.strings.size() > 0x7FFFFFFF) return error("tokenizer.ggml.tokens: too many tokens");
    Vocab v;
    v.text.reserve(a.strings.size());
    v.id_of.reserve(a.strings.size());
    for (size_t i = 0; i < a.strings.size(); ++i) {
        v.text.emplace_back(a.strings[i]);
        v.id_of[v.text.back()] = static_cast<int32_t>(i);
    }
    HEARTH_RETURN_IF_ERROR(load_types(reader, &v));
    return v;
}

// An optional token id key: -1 when absent, an error when present but out of range.
Result<int32_t> optional_id(const gguf::Reader& reader, std::string_view key, int32_t n_vocab) {
    if (!reader.find(key)) return -1;
    Result<uint64_t> v = reader.get_uint(key);
    if (!v.ok()) return v.status();
    if (*v >= static_cast<uint64_t>(n_vocab))
        return error(strfmt("%.*s: id %llu is outside the vocabulary (%d tokens)",
                            static_cast<int>(key.size()), key.data(),
                            static_cast<unsigned long long>(*v), n_vocab));
    return static_cast<int32_t>(*v);
}

}  // namespace

struct Tokenizer::Impl {
    Vocab vocab;
    SpecialMatcher special;
    std::optional<BpeModel> bpe;
    std::optional<SpmModel> spm;
    std::vector<std::string> pieces;  // (n_vocab) bytes of each token, control text included
    std::vector<bool> eog;            // (n_vocab)
    int32_t bos = -1;
    int32_t eos = -1;
    bool add_bos = false;

    Status load_ids(const gguf::Reader& reader);
    void build_pieces();
};

Status Tokenizer::Impl::load_ids(const gguf::Reader& reader) {
    const int32_t n = vocab.size();
    Result<int32_t> b = optional_id(reader, "tokenizer.ggml.bos_token_id", n);
    if (!b.ok()) return b.status();
    Result<int32_t> e = optional_id(reader, "tokenizer.ggml.eos_token_id", n);
    if (!e.ok()) return e.status();
    Result<int32_t> eot = optional_id(reader, "tokenizer.ggml.eot_token_id", n);
    if (!eot.ok()) return eot.status();
    bos = *b;
    eos = *e;
    eog.assign(static_cast<size_t>(n), false);
    if (eos >= 0) eog[eos] = true;
    if (*eot >= 0) eog[*eot] = true;
    for (std::string_view t : kEogTexts) {
        int32_t id = vocab.find(t);
        if (id >= 0 && vocab.type[id] == TokenType::Control) eog[id] = true;
    }
    return {};
}

void Tokenizer::Impl::build_pieces() {
    pieces.resize(vocab.text.size());
    for (size_t id = 0; id < vocab.text.size(); ++id) {
        const std::string& t = vocab.text[id];
        switch (vocab.type[id]) {
            case TokenType::Normal:
                pieces[id] = bpe ? BpeModel::decode_text(t) : SpmModel::decode_text(t);
                break;
            case TokenType::Control:
            case TokenType::UserDefined:
            case TokenType::Unknown:
                pieces[id] = t;
                break;
            case TokenType::Byte: {
                int b = spm ? SpmModel::parse_byte_token(t) : -1;
                if (b >= 0) pieces[id] = std::string(1, static_cast<char>(b));
                break;
            }
            case TokenType::Unused:
                break;
        }
    }
}

Result<Tokenizer> Tokenizer::from_gguf(const gguf::Reader& reader) {
    Result<std::string_view> model = reader.get_string("tokenizer.ggml.model");
    if (!model.ok()) return model.status();
    auto impl = std::make_unique<Impl>();
    Result<Vocab> vocab = load_vocab(reader);
    if (!vocab.ok()) return vocab.status();
    impl->vocab = std::move(vocab.value());
    const Vocab& v = impl->vocab;
    if (*model == "gpt2") {
        std::string_view pre = "default";
        if (reader.find("tokenizer.ggml.pre")) {
            Result<std::string_view> p = reader.get_string("tokenizer.ggml.pre");
            if (!p.ok()) return p.status();
            pre = *p;
        }
        Result<const gguf::Array*> merges = reader.get_array("tokenizer.ggml.merges");
        if (!merges.ok()) return merges.status();
        Result<BpeModel> bpe = BpeModel::create(v, **merges, pre);
        if (!bpe.ok()) return bpe.status();
        impl->bpe.emplace(std::move(bpe.value()));
    } else if (*model == "llama") {
        Result<int32_t> unk = optional_id(reader, "tokenizer.ggml.unknown_token_id", v.size());
        if (!unk.ok()) return unk.status();
        Result<bool> prefix = reader.get_bool_or("tokenizer.ggml.add_space_prefix", true);
        if (!prefix.ok()) return prefix.status();
        impl->spm.emplace(SpmModel::create(v, *prefix, *unk));
    } else {
        return error("tokenizer.ggml.model: unsupported tokenizer '" + std::string(*model) +
                     "' (known: gpt2, llama)");
    }
    HEARTH_RETURN_IF_ERROR(impl->load_ids(reader));
    Result<bool> add_bos =
        reader.get_bool_or("tokenizer.ggml.add_bos_token", impl->spm.has_value());
    if (!add_bos.ok()) return add_bos.status();
    impl->add_bos = *add_bos;
    impl->special.build(v);
    impl->build_pieces();
    return Tokenizer(std::move(impl));
}

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool parse_special) const {
    std::vector<Fragment> fragments;
    impl_->special.split(impl_->vocab, text, parse_special, &fragments);
    std::vector<int32_t> ids;
    ids.reserve(text.size() / 3 + 1);
    bool after_special = true;
    for (const Fragment& f : fragments) {
        if (f.token >= 0) {
            ids.push_back(f.token);
            after_special = true;
            continue;
        }
        if (impl_->bpe) {
            impl_->bpe->encode(impl_->vocab, f.text, &ids);
        } else {
            impl_->spm->encode(impl_->vocab, f.text, after_special, &ids);
        }
        after_special = false;
    }
    return ids;
}

std::string Tokenizer::token_to_piece(int32_t id, bool render_special) const {
    if (id < 0 || id >= n_vocab()) return {};
    TokenType t = impl_->vocab.type[id];
    if (!render_special && (t == TokenType::Control || t == TokenType::Unknown)) return {};
    return impl_->pieces[id];
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool render_special) const {
    std::string out;
    for (int32_t id : ids) {
        if (id < 0 || id >= n_vocab()) continue;
        TokenType t = impl_->vocab.type[id];
        if (!render_special && (t == TokenType::Control || t == TokenType::Unknown)) continue;
        out += impl_->pieces[id];
    }
    return out;
}

int32_t Tokenizer::n_vocab() const { return impl_->vocab.size(); }
int32_t Tokenizer::bos_id() const { return impl_->bos; }
int32_t Tokenizer::eos_id() const { return impl_->eos; }
bool Tokenizer::add_bos() const { return impl_->add_bos; }

bool Tokenizer::is_eog(int32_t id) const {
    return id >= 0 && id < n_vocab() && impl_->eog[static_cast<size_t>(id)];
}

TokenType Tokenizer::token_type(int32_t id) const {
    HEARTH_CHECK(id >= 0 && id < n_vocab());
    return impl_->vocab.type[id];
}

const std::string& Tokenizer::token_text(int32_t id) const {
    HEARTH_CHECK(id >= 0 && id < n_vocab());
    return impl_->vocab.text[id];
}

}  // namespace hearth::text
