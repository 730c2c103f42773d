// JSON Schema (a subset, see constraint.h) to grammar rules. Whitespace goes after every
// structural byte and value inside containers, never before the first one. Keywords that cannot
// be honoured and would let invalid output through are errors, not silently dropped.
#include <cmath>
#include <optional>
#include <set>

#include "runtime/constraint.h"
#include "runtime/constraint_grammar.h"

namespace hearth::runtime {

namespace {

using json = nlohmann::ordered_json;
using Seq = GrammarBuilder::Seq;
using R = GrammarBuilder;

constexpr int kMaxDepth = 64;
constexpr int64_t kMaxCount = 10000;  // largest minItems/maxItems/minLength/maxLength expanded
constexpr int kMaxDigits = 16;        // integer and fraction digits of a number

// Keywords that change nothing we generate.
const std::set<std::string> kAnnotations = {"title",
                                            "description",
                                            "default",
                                            "examples",
                                            "example",
                                            "$schema",
                                            "$id",
                                            "$anchor",
                                            "$comment",
                                            "deprecated",
                                            "readOnly",
                                            "writeOnly",
                                            "format",
                                            "pattern",
                                            "$defs",
                                            "definitions",
                                            "contentMediaType",
                                            "contentEncoding",
                                            "discriminator",
                                            "additionalItems",
                                            "unevaluatedProperties",
                                            "unevaluatedItems",
                                            "xml",
                                            "externalDocs",
                                            "strict"};
const std::set<std::string> kUnsupported = {"not",
                                            "if",
                                            "then",
                                            "else",
                                            "prefixItems",
                                            "contains",
                                            "minContains",
                                            "maxContains",
                                            "patternProperties",
                                            "propertyNames",
                                            "dependentRequired",
                                            "dependentSchemas",
                                            "dependencies",
                                            "multipleOf",
                                            "maximum",
                                            "exclusiveMaximum"};

bool is_true(const json& s, const char* key) { return s.contains(key) && s[key] == true; }

const std::set<std::string> kLowerBounds = {"minimum", "minLength", "minItems", "minProperties"};
const std::set<std::string> kUpperBounds = {"maxLength", "maxItems", "maxProperties"};

std::string dump(const json& v) { return v.dump(-1, ' ', false, json::error_handler_t::replace); }

bool matches_type(const json& v, const std::string& t) {
    if (t == "null") return v.is_null();
    if (t == "boolean") return v.is_boolean();
    if (t == "string") return v.is_string();
    if (t == "number") return v.is_number();
    if (t == "integer")
        return v.is_number_integer() ||
               (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>());
    if (t == "object") return v.is_object();
    if (t == "array") return v.is_array();
    return false;
}

std::vector<std::string> type_list(const json& t) {
    std::vector<std::string> out;
    if (t.is_string()) out.push_back(t.get<std::string>());
    if (t.is_array())
        for (const json& x : t)
            if (x.is_string()) out.push_back(x.get<std::string>());
    return out;
}

// The length and minimum keywords an enum value must also meet.
bool within_bounds(const json& v, const json& s) {
    auto num = [&](const char* k, double def) {
        return s.contains(k) && s[k].is_number() ? s[k].get<double>() : def;
    };
    if (v.is_string()) {
        double n = 0;
        for (unsigned char c : v.get<std::string>()) n += (c & 0xC0) != 0x80;
        return n >= num("minLength", 0) && n <= num("maxLength", 1e300);
    }
    if (v.is_array()) return v.size() >= num("minItems", 0) && v.size() <= num("maxItems", 1e300);
    if (v.is_number()) return v.get<double>() >= num("minimum", -1e300);
    return true;
}

// allOf semantics for the keywords we generate from: properties and required combine, types and
// enums intersect, the tighter of two bounds and additionalProperties false win, anything else
// is taken from b.
json merge(json a, const json& b) {
    for (const auto& [k, v] : b.items()) {
        if (k == "properties" && v.is_object()) {
            json& props = a["properties"];
            if (!props.is_object()) props = json::object();
            for (const auto& [name, sub] : v.items())
                props[name] = props.contains(name) ? json{{"allOf", {props[name], sub}}} : sub;
        } else if (k == "required" && v.is_array()) {
            json& req = a["required"];
            if (!req.is_array()) req = json::array();
            for (const json& name : v)
                if (std::find(req.begin(), req.end(), name) == req.end()) req.push_back(name);
        } else if (k == "type" && a.contains("type")) {
            json both = json::array();
            const auto tb = type_list(v);
            for (const std::string& t : type_list(a["type"])) {
                const bool in_b = std::find(tb.begin(), tb.end(), t) != tb.end();
                const bool num_int = std::find(tb.begin(), tb.end(), "integer") != tb.end();
                const bool int_num = std::find(tb.begin(), tb.end(), "number") != tb.end();
                if (in_b || (t == "number" && num_int))
                    both.push_back(in_b ? t : "integer");
                else if (t == "integer" && int_num)
                    both.push_back(t);
            }
            a["type"] = both;
        } else if (k == "additionalProperties" && a.contains(k) && a[k] == false) {
            continue;
        } else if (a.contains(k) && a[k].is_number() && v.is_number() && kLowerBounds.count(k)) {
            if (v.get<double>() > a[k].get<double>()) a[k] = v;  // the tighter bound of the two
        } else if (a.contains(k) && a[k].is_number() && v.is_number() && kUpperBounds.count(k)) {
            if (v.get<double>() < a[k].get<double>()) a[k] = v;
        } else if (k == "enum" && a.contains(k) && a[k].is_array() && v.is_array()) {
            json both = json::array();
            for (const json& x : a[k])
                if (std::find(v.begin(), v.end(), x) != v.end()) both.push_back(x);
            a[k] = both;
        } else {
            a[k] = v;
        }
    }
    return a;
}

class SchemaCompiler {
   public:
    SchemaCompiler(GrammarBuilder& b, const json& root) : b_(b), root_(root) {}

