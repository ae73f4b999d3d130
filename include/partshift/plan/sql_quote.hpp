// sql_quote: quoting of identifiers and literals for SQL that partshift renders itself (DDL,
// partition bounds). Every identifier that reaches SQL goes through quote_ident() or
// qualified() (DESIGN.md invariant 7). Pure string functions: no connection, no locale, and no
// knowledge of what the strings mean.
#pragma once

#include <string>
#include <string_view>

#include "partshift/catalog/table_model.hpp"

namespace partshift::plan {

// quote_ident quotes like PostgreSQL 15's quote_ident(): the name is left bare only when it is
// all lowercase ASCII letters, digits, '_' and '$', does not start with a digit or '$', and is not
// a reserved, column-name or type/function-name keyword. Embedded double quotes are doubled.
std::string quote_ident(std::string_view name);

// quote_literal renders a string constant that means the same under any
// standard_conforming_strings setting: E'...' with doubled backslashes when the value contains a
// backslash, plain '...' otherwise. Embedded single quotes are doubled.
std::string quote_literal(std::string_view value);

// qualified renders "schema.name" with both parts quoted as needed.
std::string qualified(const catalog::qualified_name& name);

// is_quoting_keyword: whether PostgreSQL 15 would need quotes around this (lowercase) keyword
// when used as a column or table name. Exposed for tests.
bool is_quoting_keyword(std::string_view word);

}  // namespace partshift::plan
