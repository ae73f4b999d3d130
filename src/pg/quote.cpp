// quote: identifier and literal quoting and name fitting (see the header). Must not depend on a
// server connection or the process locale: the keyword list is PostgreSQL 15's, embedded here.
#include "partshift/pg/quote.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>

#include "partshift/error.hpp"

namespace partshift::pg {
namespace {

// PostgreSQL 15 keywords that are not UNRESERVED (categories R, C and T of pg_get_keywords()),
// sorted for binary search. quote_ident() quotes all of these; unreserved keywords stay bare.
constexpr std::array<std::string_view, 151> quoting_keywords = {
    "all",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "asymmetric",
    "authorization",
    "between",
    "bigint",
    "binary",
    "bit",
    "boolean",
    "both",
    "case",
    "cast",
    "char",
    "character",
    "check",
    "coalesce",
    "collate",
    "collation",
    "column",
    "concurrently",
    "constraint",
    "create",
    "cross",
    "current_catalog",
    "current_date",
    "current_role",
    "current_schema",
    "current_time",
    "current_timestamp",
    "current_user",
    "dec",
    "decimal",
    "default",
    "deferrable",
    "desc",
    "distinct",
    "do",
    "else",
    "end",
    "except",
    "exists",
    "extract",
    "false",
    "fetch",
    "float",
    "for",
    "foreign",
    "freeze",
    "from",
    "full",
    "grant",
    "greatest",
    "group",
    "grouping",
    "having",
    "ilike",
    "in",
    "initially",
    "inner",
    "inout",
    "int",
    "integer",
    "intersect",
    "interval",
    "into",
    "is",
    "isnull",
    "join",
    "lateral",
    "leading",
    "least",
    "left",
    "like",
    "limit",
    "localtime",
    "localtimestamp",
    "national",
    "natural",
    "nchar",
    "none",
    "normalize",
    "not",
    "notnull",
    "null",
    "nullif",
    "numeric",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "out",
    "outer",
    "overlaps",
    "overlay",
    "placing",
    "position",
    "precision",
    "primary",
    "real",
    "references",
    "returning",
    "right",
    "row",
    "select",
    "session_user",
    "setof",
    "similar",
    "smallint",
    "some",
    "substring",
    "symmetric",
    "table",
    "tablesample",
    "then",
    "time",
    "timestamp",
    "to",
    "trailing",
    "treat",
    "trim",
    "true",
    "union",
    "unique",
    "user",
    "using",
    "values",
    "varchar",
    "variadic",
    "verbose",
    "when",
    "where",
    "window",
    "with",
    "xmlattributes",
    "xmlconcat",
    "xmlelement",
    "xmlexists",
    "xmlforest",
    "xmlnamespaces",
    "xmlparse",
    "xmlpi",
    "xmlroot",
    "xmlserialize",
    "xmltable",
};

bool is_safe_char(char c, bool first) {
    if (c >= 'a' && c <= 'z') return true;
    if (c == '_') return true;
    if (first) return false;
    return (c >= '0' && c <= '9') || c == '$';
}

// double_quoted: "name" with embedded double quotes doubled, the one quoting of identifiers.
std::string double_quoted(std::string_view name) {
    std::string out;
    out.reserve(name.size() + 2);
    out += '"';
    for (char c : name) {
        if (c == '"') out += '"';
        out += c;
    }
    out += '"';
    return out;
}

// FNV-1a: tiny, stable across platforms and releases (std::hash is neither).
uint32_t fnv1a(std::string_view s) {
    uint32_t h = 2166136261u;
    for (unsigned char c : s) {
        h ^= c;
        h *= 16777619u;
    }
    return h;
}

bool is_utf8_continuation(char c) {
    return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

}  // namespace

bool is_quoting_keyword(std::string_view word) {
    return std::binary_search(quoting_keywords.begin(), quoting_keywords.end(), word);
}

std::string quote_ident(std::string_view name) {
    bool safe = !name.empty();
    for (std::size_t i = 0; safe && i < name.size(); ++i) safe = is_safe_char(name[i], i == 0);
    if (safe && !is_quoting_keyword(name)) return std::string(name);
    return double_quoted(name);
}

std::string escape_identifier(std::string_view name) {
    if (name.empty()) throw usage_error("empty SQL identifier");
    if (name.find('\0') != std::string_view::npos)
        throw usage_error("SQL identifier contains a NUL byte");
    return double_quoted(name);
}

std::string escape_qualified(std::string_view schema, std::string_view name) {
    if (schema.empty()) return escape_identifier(name);
    return escape_identifier(schema) + "." + escape_identifier(name);
}

std::string quote_literal(std::string_view value) {
    const bool has_backslash = value.find('\\') != std::string_view::npos;
    std::string out;
    out.reserve(value.size() + 3);
    // E'' makes backslashes mean the same whatever standard_conforming_strings says.
    if (has_backslash) out += 'E';
    out += '\'';
    for (char c : value) {
        if (c == '\'' || (c == '\\' && has_backslash)) out += c;
        out += c;
    }
    out += '\'';
    return out;
}

std::string fit_identifier(std::string_view name, bool trim_underscores) {
    if (name.size() <= max_identifier_bytes) return std::string(name);
    char suffix[10];
    std::snprintf(suffix, sizeof suffix, "_%08x", fnv1a(name));
    std::size_t keep = max_identifier_bytes - 9;
    // Never cut a multibyte character in half: PostgreSQL would reject the invalid UTF-8.
    while (keep > 0 && is_utf8_continuation(name[keep])) --keep;
    std::string out(name.substr(0, keep));
    while (trim_underscores && !out.empty() && out.back() == '_') out.pop_back();
    return out + suffix;
}

}  // namespace partshift::pg
