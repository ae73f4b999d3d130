// index_builder: builds the target's indexes after the copy, one build per leaf partition and
// in parallel, then attaches each leaf index to an index created ON ONLY its parent, so the
// parent index becomes valid without ever building over the whole table in one statement.
// The primary key goes the same way through constraints (what PostgreSQL 15 accepts):
//   ALTER TABLE ONLY parent ADD CONSTRAINT pk PRIMARY KEY (…)      -- invalid until attached
//   ALTER TABLE leaf ADD CONSTRAINT leaf_pk PRIMARY KEY (…)        -- per leaf, in parallel
//   ALTER INDEX pk ATTACH PARTITION leaf_pk                       -- bottom-up
// (ALTER TABLE parent ADD PRIMARY KEY without ONLY does not reuse plain unique leaf indexes:
// it builds new ones, serially; an index can only be attached to a PK index if it backs a
// PRIMARY KEY constraint itself.) Resumable: existing valid indexes and attachments are kept.
// Must not copy rows or decide which indexes the target needs (the planner does).
#pragma once

#include <utility>  // before Asio's coroutine headers (GCC 12 + Boost 1.74)

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "partshift/base/progress.hpp"
#include "partshift/catalog/table_model.hpp"
#include "partshift/throttle/copy_gate.hpp"

namespace partshift::copy {

struct index_to_build {
    std::string name;  // the parent index (or PK constraint) name, unquoted
    // CREATE [UNIQUE] INDEX name ON ONLY <target> USING …; used for the root as given. Empty:
    // rendered from name and using_clause. Ignored for the primary key.
    std::string create_on_parent_sql;
    // "USING btree (a, lower(b)) WHERE …" (table_model's index::using_clause), re-aimed at each
    // partition. Empty: taken from create_on_parent_sql, from its " USING " on.
    std::string using_clause;
    bool is_primary = false;
    bool is_unique = false;
    std::vector<std::string> key_columns;  // unquoted; required for the primary key
};

struct index_build_options {
    int workers = 2;  // connections building leaf indexes at the same time
    std::string application_name = "partshift-index";
    std::string maintenance_work_mem;  // per build session, e.g. "256MB"; empty = server's
    // concurrently: for a target that is being written to (build_unique_indexes always sets
    // it). Leaf indexes are built with CREATE INDEX CONCURRENTLY and invalid leftovers dropped
    // with DROP INDEX CONCURRENTLY, so writers are never blocked for the length of a build;
    // the catalog-only steps (ON ONLY parent indexes, ATTACH) wait for their brief locks at
    // most a lock_timeout at a time and retry, so writers never queue behind them for long;
    // a stop cancels the builds in flight. Not for the primary key (always ALTER TABLE).
    bool concurrently = false;
    // Counts the partition builds planned and finished (index_builds_total / _done), for the
    // index phase's progress and time left; none = not counted.
    base::progress* progress = nullptr;
    // The copy's throttles hold the index build too, between leaf builds (a build under way
    // runs to its end): no build starts while the copy is throttled or paused, and with a
    // --max-copy-rate ceiling each build waits its turn as if its partition's rows were
    // copied again. A build writes the whole partition's index into the WAL the clients'
    // commits flush behind, so an unpaced one stalls them as an unpaced copy would.
    // none = unthrottled.
    throttle::copy_gate* gate = nullptr;
    // Bytes per row, for a partition that has no row estimate yet (reltuples -1 until its
    // first index build or ANALYZE): its size divided by this is the rows it is paced by.
    double bytes_per_row = 100;
};

// build_indexes builds the primary key and every non-unique index of `indexes` on `target`
// (entries with is_unique && !is_primary are left for build_unique_indexes). Returns false if
// `stop` was raised (leaf builds already running finish; nothing is attached half-way that a
// rerun would not complete); throws runtime_error naming the index and partition on failure.
boost::asio::awaitable<bool> build_indexes(std::string dsn, catalog::qualified_name target,
                                           std::vector<index_to_build> indexes,
                                           index_build_options options,
                                           const std::atomic<bool>& stop);

// build_unique_indexes builds the secondary UNIQUE indexes (is_unique && !is_primary), run by
// the orchestrator once the idempotent replay window has ended, while the applier keeps
// writing: always with options.concurrently. A leaf index left INVALID by an interrupted
// build is dropped and built again; valid ones and attachments are kept. A unique violation
// (the target's data diverged) throws runtime_error naming the index, the partition and the
// server's detail, after dropping the invalid leftover, which would otherwise keep enforcing
// uniqueness on writes.
boost::asio::awaitable<bool> build_unique_indexes(std::string dsn, catalog::qualified_name target,
                                                  std::vector<index_to_build> indexes,
                                                  index_build_options options,
                                                  const std::atomic<bool>& stop);

// Blocking forms on a private io_context, for callers without one.
bool build_indexes_blocking(const std::string& dsn, const catalog::qualified_name& target,
                            const std::vector<index_to_build>& indexes,
                            const index_build_options& options, const std::atomic<bool>& stop,
                            bool unique_only = false);

// index_from_model: an index_to_build for a source index re-aimed at the target. Index names
// are unique per schema and the source keeps its indexes until cutover, so the target's
// index needs a name of its own. For the primary key pass the target's key columns (the
// source key plus the partition key columns); empty keeps the source's.
index_to_build index_from_model(const catalog::index& source_index, std::string target_name,
                                std::vector<std::string> target_key_columns = {});

// child_index_name: the name of the index on partition `relation` attached to parent index
// `index_name`: "<relation>_<index_name>", or for the primary key "<relation>_pkey"; cut to
// 63 bytes with a hash suffix so distinct inputs keep distinct names.
std::string child_index_name(std::string_view relation, std::string_view index_name,
                             bool is_primary);

// server_build_helpers: the parallel maintenance workers (max_parallel_maintenance_workers)
// one leaf build may ask the server for, with `builds_in_flight` builds running counting
// itself. --copy-workers bounds the processes building at once: while every session builds,
// each build runs alone; a build started when sessions have nothing left to build takes their
// share. Never more than `server_setting`, the role's or database's own.
int server_build_helpers(int workers, int builds_in_flight, int server_setting);

// using_clause_of: the " USING …" tail of a CREATE INDEX statement ("" when absent).
std::string using_clause_of(std::string_view create_index_sql);

}  // namespace partshift::copy
