// source_partitions: the partition tree of a partitioned source as the job found it when it was
// prepared (partshift.source_partitions), and the check that it is still the same. A partition
// attached or detached during a re-partitioning job changes the source's rows without changes
// in the stream, so the job stops instead (README, "Re-partitioning").
// Must not read anything but the catalog and that table; must not write the source.
#pragma once

#include <string>
#include <vector>

#include "partshift/catalog/partition_tree.hpp"
#include "partshift/pg/connection.hpp"
#include "partshift/pg/result.hpp"

namespace partshift::state {

// record_source_partitions replaces the job's recorded tree with `members`.
void record_source_partitions(pg::connection& conn, const std::string& job,
                              const std::vector<catalog::partition_member>& members);

// mark_source_partitions_changed_sql: records change $2 of job $1 (catalog::changed_marker_oid),
// once, so later runs refuse too.
extern const char* const mark_source_partitions_changed_sql;

// load_source_partitions_sql: the recorded members of job $1 (columns relid, member).
extern const char* const load_source_partitions_sql;

// recorded_members reads the rows of load_source_partitions_sql.
std::vector<catalog::recorded_member> recorded_members(const pg::result& r);

// check_source_partitions: when the job's source is a partitioned table, throws
// partshift::runtime_error naming the change if its tree is not the recorded one. Nothing to
// check for a plain source. Under a lock that holds DDL off (the cutover's SHARE UPDATE
// EXCLUSIVE) the answer stays true until that lock is released.
void check_source_partitions(pg::connection& conn, const std::string& job,
                             const catalog::qualified_name& source);

}  // namespace partshift::state
