// relation_state: what the applier keeps for one source relation it replays: the statements
// for its target and its source, the partition columns a strict UPDATE looks in, what
// set-based apply may do with it and its skipped keys (the open row groups are the lanes'). Also
// the pure checks of one relation (its Relation message, its partition values). No connection and
// no I/O here: the applier sends every statement.
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

// relation_change_text: why a Relation message no longer matches the columns the job was
// planned for (expected), naming the columns and their types by name (stream_types: the
// server's names of the message's column types by position; an empty one shows the oid),
// and what to run next: the job cannot follow a change of columns, so it is aborted (job)
// and started again. nullopt: they match.
std::optional<std::string> relation_change_text(const std::string& table, const std::string& job,
                                                const std::vector<column_def>& expected,
                                                const std::vector<stream::relation_column>& now,
                                                const std::vector<std::string>& stream_types);

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

    // matches: the stream still describes the table the job was planned for (else the job
    // stops with relation_change_text).
    bool matches(const stream::relation_msg& m) const;
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
    skipped_keys skipped;  // keys missing from the target by design (skipped_keys.hpp)
};

}  // namespace partshift::apply