    Result<int32_t> value(const json& s, const std::string& where, int depth);

   private:
    Result<json> resolve(const std::string& ref, const std::string& where) const;
    Result<json> deref(json s, const std::string& where) const;
    Result<int32_t> ref_rule(const std::string& ref, const std::string& where, int depth);
    Result<int32_t> alternatives(const json& s, const char* key, const std::string& where,
                                 int depth);
    Result<int32_t> all_of(const json& s, const std::string& where, int depth);
    Result<int32_t> enumeration(const json& s, const std::vector<std::string>& types, bool nullable,
                                const std::string& where);
    Result<int32_t> typed(const json& s, const std::string& type, const std::string& where,
                          int depth);
    Result<int32_t> object(const json& s, const std::string& where, int depth);
    Result<int32_t> array(const json& s, const std::string& where, int depth);
    Result<int32_t> string(const json& s, const std::string& where);
    Result<int32_t> number(const json& s, bool integer, const std::string& where);
    Result<int64_t> count(const json& s, const char* key, int64_t def, const std::string& where);
    int32_t any();
    int32_t string_char();
    int32_t string_rule();
    int32_t digits(int64_t min, int64_t max);
    static bool only_annotations(const json& s, std::initializer_list<const char*> also);

    struct Member {
        std::string name;
        json schema;
        bool required;
    };
    Result<std::vector<Member>> members(const json& s, const std::string& where);

