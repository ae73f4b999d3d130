// spec_validation: does a partition spec fit the source table? Checks the table kind, the key
// columns and their types against each method, and throws partshift::usage_error (exit 2) with a
// one-line reason. Pure: reads the table model only, never the server.
#pragma once

#include "partshift/catalog/table_model.hpp"
#include "partshift/plan/partition_spec.hpp"

namespace partshift::plan {

// key_type: what the planner needs to know about a key column's type.
enum class key_type {
    date,         // date
    timestamp,    // timestamp [(p)] without time zone
    timestamptz,  // timestamp [(p)] with time zone
    int16,
    int32,
    int64,
    numeric,
    other,
};

// classify_key_type maps a column to a key_type by type OID, falling back to the type name.
key_type classify_key_type(const catalog::column& column);

bool is_time_type(key_type t);
bool is_integer_type(key_type t);

// validate_spec throws usage_error when the table cannot be partitioned as the spec asks:
// not a plain permanent table; key column missing or generated; --interval on a non-date/time
// column; --step on a non-integer column; a type without the btree (range, list) or hash
// operator class the method needs.
void validate_spec(const catalog::table_model& table, const partition_spec& spec);

}  // namespace partshift::plan
