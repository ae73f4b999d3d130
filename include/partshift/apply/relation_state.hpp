// relation_state: what the applier keeps for one source relation it replays: the statements
// for its target and its source, the partition columns a strict UPDATE looks in, what
// set-based apply may do with it, its open row groups and its skipped keys. Also the pure
// checks of one relation (its Relation message, its partition values). No connection and no
// I/O here: the applier sends every statement.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "partshift/apply/row_grouping.hpp"
#include "partshift/apply/skipped_keys.hpp"
#include "partshift/apply/sql_builder.hpp"
#include "partshift/catalog/table_model.hpp"
#include "partshift/pg/params.hpp"
#include "partshift/stream/pgoutput_messages.hpp"

namespace partshift::apply {

// key_text: a key as one string (length-prefixed, so ("a,b"), ("a", "b") and NULL never
// collide): the form of skipped keys and of the keys a row group holds.
std::string key_text(const pg::param_list& key);

struct relation_state {
    // source: must outlive this (its oid is the relid; its non-generated columns are what
    // Relation messages must match; its apply key is the row identity). partition_columns:
    // the target's partition key columns (applier_options::partition_columns). set_based:
    // set-based apply is wanted (and a group may hold more than one row).
    // Throws usage_error if the source has no key.
    relation_state(const catalog::table_model& source, catalog::qualified_name target,
                   const std::vector<std::string>& partition_columns, std::string skipped_keys_job,
                   bool set_based);
    // Pending statements point into the builders: never copied or moved.
    relation_state(const relation_state&) = delete;
    relation_state& operator=(const relation_state&) = delete;

    // check_relation: the stream still describes the table the job was planned for; throws
    // runtime_error naming the table and the column otherwise.
    void check_relation(const stream::relation_msg& m) const;
    // partition_values: the row's partition key values for a located update; nullopt when
    // a lookup by them cannot help (no partition columns, all in the key, not sent, NULL, or
    // the full old row shows they changed).
    std::optional<pg::param_list> partition_values(const stream::tuple& row,
                                                   const stream::tuple* old_row) const;
    // describe: "(id)=(5) of "public"."src" (target "public"."src_new")" for error messages.
    std::string describe(const pg::param_list& key) const;
    std::string describe_key(const pg::param_list& key) const;
    bool is_skipped(const pg::param_list& key) const {
        return !skipped.empty() && skipped.contains(key_text(key));
    }
    bool any_group_open() const { return apply::any_group_open(groups); }

    const catalog::table_model& source;
    const catalog::qualified_name target;
    // partshift.skipped_keys rows of this relation are stored under this job name.
    const std::string skipped_keys_job;
    sql_builder target_sql;
    sql_builder source_sql;
    std::vector<size_t> located_columns;  // partition_columns as column indexes
    bool sets_supported = false;
    // sets_supported and no other UNIQUE/EXCLUDE index on the source: set UPDATEs, and runs
    // of different kinds open side by side.
    bool reorder_safe = false;
    // No set INSERT/UPDATE (this run): a DEFERRABLE constraint on source or target, or a plain
    // target with a unique index besides its key (session_setup: load_relation_facts).
    bool row_by_row_writes = false;
    // One open run per kind (insert, delete, update of one mask), with disjoint keys: a
    // workload that interleaves kinds (UPDATE a, INSERT b, UPDATE c, …) still goes in sets.
    // Only when reorder_safe; otherwise one run at a time, in source order.
    row_groups groups;
    skipped_keys skipped;  // keys missing from the target by design (skipped_keys.hpp)
};

}  // namespace partshift::apply
