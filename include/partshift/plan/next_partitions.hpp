// next_partitions: `plan --next-partitions N` for a table that is RANGE partitioned already
// (after a cutover, without pg_partman): the CREATE TABLE … PARTITION OF statements for the N
// ranges that follow its last partition, aligned and named as the original plan was (the same
// bounds code). read_range_partitioning reads the table; render_next_partitions is pure.
// Must not change the database.
#pragma once

#include <string>

#include "partshift/catalog/table_model.hpp"
#include "partshift/pg/connection.hpp"
#include "partshift/plan/partition_spec.hpp"
#include "partshift/plan/spec_validation.hpp"

namespace partshift::plan {

struct range_partitioning {
    catalog::qualified_name table;
    std::string key;  // the partition key column (one column)
    key_type type = key_type::other;
    std::string last_upper;  // greatest upper bound, as the server prints the key's type (ISO)
    std::string timezone;    // the server's TimeZone, written into timestamptz bounds
};

// read_range_partitioning: usage_error (exit 2) unless `table` is partitioned BY RANGE on one
// column and has at least one range partition.
range_partitioning read_range_partitioning(pg::connection& conn,
                                           const catalog::qualified_name& table);

// render_next_partitions: a psql script creating the `count` partitions after last_upper with
// the interval or step of `level` (CREATE TABLE IF NOT EXISTS, so running it twice is safe).
std::string render_next_partitions(const range_partitioning& range, const level_spec& level,
                                   int count);

}  // namespace partshift::plan
