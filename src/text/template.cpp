// ChatTemplate: the public face of the template engine; turns the engine's internal
// TemplateError into Status so that no exception leaves this file.
#include "text/template.h"

#include "text/template_eval.h"

namespace hearth::text {

ChatTemplate::ChatTemplate(std::shared_ptr<const tpl::Program> program)
    : program_(std::move(program)) {}

Result<ChatTemplate> ChatTemplate::parse(std::string_view source) {
    try {
        return ChatTemplate(tpl::parse_program(source));
    } catch (const tpl::TemplateError& e) {
        return error(std::string("template ") + e.what());
    } catch (const std::bad_alloc&) {
        return error("template: out of memory while parsing");
    }
}

Result<std::string> ChatTemplate::render(const nlohmann::ordered_json& context) const {
    if (!context.is_object()) return error("template context must be a JSON object");
    int line = 0;
    try {
        tpl::Value ctx = tpl::from_json(context);
        tpl::Renderer renderer(*program_, ctx);
        try {
            return renderer.run();
        } catch (...) {
            line = renderer.line();
            throw;
        }
    } catch (const tpl::TemplateError& e) {
        return error(strfmt("template line %d: %s", line, e.what()));
    } catch (const std::bad_alloc&) {
        return error(strfmt("template line %d: out of memory", line));
    }
}

}  // namespace hearth::text
