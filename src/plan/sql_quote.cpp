// sql_quote: identifier and literal quoting (see the header). Must not depend on a server
// connection or the process locale: the keyword list is PostgreSQL 15's, embedded here.
#include "partshift/plan/sql_quote.hpp"

#include <algorithm>
#include <array>

namespace partshift::plan {
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

}  // namespace

bool is_quoting_keyword(std::string_view word) {
    return std::binary_search(quoting_keywords.begin(), quoting_keywords.end(), word);
}

std::string quote_ident(std::string_view name) {
    bool safe = !name.empty();
    for (std::size_t i = 0; safe && i < name.size(); ++i) safe = is_safe_char(name[i], i == 0);
    if (safe && !is_quoting_keyword(name)) return std::string(name);
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

std::string qualified(const catalog::qualified_name& name) {
    if (name.schema.empty()) return quote_ident(name.name);
    return quote_ident(name.schema) + "." + quote_ident(name.name);
}

}  // namespace partshift::plan
