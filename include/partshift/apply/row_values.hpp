// row_values: pure helpers that turn pgoutput tuples into text parameters for the applier:
// the key of an old or new tuple, which columns were sent, filling unchanged-TOAST ('u')
// columns from a full old row. No SQL and no connection here.
#pragma once

#include <string>
#include <vector>

#include "partshift/apply/sql_builder.hpp"
#include "partshift/pg/params.hpp"
#include "partshift/stream/pgoutput_messages.hpp"

namespace partshift::apply {

// value_param: one sent value as a text parameter (NULL → nullopt). Throws runtime_error for
// 'u' (never written: invariant 3) and for binary values (the applier binds text parameters;
// start pgoutput without `binary 'true'`).
pg::param value_param(const stream::tuple_value& value);

// key_of: the key columns of `row`, in key order. A key column that is 'u' is taken from
// `fallback` (the old tuple) when given. Throws runtime_error when a key value is missing or
// NULL (the replica identity does not carry the apply key).
pg::param_list key_of(const stream::tuple& row, const std::vector<size_t>& key,
                      const stream::tuple* fallback = nullptr);

// sent_columns: true for every column whose value was sent (not 'u').
column_mask sent_columns(const stream::tuple& row);
bool is_complete(const stream::tuple& row);

// fill_unchanged: with replica identity FULL the old row carries every column, and a 'u'
// column is by definition unchanged, so its old value is its new value.
void fill_unchanged(stream::tuple& new_row, const stream::tuple& old_row);

// params_of: the masked columns of `row`, in column order (every column when mask is empty).
pg::param_list params_of(const stream::tuple& row, const column_mask& mask = {});

// describe_key: "(tenant, id)=(3, 42)" for error messages.
std::string describe_key(const std::vector<column_def>& columns, const std::vector<size_t>& key,
                         const pg::param_list& values);

}  // namespace partshift::apply
