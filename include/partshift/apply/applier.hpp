// applier: replays decoded pgoutput changes of one or more source tables onto their
// partitioned targets (DESIGN.md step 5), in source commit order, over one connection, in one
// target transaction per batch with one applied-LSN checkpoint. One dispatch() over messages
// into handle_begin/commit/relation/insert/update/delete/truncate/message; idempotent mode up
// to the end of the copy window, strict after; many source transactions per target
// transaction, statements pipelined, and the applied LSN written in the same target
// transaction as the changes (invariant 2). In strict mode, runs of consecutive changes of one
// kind (INSERTs, DELETEs, UPDATEs of one column mask) of one relation with distinct keys go as
// one set-based statement each, across source transactions of the batch; the run is sent
// before any other statement (a change of another relation included), so statements still run
// in source order.
// Laid out as PostgreSQL's worker.c: this class dispatches each message kind to its handler
// and applies the rules; session_setup opens and sets up its sessions; apply_session (one
// lane) pipelines the statements, sends the row groups (row_grouping) and commits the batch;
// result_check says what each result means.
// Lanes (--apply-workers K): K apply_sessions, each its own connection, batch and checkpoint
// row (lane_store). This one dispatcher reads the feed in commit order and sends each row
// change to the lane of its key (lane_routing), so every key keeps its order; every lane
// opens and counts every source transaction, and they commit their batches together at a
// source commit. What could conflict across lanes runs alone on lane 0 behind a barrier (every
// lane commits, the change, lane 0 commits: a barrier in the middle of a source transaction
// checkpoints how many of its changes went, lane_position), and a table with another unique
// index goes to lane 0 whole. The job's applied LSN is the slowest lane's; the fence is
// published once every lane has committed its transaction. One lane is the apply of before.
// Must not: read the slot or the spool (that is the change_feed's job), buffer a whole source
// transaction (memory stays bounded by the pipeline depth and the run caps), or write a 'u'
// column (inv. 3).
#pragma once

#include <utility>  // before Asio's coroutine headers (GCC 12 + Boost 1.74)

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "partshift/apply/applier_options.hpp"
#include "partshift/apply/apply_session.hpp"
#include "partshift/apply/change_feed.hpp"
#include "partshift/apply/lane_routing.hpp"
#include "partshift/apply/relation_state.hpp"
#include "partshift/apply/sql_builder.hpp"
#include "partshift/base/progress.hpp"
#include "partshift/catalog/table_model.hpp"
#include "partshift/pg/async_connection.hpp"
#include "partshift/stream/pgoutput_messages.hpp"

namespace partshift::apply {

class applier {
  public:
    // source: the table model (its oid is the relid the stream uses; its non-generated
    // columns are what Relation messages must match; its apply key is the row identity).
    // fence_prefix: the prefix of this job's cutover fence messages, state::fence_prefix(job)
    // (per job, so a fence of another job in the same database never counts for this one);
    // required, no default: a wrong one would silently never match.
    // progress: updated after each target commit. Throws usage_error if the source has no key
    // or fence_prefix is empty.
    // The same as one relation_target of options.target and options.partition_columns.
    applier(const catalog::table_model& source, applier_options options, std::string fence_prefix,
            base::progress& progress);
    // relations: every relation of the stream to apply, each to its own target; changes of
    // other relids are ignored. One connection, batch, checkpoint (options.job) and idempotent
    // window for all. Throws usage_error when the list is empty, names a relid or a
    // skipped-keys job twice, a source has no key, or fence_prefix is empty.
    applier(std::vector<relation_target> relations, applier_options options,
            std::string fence_prefix, base::progress& progress);
    ~applier();
    applier(const applier&) = delete;
    applier& operator=(const applier&) = delete;

    // run connects, sets session_replication_role = replica, reads the saved applied LSN from
    // partshift.jobs, then applies until the feed returns nullopt. At that point it commits the
    // open batch if it ends at a source commit (otherwise rolls the partial one back; it is
    // re-applied on resume) and returns. Errors (divergence, schema change, lost connection)
    // throw; nothing uncommitted survives them and the next run resumes from the applied LSN.
    asio::awaitable<void> run(change_feed& feed);

    // Last source commit end LSN committed on the target by every lane (also in
    // progress.applied_lsn).
    stream::lsn_t applied_lsn() const { return positions_.applied.load(); }
    // Of applied_lsn(), what the target's WAL flush covers (also progress.durable_applied_lsn).
    stream::lsn_t durable_applied_lsn() const { return positions_.durable.load(); }
    // LSN of the last logical message with the fence prefix (the cutover fence), published
    // only once every transaction before it is committed on the target; 0 if none yet.
    stream::lsn_t fence_lsn() const { return positions_.fence.load(); }
    // Content of that fence message (read on the io_context thread only).
    const std::string& fence_content() const { return positions_.fence_content; }
    bool strict() const { return strict_; }
    // Changes sent inside set-based statements so far (strict mode, set_based on).
    int64_t rows_grouped() const { return positions_.rows_grouped.load(); }
    // The lanes of the current (or last) run.
    size_t lanes() const { return lanes_.size(); }

