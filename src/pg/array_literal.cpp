// array_literal: text values → PostgreSQL array literal. Pure string building.
#include "partshift/pg/array_literal.hpp"

namespace partshift::pg {

void append_array_element(std::string& literal, const param& value) {
    literal.push_back(literal.empty() ? '{' : ',');
    if (!value) {
        literal += "NULL";
        return;
    }
    literal.reserve(literal.size() + value->size() + 2);
    literal.push_back('"');
    for (char c : *value) {
        if (c == '"' || c == '\\') literal.push_back('\\');
        literal.push_back(c);
    }
    literal.push_back('"');
}

void close_array_literal(std::string& literal) {
    if (literal.empty()) literal.push_back('{');
    literal.push_back('}');
}

std::string array_literal(const param_list& values) {
    std::string out;
    for (const auto& v : values) append_array_element(out, v);
    close_array_literal(out);
    return out;
}

std::string text_array_literal(const std::vector<std::string>& values) {
    std::string out;
    for (const auto& v : values) append_array_element(out, v);
    close_array_literal(out);
    return out;
}

}  // namespace partshift::pg
