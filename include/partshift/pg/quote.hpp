// quote: the one place identifiers and literals are quoted for SQL partshift builds, and names
// are fitted to PostgreSQL's 63 bytes. Every identifier that reaches SQL goes through
// escape_identifier() or quote_ident() (DESIGN.md invariant 7). Pure string functions: no
// connection, no locale, and no knowledge of what the strings mean.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace partshift::pg {

// escape_identifier quotes like libpq's PQescapeIdentifier: always double-quoted, embedded
// double quotes doubled. For SQL that only the server reads (copy, apply, verify, replication
// commands): no keyword list to keep current. Throws usage_error for an empty name or a NUL.
std::string escape_identifier(std::string_view name);

// escape_qualified: "schema"."name" through escape_identifier; "name" alone when schema is "".
std::string escape_qualified(std::string_view schema, std::string_view name);

// quote_ident quotes like PostgreSQL 15's quote_ident(): the name is left bare only when it is
// all lowercase ASCII letters, digits, '_' and '$', does not start with a digit or '$', and is not
// a reserved, column-name or type/function-name keyword. Embedded double quotes are doubled.
std::string quote_ident(std::string_view name);

// quote_literal renders a string constant that means the same under any
// standard_conforming_strings setting: E'...' with doubled backslashes when the value contains a
// backslash, plain '...' otherwise. Embedded single quotes are doubled.
std::string quote_literal(std::string_view value);

// is_quoting_keyword: whether PostgreSQL 15 would need quotes around this (lowercase) keyword
// when used as a column or table name. Exposed for tests.
bool is_quoting_keyword(std::string_view word);

// max_identifier_bytes: NAMEDATALEN - 1; the server cuts longer names silently.
inline constexpr std::size_t max_identifier_bytes = 63;

// fit_identifier returns name unchanged when it fits in max_identifier_bytes; otherwise it cuts
// it (at a UTF-8 character boundary) and appends "_" and 8 hex digits of a hash (FNV-1a) of the
// whole name, so two long names that share a prefix stay distinct and the result is stable.
// The names partshift creates are found again by these names on a rerun, so the rule must not
// change: with trim_underscores (the default) '_' at the end of the cut part is dropped before
// the suffix; copy/index_builder's partition index names have always kept them (false).
std::string fit_identifier(std::string_view name, bool trim_underscores = true);

}  // namespace partshift::pg