    GrammarBuilder& b_;
    const json& root_;
    std::map<std::string, int32_t> refs_;
    int32_t any_ = -1, char_ = -1, string_ = -1;
};

bool SchemaCompiler::only_annotations(const json& s, std::initializer_list<const char*> also) {
    for (const auto& item : s.items()) {
        const std::string& k = item.key();  // a plain name: lambdas cannot capture bindings in C++20
        if (kAnnotations.count(k)) continue;
        if (std::find_if(also.begin(), also.end(), [&](const char* a) { return k == a; }) !=
            also.end())
            continue;
        return false;
    }
    return true;
}

Result<json> SchemaCompiler::resolve(const std::string& ref, const std::string& where) const {
    if (ref.empty() || ref[0] != '#')
        return error(where + ": only local $ref (#/...) is supported, got '" + ref + "'");
    if (ref == "#") return root_;
    try {
        const json::json_pointer ptr(ref.substr(1));
        if (!root_.contains(ptr)) return error(where + ": $ref '" + ref + "' points nowhere");
        return root_.at(ptr);
    } catch (const std::exception&) {
        return error(where + ": malformed $ref '" + ref + "'");
    }
}

Result<json> SchemaCompiler::deref(json s, const std::string& where) const {
    for (int hops = 0; s.is_object() && s.contains("$ref"); ++hops) {
        if (hops > 32 || !s["$ref"].is_string()) return error(where + ": bad or circular $ref");
        json rest = s;
        rest.erase("$ref");
        auto t = resolve(s["$ref"].get<std::string>(), where);
        if (!t.ok()) return t.status();
        s = only_annotations(rest, {}) ? *t : (t->is_object() ? merge(*t, rest) : *t);
    }
    return s;
}

Result<int32_t> SchemaCompiler::ref_rule(const std::string& ref, const std::string& where,
                                         int depth) {
    if (auto it = refs_.find(ref); it != refs_.end()) return it->second;
    const int32_t r = b_.new_rule();  // before compiling the target, so recursion finds it
    refs_[ref] = r;
    auto target = resolve(ref, where);
    if (!target.ok()) return target.status();
    auto t = value(*target, ref, depth + 1);
    if (!t.ok()) return t.status();
    b_.add(r, {R::ref(*t)});
    return r;
}

Result<int32_t> SchemaCompiler::alternatives(const json& s, const char* key,
                                             const std::string& where, int depth) {
    const json& list = s[key];
    if (!list.is_array() || list.empty())
        return error(where + ": " + key + " must be a non-empty array");
    json base = s;
    base.erase(key);
    const bool plain = only_annotations(base, {"nullable"});
    std::vector<Seq> alts;
    for (size_t i = 0; i < list.size(); ++i) {
        const std::string at = where + "." + key + "[" + std::to_string(i) + "]";
        Result<int32_t> r = error("");
        if (plain) {
            r = value(list[i], at, depth + 1);
        } else {  // the siblings apply to every branch
            auto m = deref(list[i], at);
            if (!m.ok()) return m.status();
            r = m->is_object() ? value(merge(base, *m), at, depth + 1) : value(*m, at, depth + 1);
        }
        if (!r.ok()) return r.status();
        alts.push_back({R::ref(*r)});
    }
    if (is_true(s, "nullable")) alts.push_back(b_.lit("null"));
    return b_.rule(std::move(alts));
}

Result<int32_t> SchemaCompiler::value(const json& s, const std::string& where, int depth) {
    if (depth > kMaxDepth) return error(where + ": schema nested too deeply");
    if (s.is_boolean()) {
        if (s.get<bool>()) return any();
        return error(where + ": schema false admits no value");
    }
    if (!s.is_object()) return error(where + ": a schema must be an object or a boolean");
    for (const auto& [k, v] : s.items()) {
        if (kUnsupported.count(k)) return error(where + ": '" + k + "' is not supported");
        if (k == "uniqueItems" && v == true)
            return error(where + ": 'uniqueItems' is not supported");
        if (k == "items" && v.is_array())
            return error(where + ": tuple 'items' (an array) is not supported");
    }
    if (s.contains("$ref")) {
        if (!s["$ref"].is_string()) return error(where + ": $ref must be a string");
        json rest = s;
        rest.erase("$ref");
        if (only_annotations(rest, {})) return ref_rule(s["$ref"].get<std::string>(), where, depth);
        auto m = deref(s, where);
        if (!m.ok()) return m.status();
        return value(*m, where, depth + 1);
    }
    if (s.contains("allOf")) return all_of(s, where, depth);
    if (s.contains("anyOf")) return alternatives(s, "anyOf", where, depth);
    if (s.contains("oneOf")) return alternatives(s, "oneOf", where, depth);

    std::vector<std::string> types = type_list(s.value("type", json()));
    if (s.contains("type") && types.empty()) return error(where + ": no type satisfies the schema");
    const bool nullable = is_true(s, "nullable");
    if (nullable && !types.empty()) types.push_back("null");
    if (s.contains("const") || s.contains("enum")) return enumeration(s, types, nullable, where);
    if (types.empty()) {  // infer the type from the keywords present
        if (s.contains("properties") || s.contains("required") ||
            s.contains("additionalProperties"))
            types = {"object"};
        else if (s.contains("items") || s.contains("minItems") || s.contains("maxItems"))
            types = {"array"};
        else if (s.contains("minLength") || s.contains("maxLength"))
            types = {"string"};
        else
            return any();
        if (nullable) types.push_back("null");
    }
    std::vector<Seq> alts;
    for (const std::string& t : types) {
        auto r = typed(s, t, where, depth);
        if (!r.ok()) return r.status();
        alts.push_back({R::ref(*r)});
    }
    return b_.rule(std::move(alts));
}

Result<int32_t> SchemaCompiler::all_of(const json& s, const std::string& where, int depth) {
    const json& list = s["allOf"];
    if (!list.is_array() || list.empty()) return error(where + ": allOf must be a non-empty array");
    json merged = s;
    merged.erase("allOf");
    for (size_t i = 0; i < list.size(); ++i) {
        auto m = deref(list[i], where + ".allOf[" + std::to_string(i) + "]");
        if (!m.ok()) return m.status();
        if (m->is_boolean() && m->get<bool>()) continue;
        if (!m->is_object()) return error(where + ".allOf: members must be schemas");
        merged = merge(std::move(merged), *m);
    }
    return value(merged, where, depth + 1);
}

// const and enum: the values as literals, keeping those of the schema's type when it has one.
Result<int32_t> SchemaCompiler::enumeration(const json& s, const std::vector<std::string>& types,
                                            bool nullable, const std::string& where) {
    json values = s.contains("const") ? json::array({s["const"]}) : s["enum"];
    if (!values.is_array()) return error(where + ": enum must be an array");
    std::vector<Seq> alts;
    for (const json& v : values) {
        bool ok = types.empty() || (nullable && v.is_null());
        for (const std::string& t : types) ok = ok || matches_type(v, t);
        if (ok && within_bounds(v, s)) alts.push_back(b_.lit(dump(v)));
    }
    if (alts.empty()) return error(where + ": no enum/const value has the schema's type");
    return b_.rule(std::move(alts));
}

Result<int32_t> SchemaCompiler::typed(const json& s, const std::string& t, const std::string& where,
                                      int depth) {
    if (t == "object") return object(s, where, depth);
    if (t == "array") return array(s, where, depth);
    if (t == "string") return string(s, where);
    if (t == "number") return number(s, false, where);
    if (t == "integer") return number(s, true, where);
    if (t == "boolean") return b_.rule({b_.lit("true"), b_.lit("false")});
    if (t == "null") return b_.rule({b_.lit("null")});
    return error(where + ": unknown type '" + t + "'");
}

Result<int64_t> SchemaCompiler::count(const json& s, const char* key, int64_t def,
                                      const std::string& where) {
    if (!s.contains(key)) return def;
    const json& v = s[key];
    if (!v.is_number_integer() &&
        !(v.is_number() && std::floor(v.get<double>()) == v.get<double>()))
        return error(where + ": " + key + " must be a whole number");
    const double x = v.get<double>();
    if (x < 0) return error(where + ": " + key + " must not be negative");
    if (x > kMaxCount)
        return error(where + ": " + key + " above " + std::to_string(kMaxCount) +
                     " is not supported");
    return static_cast<int64_t>(x);
}

// The members an object may have, in order: declared properties, then required names only
// the additionalProperties schema covers.
Result<std::vector<SchemaCompiler::Member>> SchemaCompiler::members(const json& s,
                                                                    const std::string& where) {
    const json& additional =
        s.contains("additionalProperties") ? s["additionalProperties"] : json();
    const bool closed = additional.is_boolean() && !additional.get<bool>();
    std::vector<std::string> required;
    if (s.contains("required")) {
        if (!s["required"].is_array()) return error(where + ": required must be an array");
        for (const json& r : s["required"]) {
            if (!r.is_string()) return error(where + ": required must list strings");
            if (std::find(required.begin(), required.end(), r.get<std::string>()) == required.end())
                required.push_back(r.get<std::string>());
        }
    }
    auto is_required = [&](const std::string& n) {
        return std::find(required.begin(), required.end(), n) != required.end();
    };
    std::vector<Member> out;
    const json props = s.value("properties", json::object());
    if (!props.is_object()) return error(where + ": properties must be an object");
    for (const auto& [name, sub] : props.items()) {
        if (sub.is_boolean() && !sub.get<bool>()) {
            if (is_required(name))
                return error(where + ": required property '" + name + "' has schema false");
            continue;
        }
        out.push_back({name, sub, is_required(name)});
    }
    for (const std::string& name : required) {
        if (props.contains(name)) continue;
        if (closed)
            return error(where + ": required property '" + name +
                         "' is not allowed by additionalProperties");
        out.push_back({name, additional.is_null() ? json(true) : additional, true});
    }
    return out;
}

Result<int32_t> SchemaCompiler::object(const json& s, const std::string& where, int depth) {
    const json none;
    const json& additional = s.contains("additionalProperties") ? s["additionalProperties"] : none;
    const bool closed = additional.is_boolean() && !additional.get<bool>();
    auto listed = members(s, where);
    if (!listed.ok()) return listed.status();
    const std::vector<Member>& list = *listed;
    int64_t n_required = 0;
    for (const Member& m : list) n_required += m.required;
    auto min_p = count(s, "minProperties", 0, where);
    auto max_p = count(s, "maxProperties", -1, where);
    if (!min_p.ok()) return min_p.status();
    if (!max_p.ok()) return max_p.status();
    if (*min_p > n_required)
        return error(where + ": minProperties above the required count is not supported");
    const int32_t ws = b_.ws();
    const Seq sep = R::cat({b_.lit(","), {R::ref(ws)}});
    if (list.empty()) {
        if (closed || *max_p == 0)
            return b_.rule({R::cat({b_.lit("{"), {R::ref(ws)}, b_.lit("}")})});
        Result<int32_t> v = additional.is_null()
                                ? Result<int32_t>(any())
                                : value(additional, where + ".additionalProperties", depth + 1);
        if (!v.ok()) return v.status();
        const Seq kv = R::cat({{R::ref(string_rule())},
                               {R::ref(ws)},
                               b_.lit(":"),
                               {R::ref(ws)},
                               {R::ref(*v)},
                               {R::ref(ws)}});
        const int32_t body = b_.repeat(kv, sep, 0, *max_p);
        return b_.rule({R::cat({b_.lit("{"), {R::ref(ws), R::ref(body)}, b_.lit("}")})});
    }
    if (*max_p >= 0 && *max_p < static_cast<int64_t>(list.size()))
        return error(where + ": maxProperties below the number of properties is not supported");
    // first[i]: members i.. with none emitted yet; rest[i]: the same after one was (comma first).
    const size_t n = list.size();
    std::vector<int32_t> first(n + 1), rest(n + 1);
    first[n] = b_.rule({{}});
    rest[n] = b_.rule({{}});
    for (size_t i = n; i-- > 0;) {
        const Member& m = list[i];
        auto v = value(m.schema, where + ".properties." + m.name, depth + 1);
        if (!v.ok()) return v.status();
        const Seq kv = R::cat({b_.lit(dump(json(m.name))),
                               {R::ref(ws)},
                               b_.lit(":"),
                               {R::ref(ws)},
                               {R::ref(*v)},
                               {R::ref(ws)}});
        std::vector<Seq> f = {R::cat({kv, {R::ref(rest[i + 1])}})};
        std::vector<Seq> r = {R::cat({sep, kv, {R::ref(rest[i + 1])}})};
        if (!m.required) {
            f.push_back({R::ref(first[i + 1])});
            r.push_back({R::ref(rest[i + 1])});
        }
        first[i] = b_.rule(std::move(f));
        rest[i] = b_.rule(std::move(r));
    }
    return b_.rule({R::cat({b_.lit("{"), {R::ref(ws), R::ref(first[0])}, b_.lit("}")})});
}

Result<int32_t> SchemaCompiler::array(const json& s, const std::string& where, int depth) {
    auto lo = count(s, "minItems", 0, where);
    auto hi = count(s, "maxItems", -1, where);
    if (!lo.ok()) return lo.status();
    if (!hi.ok()) return hi.status();
    if (*hi >= 0 && *hi < *lo) return error(where + ": maxItems is below minItems");
    Result<int32_t> item = s.contains("items") ? value(s["items"], where + ".items", depth + 1)
                                               : Result<int32_t>(any());
    if (!item.ok()) {
        // items: false (or an unsatisfiable items schema) still allows the empty array.
        if (*lo > 0 || !(s["items"].is_boolean())) return item.status();
        return b_.rule({R::cat({b_.lit("["), {R::ref(b_.ws())}, b_.lit("]")})});
    }
    const int32_t ws = b_.ws();
    const int32_t body =
        b_.repeat({R::ref(*item), R::ref(ws)}, R::cat({b_.lit(","), {R::ref(ws)}}), *lo, *hi);
    return b_.rule({R::cat({b_.lit("["), {R::ref(ws), R::ref(body)}, b_.lit("]")})});
}

Result<int32_t> SchemaCompiler::string(const json& s, const std::string& where) {
    auto lo = count(s, "minLength", 0, where);
    auto hi = count(s, "maxLength", -1, where);
    if (!lo.ok()) return lo.status();
    if (!hi.ok()) return hi.status();
    if (*hi >= 0 && *hi < *lo) return error(where + ": maxLength is below minLength");
    if (*lo == 0 && *hi < 0) return string_rule();
    const int32_t body = b_.repeat({R::ref(string_char())}, {}, *lo, *hi);
    return b_.rule({R::cat({b_.lit("\""), {R::ref(body)}, b_.lit("\"")})});
}

Result<int32_t> SchemaCompiler::number(const json& s, bool integer, const std::string& where) {
    // Lower bounds we can honour by syntax alone: >= 0 (no minus sign) and, for integers, >= 1.
    std::optional<double> lower;
    if (s.contains("minimum")) {
        if (!s["minimum"].is_number()) return error(where + ": minimum must be a number");
        lower = s["minimum"].get<double>();
        if (s.value("exclusiveMinimum", json()) == true)
            lower = integer ? *lower + 1 : *lower + 0.5;
    }
    if (s.contains("exclusiveMinimum") && s["exclusiveMinimum"].is_number()) {
        const double x = s["exclusiveMinimum"].get<double>();
        lower = integer ? std::floor(x) + 1 : x + 0.5;
    }
    const bool positive = integer && lower && *lower > 0;
    if (lower && (integer ? *lower != 0 && *lower != 1 : *lower != 0))
        return error(where + ": minimum/exclusiveMinimum other than " +
                     std::string(integer ? "0 or 1" : "0") + " is not supported");
    const Seq sign = lower && *lower >= 0 ? Seq{} : Seq{R::ref(b_.rule({{}, b_.lit("-")}))};
    const int32_t nonzero = b_.range('1', '9');
    const int32_t more = digits(0, kMaxDigits - 1);
    std::vector<Seq> int_alts = {{nonzero, R::ref(more)}};
    if (!positive) int_alts.push_back(b_.lit("0"));
    const int32_t int_part = b_.rule(std::move(int_alts));
    if (integer) return b_.rule({R::cat({sign, {R::ref(int_part)}})});
    const int32_t frac = b_.rule({{}, R::cat({b_.lit("."), {R::ref(digits(1, kMaxDigits))}})});
    // Two exponent digits at most: 16 significant digits times 1e99 stays a finite double.
    ByteSet e{}, pm{};
    for (uint8_t c : {'e', 'E'}) e[c >> 6] |= uint64_t{1} << (c & 63);
    for (uint8_t c : {'+', '-'}) pm[c >> 6] |= uint64_t{1} << (c & 63);
    const int32_t exp_sign = b_.rule({{}, {b_.set(pm)}});
    const int32_t exp = b_.rule({{}, {b_.set(e), R::ref(exp_sign), R::ref(digits(1, 2))}});
    return b_.rule({R::cat({sign, {R::ref(int_part), R::ref(frac), R::ref(exp)}})});
}

int32_t SchemaCompiler::digits(int64_t min, int64_t max) {
    return b_.repeat({b_.range('0', '9')}, {}, min, max);
}

// One character of a JSON string: printable ASCII but '"' and '\', an escape (\u without
// surrogates, so every parser accepts it), or well-formed multi-byte UTF-8.
int32_t SchemaCompiler::string_char() {
    if (char_ >= 0) return char_;
    ByteSet plain{};
    for (int c = 0x20; c < 0x80; ++c)
        if (c != '"' && c != '\\') plain[c >> 6] |= uint64_t{1} << (c & 63);
    ByteSet esc{}, hex{}, hex_no_d{};
    for (uint8_t c : std::string_view("\"\\/bfnrt")) esc[c >> 6] |= uint64_t{1} << (c & 63);
    for (uint8_t c : std::string_view("0123456789abcdefABCDEF"))
        hex[c >> 6] |= uint64_t{1} << (c & 63);
    for (uint8_t c : std::string_view("0123456789abcefABCEF"))
        hex_no_d[c >> 6] |= uint64_t{1} << (c & 63);
    ByteSet d{};
    for (uint8_t c : {'d', 'D'}) d[c >> 6] |= uint64_t{1} << (c & 63);
    const int32_t h = b_.set(hex), cont = b_.range(0x80, 0xBF);
    const int32_t u = b_.rule({{b_.set(hex_no_d), h, h, h}, {b_.set(d), b_.range('0', '7'), h, h}});
    char_ = b_.rule({
        {b_.set(plain)},
        R::cat({b_.lit("\\"), {b_.set(esc)}}),
        R::cat({b_.lit("\\u"), {R::ref(u)}}),
        {b_.range(0xC2, 0xDF), cont},
        {b_.range(0xE0, 0xE0), b_.range(0xA0, 0xBF), cont},
        {b_.range(0xE1, 0xEC), cont, cont},
        {b_.range(0xEE, 0xEF), cont, cont},
        {b_.range(0xED, 0xED), b_.range(0x80, 0x9F), cont},
        {b_.range(0xF0, 0xF0), b_.range(0x90, 0xBF), cont, cont},
        {b_.range(0xF1, 0xF3), cont, cont, cont},
        {b_.range(0xF4, 0xF4), b_.range(0x80, 0x8F), cont, cont},
    });
    return char_;
}

int32_t SchemaCompiler::string_rule() {
    if (string_ >= 0) return string_;
    const int32_t body = b_.repeat({R::ref(string_char())}, {}, 0, -1);
    return string_ = b_.rule({R::cat({b_.lit("\""), {R::ref(body)}, b_.lit("\"")})});
}

// Any JSON value (the schema {} or true).
int32_t SchemaCompiler::any() {
    if (any_ >= 0) return any_;
    any_ = b_.new_rule();
    const int32_t ws = b_.ws();
    const Seq sep = R::cat({b_.lit(","), {R::ref(ws)}});
    const Seq kv = {R::ref(string_rule()), R::ref(ws), b_.lit(":")[0], R::ref(ws),
                    R::ref(any_),          R::ref(ws)};
    const int32_t members = b_.repeat(kv, sep, 0, -1);
    const int32_t items = b_.repeat({R::ref(any_), R::ref(ws)}, sep, 0, -1);
    auto num = number(json::object(), false, "");
    HEARTH_CHECK(num.ok());
    b_.add(any_, R::cat({b_.lit("{"), {R::ref(ws), R::ref(members)}, b_.lit("}")}));
    b_.add(any_, R::cat({b_.lit("["), {R::ref(ws), R::ref(items)}, b_.lit("]")}));
    b_.add(any_, {R::ref(string_rule())});
    b_.add(any_, {R::ref(*num)});
    for (const char* word : {"true", "false", "null"}) b_.add(any_, b_.lit(word));
    return any_;
}

}  // namespace

Result<int32_t> compile_json_schema(GrammarBuilder& b, const nlohmann::ordered_json& schema) {
    SchemaCompiler c(b, schema);
    return c.value(schema, "schema", 0);
}

}  // namespace hearth::runtime
