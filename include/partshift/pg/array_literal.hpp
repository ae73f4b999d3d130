// array_literal: PostgreSQL array input syntax ('{"a",NULL,"b\"c"}') for text values, so a list
// can travel as one text parameter and be unnested on the server: a run of changes per column
// (set-based apply), keys to recheck (verify), statements to run after a swap (state). Pure: no
// connection, no I/O.
// Every element is double-quoted and `"` and `\` are backslash-escaped, so commas, braces,
// whitespace, empty strings and the word NULL survive exactly; a SQL NULL is the bare NULL.
// Must not be used for element types whose array delimiter is not a comma (box) or for
// array-typed columns (unnest would flatten them): apply's sql_builder::supports_sets checks
// both.
#pragma once

#include <string>
#include <vector>

#include "partshift/pg/params.hpp"

namespace partshift::pg {

// append_array_element: adds `value` to an array literal being built in `literal` (empty =
// nothing yet). Call close_array_literal once at the end.
void append_array_element(std::string& literal, const param& value);
// close_array_literal: finishes the literal ("{}" when no element was added).
void close_array_literal(std::string& literal);
// array_literal: the whole literal of `values`.
std::string array_literal(const param_list& values);
// text_array_literal: the same for values that are never NULL.
std::string text_array_literal(const std::vector<std::string>& values);

}  // namespace partshift::pg
