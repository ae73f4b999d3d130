// target_plan: what partshift will create for a source table — the partitioned parent, its
// partitions (bounds), the indexes, and the warnings — produced by plan::make_plan() as a pure
// function of (table_model, partition_spec, data_facts). Rendered to SQL or JSON for `plan`,
// executed by `run`'s prepare phase.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "partshift/catalog/table_model.hpp"
#include "partshift/plan/partition_spec.hpp"

namespace partshift::plan {

// data_facts: what the planner needs to know about the data, gathered by the caller (the
// inspector side) with read-only queries. Values are in the server's text output format.
struct data_facts {
    std::optional<std::string> level1_min;  // min(key) for RANGE (nullopt: empty table)
    std::optional<std::string> level1_max;
    std::vector<std::string> level1_values;  // SELECT DISTINCT key for LIST without --values
    std::optional<std::string> level2_min;
    std::optional<std::string> level2_max;
    std::vector<std::string> level2_values;
    std::string now;       // now() on the server, for premake of time ranges
    std::string timezone;  // the server session TimeZone (timestamptz bounds)
};

// partition: one partition (or subpartition) to create.
struct partition {
    std::string name;       // unquoted, e.g. "orders_p2025_01"
    std::string bound_sql;  // "FOR VALUES FROM ('2025-01-01') TO ('2025-02-01')", "DEFAULT"
    std::optional<std::string> parent;  // unquoted parent name for second-level partitions
    bool is_partitioned = false;        // has subpartitions (its own PARTITION BY)
    std::string partition_by_sql;       // for is_partitioned: "PARTITION BY HASH (id)"
    // create_sql: the whole executable statement, "CREATE TABLE s.p PARTITION OF s.parent
    // FOR VALUES ... [PARTITION BY ...] [USING am] [WITH (storage options)]".
    std::string create_sql;
};

// planned_index: an index to create on the partitioned parent.
struct planned_index {
    std::string name;
    std::string create_sql;    // CREATE [UNIQUE] INDEX ... ON ONLY? parent ... (executable)
    std::string source_index;  // the source index it recreates
    bool is_primary = false;
    bool is_unique = false;
    bool extended_with_partition_key = false;  // uniqueness weakened: warned about
    // using_clause: the source index's using_clause re-aimed at the target, with the partition
    // key columns added for unique indexes: for building it per partition (ON ONLY + ATTACH).
    std::string using_clause;
    std::string comment_sql;  // COMMENT ON INDEX ..., empty when the source index has none
};

// range_coverage: until when the partitioned table takes rows (a RANGE level without a DEFAULT
// partition refuses rows past its last partition).
struct range_coverage {
    std::string key;                   // the RANGE level's key column
    std::string until;                 // its last upper bound as written: "'2027-05-01'", "40000"
    std::optional<int64_t> days_left;  // time keys: whole days from the plan's now to `until`
    bool has_default = false;          // a DEFAULT partition takes what the ranges do not
    // stray_warning: the newest key value makes more than stray_partitions partitions after
    // premake's (planner.hpp): the warning naming it, for add_coverage_lines.
    std::optional<std::string> stray_warning;
};

struct target_plan {
    catalog::qualified_name source;
    catalog::qualified_name target;  // NAME_new unless overridden
    std::string final_name;          // the name after cutover (partitions are named after it)
    partition_spec spec;
    std::string create_table_sql;             // CREATE TABLE target (...) PARTITION BY ...
    std::vector<partition> partitions;        // parents before their children
    std::vector<planned_index> indexes;       // primary key first
    std::vector<std::string> constraint_sql;  // CHECKs not inlined, outbound FKs, comments, ...
    std::vector<std::string> warnings;        // one line each, rendered as "-- WARNING: ..."
    std::vector<std::string> notes;           // informational lines
    std::optional<range_coverage> coverage;   // RANGE plans (level 1, else level 2)
};

}  // namespace partshift::plan
