// copy_spec: what the copier copies — source and target names, the columns COPY moves and the
// apply key the source is chunked by. Plain data derived from the table model; no I/O.
// Must not decide chunk boundaries (chunk_planner) or render SQL (chunk_sql).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "partshift/catalog/table_model.hpp"

namespace partshift::copy {

// key_column: one column of the apply key and its SQL type (format_type), used to cast the
// text-encoded chunk bounds back to the column's type in range predicates.
struct key_column {
    std::string name;
    std::string type_name;
    bool operator==(const key_column&) const = default;
};

struct copy_spec {
    catalog::qualified_name source;
    catalog::qualified_name target;
    // columns: every non-generated column in attnum order. Generated columns are left out so
    // the target computes them itself (COPY FROM rejects values for them anyway).
    std::vector<std::string> columns;
    std::vector<key_column> key;  // the apply key, in index order
    int64_t row_estimate = 0;     // pg_class.reltuples; <= 0 means unknown
    int64_t total_bytes = 0;      // pg_total_relation_size
};

// make_copy_spec derives the copy description from the source's table model. Throws
// usage_error when the table has no apply key (no primary key, no replica identity index).
copy_spec make_copy_spec(const catalog::table_model& source, const catalog::qualified_name& target);

}  // namespace partshift::copy