  private:
    // The run: start_session sets the apply sessions up (`workers` lanes, else as the options
    // or the job's row say) and reads where the job stands; apply_feed dispatches the feed's
    // messages; finish_feed closes the open batch.
    asio::awaitable<void> run_loop(change_feed& feed);
    asio::awaitable<void> start_session(std::optional<int> workers = std::nullopt);
    // lanes_wanted: the lanes `partshift set --apply-workers` asks for while this run goes
    // (progress.apply_workers), when that is not how many it has; else 0. change_lanes: commits
    // the open batch and starts that many (between two source transactions only).
    int lanes_wanted() const;
    // rest_if_paced: while the catch-up is paced (--catch-up-pace), waits out the rest of the
    // slice before the next source transaction (base/catch_up_pace.hpp).
    asio::awaitable<void> rest_if_paced();
    asio::awaitable<void> change_lanes();
    asio::awaitable<void> apply_feed(change_feed& feed);
    asio::awaitable<void> finish_feed();

    // dispatch: one handler per message kind (PostgreSQL's apply_dispatch).
    asio::awaitable<void> dispatch(const stream::message& message);
    asio::awaitable<void> handle_begin(const stream::begin_msg& m);
    asio::awaitable<void> handle_commit(const stream::commit_msg& m);
    asio::awaitable<void> handle_relation(const stream::relation_msg& m);
    asio::awaitable<void> handle_insert(const stream::insert_msg& m);
    asio::awaitable<void> handle_update(const stream::update_msg& m);
    asio::awaitable<void> handle_delete(const stream::delete_msg& m);
    asio::awaitable<void> handle_truncate(const stream::truncate_msg& m);
    asio::awaitable<void> handle_message(const stream::logical_message_msg& m);

    asio::awaitable<void> update_idempotent(relation_state& rel, stream::tuple& row,
                                            const pg::param_list& old_key,
                                            const pg::param_list& new_key, bool key_changed);
    // key_change_from_source: the idempotent key change k1 → k2 whose new tuple lacks
    // unchanged-TOAST columns and whose k2 is not on the target: k2's row from the source.
    asio::awaitable<void> key_change_from_source(relation_state& rel, const stream::tuple& row,
                                                 const pg::param_list& new_key);
    asio::awaitable<void> update_strict(relation_state& rel, stream::tuple& row,
                                        const stream::tuple* old_row, const pg::param_list& old_key,
                                        bool key_changed);
    // groupable: set-based apply is on and possible for this relation, and the batch is strict.
    bool groupable(const relation_state& rel) const { return strict_ && rel.sets_supported; }

    // track_skipped: `key` was left out of the target by design (skipped = true), or a change
    // removed it or gave it a full row (false); written in the batch when the set changes.
    asio::awaitable<void> track_skipped(relation_state& rel, const pg::param_list& key,
                                        bool skipped);
    // commit_batch: every lane's batch commit, then the slowest lane's position and a fence
    // held are published; no deadline is pending after it.
    asio::awaitable<void> commit_batch();
    // commit_lanes: every open lane's batch, checked on all before any commits.
    asio::awaitable<void> commit_lanes();
    bool batch_open() const;
    // route: points lane_ at the lane for the current change of `rel` on `key` (a barrier
    // first when lane_routing says so); true when that lane applied it before a restart.
    asio::awaitable<bool> route(const relation_state& rel, change_kind kind,
                                const pg::param_list& key, bool key_changed);
    // barrier: every lane commits what it holds, marked as far as change `ordinal` of the open
    // transaction, and opens a new batch. after_barrier: lane 0 commits the change it ran.
    asio::awaitable<void> barrier(int64_t ordinal);
    asio::awaitable<void> after_barrier();
    // publish_lanes: the slowest lane's applied and durable LSNs (several lanes).
    void publish_lanes();

    // relation_for: the relation of a relid, or nullptr when it is not one of this applier's.
    relation_state* relation_for(uint32_t relid);
    void check_tuple(const relation_state& rel, const stream::tuple& row, const char* what) const;
    asio::awaitable<std::optional<pg::param_list>> read_source_row(const relation_state& rel,
                                                                   const pg::param_list& key);

    applier_options options_;
    const std::string fence_prefix_;
    base::progress& progress_;
    // By relid. Node-based: pending statements and the open groups point into the entries.
    std::unordered_map<uint32_t, relation_state> relations_;
    stream::lsn_t idempotent_until_ = 0;
    applier_positions positions_;

    // The apply lanes of this run (new ones per run), their positions (several lanes only:
    // one lane publishes into positions_), where each stood at the run's start, the tables
    // kept on lane 0, and the lane of the change being dispatched. And the source lookup
    // session.
    std::vector<std::unique_ptr<apply_session>> lanes_;
    std::vector<std::unique_ptr<applier_positions>> lane_positions_;
    std::vector<lane_position> saved_;
    std::unordered_set<uint32_t> pinned_;
    apply_session* lane_ = nullptr;
    int64_t grouped_before_ = 0;  // rows_grouped at the run's start (several lanes)
    std::optional<pg::async_connection> source_conn_;  // idempotent key-change lookups only
    change_feed* feed_ = nullptr;

    // Source transaction being read.
    bool in_txn_ = false;
    bool skip_txn_ = false;
    bool strict_ = false;
    stream::lsn_t txn_commit_lsn_ = 0;
    int64_t txn_changes_ = 0;     // row changes of it seen so far (every relation and lane)
    int64_t change_ordinal_ = 0;  // the number of the change being dispatched, from 0
    bool barrier_after_ = false;  // the change being dispatched ran behind a barrier
    // A transactional fence in the open batches: published once every lane committed it.
    std::optional<std::pair<stream::lsn_t, std::string>> held_fence_;
    // Caught up with a young batch: commit at this time unless more data comes first.
    std::optional<std::chrono::steady_clock::time_point> commit_due_at_;
};

}  // namespace partshift::apply
