// hearth inspect: what a GGUF file holds — architecture, hyper-parameters, tokenizer summary,
// the tensor table and bytes by type — as text or JSON. Reads only the header (no weights).
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "cli/args.h"
#include "cli/commands.h"
#include "gguf/reader.h"
#include "kernels/dispatch.h"
#include "model/model.h"

namespace hearth::cli {

namespace {

const std::vector<FlagSpec> kFlags = {
    {"--json", "", "print one JSON object instead of text"},
    {"-h,--help", "", "show this help"},
};

struct TypeTotal {
    int64_t count = 0;
    uint64_t bytes = 0;
};

std::map<std::string, TypeTotal> bytes_by_type(const gguf::Reader& r) {
    std::map<std::string, TypeTotal> out;
    for (const auto& t : r.tensors()) {
        auto& e = out[std::string(gguf::type_name(t.type))];
        ++e.count;
        e.bytes += t.n_bytes;
    }
    return out;
}

std::string human_bytes(uint64_t b) {
    if (b >= (1ull << 30)) return strfmt("%.2f GiB", b / double(1ull << 30));
    if (b >= (1ull << 20)) return strfmt("%.2f MiB", b / double(1ull << 20));
    if (b >= (1ull << 10)) return strfmt("%.1f KiB", b / 1024.0);
    return strfmt("%llu B", (unsigned long long)b);
}

std::string tokenizer_summary(const gguf::Reader& r) {
    const gguf::Value* model = r.find("tokenizer.ggml.model");
    if (!model) return "none";
    std::string s = "model " + model->to_string();
    if (const gguf::Value* pre = r.find("tokenizer.ggml.pre")) s += ", pre " + pre->to_string();
    if (const gguf::Value* t = r.find("tokenizer.ggml.tokens"); t && t->array)
        s += strfmt(", %llu tokens", (unsigned long long)t->array->count);
    if (const gguf::Value* m = r.find("tokenizer.ggml.merges"); m && m->array)
        s += strfmt(", %llu merges", (unsigned long long)m->array->count);
    for (const char* k : {"bos_token_id", "eos_token_id"}) {
        if (const gguf::Value* v = r.find(std::string("tokenizer.ggml.") + k))
            s += std::string(", ") + k + " " + v->to_string();
    }
    if (const gguf::Value* t = r.find("tokenizer.chat_template"))
        s += strfmt(", chat template (%zu bytes)", t->str.size());
    return s;
}

// What loading the file as a model tells: layer kinds and memory per token and sequence.
struct ModelSummary {
    std::string error;  // why the file does not load as a model, else empty
    std::vector<model::Model::LayerKind> kinds;
    int64_t kv_bytes_per_token = 0;
    int64_t recurrent_bytes = 0;
};

ModelSummary summarize_model(const gguf::Reader& r) {
    ModelSummary s;
    ThreadPool pool(1);
    // Bound for the exact path, which has no interleaved layout: every tensor stays in place,
    // so this reads no weights (bound for a SIMD ISA, matrices would be copied rearranged).
    const kernels::ScopedIsa in_place(kernels::Isa::Exact);
    auto m = model::load_model(r, pool);
    if (!m.ok()) {
        s.error = m.message();
        return s;
    }
    s.kinds = (*m)->layer_kinds();
    const int64_t base = (*m)->new_state(0)->memory_bytes();
    // A K cache grows in panels of 16 positions: the bytes of 16, shared out.
    s.kv_bytes_per_token = ((*m)->new_state(16)->memory_bytes() - base) / 16;
    s.recurrent_bytes = base;
    return s;
}

std::string layer_list(const std::vector<model::Model::LayerKind>& kinds,
                       model::Model::LayerKind want) {
    std::string out;
    int64_t n = 0;
    for (size_t i = 0; i < kinds.size(); ++i) {
        if (kinds[i] != want) continue;
        out += (n++ ? "," : "") + std::to_string(i);
    }
    return std::to_string(n) + (n ? " (" + out + ")" : "");
}

nlohmann::ordered_json value_json(const gguf::Value& v) {
    using gguf::ValueType;
    switch (v.type) {
        case ValueType::String: return std::string(v.str);
        case ValueType::Bool: return v.u != 0;
        case ValueType::F32: case ValueType::F64: return v.f;
        case ValueType::I8: case ValueType::I16: case ValueType::I32: case ValueType::I64:
            return v.i;
        case ValueType::Array: {
            const gguf::Array& a = *v.array;
            // Long arrays (vocabularies) are summarized, not dumped.
            if (a.count > 64)
                return {{"type", std::string(gguf::value_type_name(a.elem_type))}, {"count", a.count}};
            auto arr = nlohmann::ordered_json::array();
            for (uint64_t i = 0; i < a.count; ++i) {
                if (!a.strings.empty()) arr.push_back(std::string(a.strings[i]));
                else if (!a.arrays.empty()) arr.push_back(value_json(a.arrays[i]));
                else if (a.elem_type == ValueType::F32 || a.elem_type == ValueType::F64)
                    arr.push_back(gguf::array_float(a, i));
                else arr.push_back(gguf::array_int(a, i));
            }
            return arr;
        }
        default: return v.u;
    }
}

void print_json(const gguf::Reader& r) {
    nlohmann::ordered_json j;
    j["file"] = r.path();
    j["file_bytes"] = r.file_size();
    j["version"] = r.version();
    j["alignment"] = r.alignment();
    auto arch = r.find("general.architecture");
    j["architecture"] = arch && arch->type == gguf::ValueType::String ? std::string(arch->str) : "";
    for (const auto& [k, v] : r.metadata()) {
        if (k == "tokenizer.chat_template") j["metadata"][std::string(k)] = strfmt("(%zu bytes)", v.str.size());
        else j["metadata"][std::string(k)] = value_json(v);
    }
    j["tensors"] = nlohmann::ordered_json::array();
    for (const auto& t : r.tensors()) {
        j["tensors"].push_back({{"name", std::string(t.name)},
                                {"type", std::string(gguf::type_name(t.type))},
                                {"shape", std::vector<int64_t>(t.ne, t.ne + t.n_dims)},
                                {"bytes", t.n_bytes}});
    }
    for (const auto& [type, tot] : bytes_by_type(r))
        j["bytes_by_type"][type] = {{"tensors", tot.count}, {"bytes", tot.bytes}};
    ModelSummary m = summarize_model(r);
    if (!m.error.empty()) {
        j["model"] = {{"error", m.error}};
    } else {
        auto kinds = nlohmann::ordered_json::array();
        for (auto k : m.kinds) kinds.push_back(k == model::Model::LayerKind::Recurrent ? "recurrent" : "attention");
        j["model"] = {{"layers", kinds},
                      {"kv_bytes_per_token", m.kv_bytes_per_token},
                      {"recurrent_state_bytes", m.recurrent_bytes}};
    }
    std::printf("%s\n", j.dump(1).c_str());
}

void print_text(const gguf::Reader& r) {
    const gguf::Value* arch = r.find("general.architecture");
    std::string a = arch && arch->type == gguf::ValueType::String ? std::string(arch->str) : "";
    std::printf("file:          %s (%s, GGUF v%u, alignment %llu)\n", r.path().c_str(),
                human_bytes(r.file_size()).c_str(), r.version(), (unsigned long long)r.alignment());
    std::printf("architecture:  %s\n", a.empty() ? "(none)" : a.c_str());
    if (const gguf::Value* n = r.find("general.name")) std::printf("name:          %s\n", n->to_string().c_str());
    std::printf("tokenizer:     %s\n", tokenizer_summary(r).c_str());
    ModelSummary m = summarize_model(r);
    if (!m.error.empty()) {
        std::printf("model:         does not load: %s\n", m.error.c_str());
    } else {
        using K = model::Model::LayerKind;
        std::printf("layers:        %zu: attention %s, recurrent (Gated DeltaNet) %s\n", m.kinds.size(),
                    layer_list(m.kinds, K::Attention).c_str(), layer_list(m.kinds, K::Recurrent).c_str());
        std::printf("memory:        KV cache %s per token of context (F16), recurrent state %s per "
                    "sequence\n", human_bytes(m.kv_bytes_per_token).c_str(),
                    human_bytes(m.recurrent_bytes).c_str());
    }
    if (const gguf::Value* n = r.find(a + ".expert_count")) {
        const gguf::Value* k = r.find(a + ".expert_used_count");
        const bool shared = r.find_tensor("blk.0.ffn_gate_inp_shexp.weight") != nullptr;
        std::printf("experts:       %s, %s used per token%s\n", n->to_string().c_str(),
                    k ? k->to_string().c_str() : "?", shared ? ", plus a gated shared expert" : "");
    }
    std::printf("\nhyper-parameters:\n");
    for (const auto& [k, v] : r.metadata()) {
        if (!a.empty() && k.rfind(a + ".", 0) == 0)
            std::printf("  %-44s %s\n", std::string(k.substr(a.size() + 1)).c_str(), v.to_string().c_str());
    }
    std::printf("\nother metadata:\n");
    for (const auto& [k, v] : r.metadata()) {
        if ((a.empty() || k.rfind(a + ".", 0) != 0) && k.rfind("tokenizer.", 0) != 0)
            std::printf("  %-44s %s\n", std::string(k).c_str(), v.to_string().c_str());
    }
    std::printf("\n%zu tensors:\n  %-40s %-7s %-22s %s\n", r.tensors().size(), "name", "type",
                "shape", "bytes");
    uint64_t total = 0;
    for (const auto& t : r.tensors()) {
        std::printf("  %-40s %-7s %-22s %llu\n", std::string(t.name).c_str(),
                    std::string(gguf::type_name(t.type)).c_str(), t.shape_string().c_str(),
                    (unsigned long long)t.n_bytes);
        total += t.n_bytes;
    }
    std::printf("\nbytes by type:\n");
    for (const auto& [type, tot] : bytes_by_type(r))
        std::printf("  %-8s %4lld tensors  %12llu bytes  (%s)\n", type.c_str(), (long long)tot.count,
                    (unsigned long long)tot.bytes, human_bytes(tot.bytes).c_str());
    std::printf("  %-8s %4zu tensors  %12llu bytes  (%s)\n", "total", r.tensors().size(),
                (unsigned long long)total, human_bytes(total).c_str());
}

}  // namespace

int cmd_inspect(int argc, char** argv) {
    auto args = Args::parse(kFlags, argc, argv);
    if (!args.ok()) return usage_error("inspect", args.message());
    if (args->has("--help")) {
        print_help("inspect", "FILE.gguf [--json]",
                   "Shows what a GGUF model file holds: architecture, hyper-parameters, tokenizer,\n"
                   "every tensor (name, type, shape, bytes) and the bytes per tensor type.\n"
                   "Only the header is read; the file is validated as it is parsed.",
                   kFlags);
        return 0;
    }
    if (args->positional().size() != 1) return usage_error("inspect", "expected one FILE.gguf");
    auto reader = gguf::Reader::open(args->positional()[0]);
    if (!reader.ok()) return fail("inspect", reader.message());
    if (args->has("--json")) print_json(*reader);
    else print_text(*reader);
    return 0;
}

}  // namespace hearth::cli
