// partition_tree: the relations below a partitioned source table and how to tell whether that
// tree changed. A re-partitioning job copies and streams the source through its root
// (publish_via_partition_root), so a partition attached during the job brings rows nobody
// copied and a detached one takes rows away without a DELETE in the stream; the job records
// the tree when it starts and stops as soon as it differs (DESIGN.md: DDL stops the job).
// Reading is one catalog query; comparing is pure. Must not write anything.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "partshift/catalog/table_model.hpp"
#include "partshift/pg/connection.hpp"
#include "partshift/pg/result.hpp"

namespace partshift::catalog {

// partition_tree_sql: every relation below the partitioned table $1 (an oid), with columns
// oid, nspname, relname, parent, bound, bound_id, relkind, detach_pending; by level, then name.
// pg_inherits is walked instead of pg_partition_tree() so a DETACH ... CONCURRENTLY that
// has not finished is seen as such.
extern const char* const partition_tree_sql;

// partition_members reads the rows of partition_tree_sql (replica identity left default).
std::vector<partition_member> partition_members(const pg::result& r);

// read_partition_tree: partition_tree_sql + partition_members.
std::vector<partition_member> read_partition_tree(pg::connection& conn, uint32_t root_oid);

// recorded_member: what a job keeps of one member: its oid and member_text().
using recorded_member = std::pair<uint32_t, std::string>;

// changed_marker_oid: a recorded member with this oid is not a relation but the first change
// a run saw (its text); the tree stays "changed" even if the change is undone.
inline constexpr uint32_t changed_marker_oid = 0;

// member_text: name, parent and bound (its bound_id) of one member in one line; equal lines,
// equal member.
std::string member_text(const partition_member& m);

// describe_tree_change: nullopt when `now` holds exactly the recorded members; otherwise one
// sentence naming the first difference (a partition attached, detached, or re-attached with
// another bound, or a change recorded by an earlier run) and what to do. root: the source as
// the user wrote it, for the message.
std::optional<std::string> describe_tree_change(const std::vector<recorded_member>& recorded,
                                                const std::vector<partition_member>& now,
                                                const std::string& root);

}  // namespace partshift::catalog
