// Test helper: renders a chat template with a JSON context through hearth::text::ChatTemplate
// and prints the result byte for byte (the counterpart of shared/templates/render_template.py).
// Usage: hearth_render_template TEMPLATE.jinja CONTEXT.json; exit 1 with the error on stderr.
// hearth_render_template --print-builtin ARCH prints hearth's built-in template for ARCH.
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "runtime/chat_templates.h"
#include "text/template.h"

static bool read_file(const char* path, std::string& out) {
    std::ifstream f(path, std::ios::binary);
    if (!f) return false;
    std::stringstream ss;
    ss << f.rdbuf();
    out = ss.str();
    return true;
}

int main(int argc, char** argv) {
    if (argc == 3 && std::string(argv[1]) == "--print-builtin") {
        const std::string source = hearth::runtime::builtin_chat_template(argv[2]);
        if (source.empty()) {
            std::fprintf(stderr, "no built-in template for '%s'\n", argv[2]);
            return 1;
        }
        std::fwrite(source.data(), 1, source.size(), stdout);
        return 0;
    }
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s TEMPLATE CONTEXT.json\n", argv[0]);
        return 2;
    }
    std::string source, context_text;
    if (!read_file(argv[1], source) || !read_file(argv[2], context_text)) {
        std::fprintf(stderr, "cannot read input files\n");
        return 2;
    }
    auto context = nlohmann::ordered_json::parse(context_text, nullptr, false);
    if (context.is_discarded()) {
        std::fprintf(stderr, "%s: invalid JSON\n", argv[2]);
        return 2;
    }
    auto tpl = hearth::text::ChatTemplate::parse(source);
    if (!tpl.ok()) {
        std::fprintf(stderr, "%s\n", tpl.message().c_str());
        return 1;
    }
    auto out = tpl->render(context);
    if (!out.ok()) {
        std::fprintf(stderr, "%s\n", out.message().c_str());
        return 1;
    }
    std::fwrite(out->data(), 1, out->size(), stdout);
    return 0;
}
