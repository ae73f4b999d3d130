// apply_session: one apply lane: one session on the target in pipeline mode, the statements
// queued on it and their checks, the open set-based runs it sends, and its target transaction
// (batch) with the applied-LSN checkpoint committed in that same transaction (invariant 2):
// partshift.jobs.applied_lsn when it is the only lane, its own row of partshift.apply_lanes
// when the applier runs several (lane_store.hpp).
// Statements go out in the order they are queued; a run of grouped changes goes before any
// other statement, and a later statement on a key whose located update is still in flight
// waits for it, so every key's changes keep their source order. A full pipeline is marked with
// a sync point and sending goes on: only the point before it is read then, so the backend
// always has work queued while the applier dispatches (to other lanes, too). The applier decides
// what to send (dispatch, the apply rules and the lane of each change: lane_routing.hpp). Must not:
// decode or read the feed, decide apply rules, or open its own connection (the applier hands it one
// set up by session_setup).
#pragma once

#include <utility>  // before Asio's coroutine headers (GCC 12 + Boost 1.74)

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "partshift/apply/applier_options.hpp"
#include "partshift/apply/durable_lsn.hpp"
#include "partshift/apply/relation_state.hpp"
#include "partshift/apply/result_check.hpp"
#include "partshift/apply/row_grouping.hpp"
#include "partshift/apply/session_setup.hpp"
#include "partshift/base/progress.hpp"
#include "partshift/pg/async_connection.hpp"
#include "partshift/stream/pgoutput_messages.hpp"

namespace partshift::apply {

// applier_positions: what the applier publishes for other threads. Outlives every session (a
// run after a failed one opens a new one). With several lanes each lane has its own (applied
// and durable are then that lane's) and the applier publishes the slowest lane's.
struct applier_positions {
    std::atomic<stream::lsn_t> applied{0};  // last source commit end committed on the target
    std::atomic<stream::lsn_t> durable{0};  // of applied, what the target's WAL flush covers
    std::atomic<stream::lsn_t> fence{0};    // the last cutover fence applied (the applier's)
    std::string fence_content;              // its content (io_context thread only)
    std::atomic<int64_t> rows_grouped{0};   // changes sent inside set-based statements
};

// lane_identity: which of the applier's lanes a session is. One lane (count 1) checkpoints in
// partshift.jobs and publishes its positions in progress itself; of several, each writes its
// row of partshift.apply_lanes, the last also the job's applied_lsn (their lowest), and the
// applier publishes.
struct lane_identity {
    size_t index = 0;
    size_t count = 1;
};

class apply_session {
  public:
    // conn: set up by open_apply_session, not yet in pipeline mode. options, progress and
    // positions must outlive the session.
    apply_session(pg::async_connection conn, const applier_options& options,
                  base::progress& progress, applier_positions& positions, lane_identity lane = {});
    apply_session(const apply_session&) = delete;
    apply_session& operator=(const apply_session&) = delete;

    // start: the job's position read at setup (the saved applied LSN may not be flushed yet);
    // enters pipeline mode. finish: leaves it (the batch must be closed).
    void start(const job_position& position);
    void finish();

    // begin_source_transaction: the source transaction the next statements belong to (named
    // in their errors).
    void begin_source_transaction(stream::lsn_t commit_lsn) { txn_commit_lsn_ = commit_lsn; }

    // queue: one prepared statement for a change of `rel` (prepared on first use); `key`
    // names the row in a checked statement's divergence. queue_sql: a plain statement that is
    // no change of a relation (BEGIN, checkpoint, skipped keys, TRUNCATE). Both sync when the
    // pipeline is full.
    asio::awaitable<void> queue(const relation_state& rel, const statement& st,
                                pg::param_list params, check expect, const char* operation,
                                pg::param_list key = {});
    asio::awaitable<void> queue_sql(const std::string& sql, pg::param_list params,
                                    check expect = check::none, const char* operation = "");
    // send_update: the row-by-row strict UPDATE by key, located in the partition of `where`
    // first when given (with the fallback by key alone).
    asio::awaitable<void> send_update(relation_state& rel, const column_mask& mask,
                                      pg::param_list params, const pg::param_list& old_key,
                                      std::optional<pg::param_list> where, stream::lsn_t lsn);

    // add_to_group: appends one strict-mode change (its statement parameters, as the row-by-row
    // statement would take them) to the open run of its relation, sending runs first as
    // place_change says (and every run first when they belong to another relation), and the
    // run after when it is full.
    asio::awaitable<void> add_to_group(relation_state& rel, group_kind kind,
                                       const column_mask& mask, const pg::param_list& params,
                                       const pg::param_list& key, const char* operation,
                                       std::optional<pg::param_list> where = std::nullopt);
    // flush_groups: sends every open run as one set-based statement each (their keys are
    // disjoint, so their order does not matter).
    asio::awaitable<void> flush_groups();
    // settle_located: syncs when an update located in a partition is still in flight, so a
    // statement touching every key (TRUNCATE) runs after its fallback.
    asio::awaitable<void> settle_located();
    // sync: pipeline sync, read every result in flight, check it (result_check); throws on
    // any failure.
    asio::awaitable<void> sync();
    // set_before_wait: called before this session blocks on its results (the applier pushes
    // every lane's unsent statements then, so no backend idles while another lane is read).
    // push_output: sends what the socket takes of the unsent statements, without waiting.
    void set_before_wait(std::function<void()> hook) { before_wait_ = std::move(hook); }
    void push_output() { PQflush(conn_.native()); }
    // push_groups: sends the open runs that can go without waiting (none of their keys has a
    // located update in flight), then push_output: called while another lane is waited on,
    // so this lane's backend has their rows to apply meanwhile. Never waits.
    void push_groups();
    // probe_rows: the row count of the one probe statement of the last sync (-1: none yet).
    int64_t probe_rows() const { return probe_rows_; }
    void reset_probe() { probe_rows_ = -1; }

    // The batch: one target transaction over many source transactions.
    bool batch_open() const { return batch_open_; }
    asio::awaitable<void> open_batch();
    // count_change / count_transaction: a change, or a source commit (its end LSN), is in the
    // batch. mark_partial: the batch ends inside the source transaction committed at
    // `commit_lsn` (a barrier), with its changes numbered below `changes` sent; the lane's
    // checkpoint says so (several lanes only).
    void count_change() { ++batch_changes_; }
    void count_transaction(stream::lsn_t end_lsn);
    void mark_partial(stream::lsn_t commit_lsn, int64_t changes) {
        partial_ = {commit_lsn, changes};
    }
    int64_t batch_transactions() const { return batch_txns_; }
    std::chrono::steady_clock::time_point batch_started() const { return batch_started_; }
    // commit_batch: runs the open runs and the checkpoint, checks every result, commits, and
    // publishes the applied LSN: prepare_commit then finish_commit. After prepare_commit only
    // the COMMIT (and, on the last of several lanes, the job's applied LSN) can fail, so the
    // applier prepares every lane before it commits any: a divergence leaves no lane's batch.
    // Each in two halves, so the applier sends to every lane before it waits on one:
    // send_prepare then sync; send_commit then end_commit.
    // rollback_batch: drops the open runs and rolls the batch back (resume re-applies it).
    asio::awaitable<void> commit_batch();
    asio::awaitable<void> prepare_commit();
    asio::awaitable<void> send_prepare();
    asio::awaitable<void> finish_commit();
    asio::awaitable<void> send_commit();
    asio::awaitable<void> end_commit();
    asio::awaitable<void> rollback_batch();

  private:
    // enqueue: queue for a statement with its pending record ready; send: the pipeline write.
    asio::awaitable<void> enqueue(const statement& st, const pg::param_list& params, pending p);
    void send(const statement& st, const pg::param_list& params, pending p);
    // flush_group: sends one open run of `rel` (nothing if empty); a run of one row as the
    // row-by-row statement.
    asio::awaitable<void> flush_group(relation_state& rel, row_group& group);
    // send_group: the set statement of run `g` (two rows or more), into the pipeline.
    void send_group(relation_state& rel, row_group& g);
    asio::awaitable<void> send_single(relation_state& rel, row_group& g);
    // Sync points: mark_sync ends the unsynced tail with one; relieve does that for a full
    // tail and reads the point before it, if still unread; read_through reads every point up
    // to `point` (numbered from 1), sending the fallbacks of located updates that missed;
    // read_sync_point reads the oldest, checking each result (the misses go to `misses`).
    void mark_sync();
    asio::awaitable<void> relieve();
    asio::awaitable<void> read_through(uint64_t point);
    asio::awaitable<void> read_sync_point(std::vector<pending>& misses);
    // settle: waits until the located update of `located` (a located_key), and its fallback
    // if it needs one, has run.
    asio::awaitable<void> settle(const std::string& located);
    // mark_located: `located` has a located update (or its fallback) sent since the last sync
    // point, so the next point settles it. in_flight: one of them is not settled yet.
    void mark_located(const std::string& located) { located_keys_[located] = points_sent_ + 1; }
    bool in_flight(const std::string& located) const;
    size_t unsynced() const { return pending_.size() - in_points_; }
    void check_result(const pending& p, const pg::result& res, std::vector<pending>& misses);
    // settle_located_set: reads a located update run's result (the rows not updated exactly
    // once); rows not found in their partition become misses (fallback by key after the sync).
    void settle_located_set(const pending& p, const pg::result& res, std::vector<pending>& misses);
    void note_wal_positions(uint64_t insert_position, uint64_t flush_position);
    // queue_checkpoint: the batch's position: the job's row (one lane) or the lane's row.
    asio::awaitable<void> queue_checkpoint();
    // located_key: the key_text of a row of `rel` in located_keys_ (keys of two relations
    // never match).
    static std::string located_key(const relation_state& rel, const std::string& text);

    const applier_options& options_;
    base::progress& progress_;
    applier_positions& positions_;
    const lane_identity lane_;
    pg::async_connection conn_;
    prepared_statements prepared_;
    std::deque<pending> pending_;  // sent, result not read yet, oldest first
    // The sync points sent and not read: of pending_, the statements before each, and the
    // batch's changes sent by then. in_points_: their statements in all.
    struct sync_point {
        size_t statements = 0;
        int64_t changes = 0;
    };
    std::deque<sync_point> sync_points_;
    size_t in_points_ = 0;
    uint64_t points_sent_ = 0;
    uint64_t points_read_ = 0;
    // Keys with a located update (or its fallback) in flight (located_key), each with the sync
    // point that settles it: a later statement on one of them waits for that point first, so a
    // fallback can never run after a later change of its row.
    std::unordered_map<std::string, uint64_t> located_keys_;
    std::function<void()> before_wait_;
    // The relation whose row groups are open, if any: groups of one relation at a time, so a
    // change of another relation flushes them first and the source order holds across tables.
    // The groups are the lane's: two lanes group changes of one relation side by side.
    relation_state* grouped_ = nullptr;
    row_groups groups_;
    int64_t pending_group_rows_ = 0;  // rows of set statements in the unsynced pipeline
    // Result of the one probe statement a key change may sync for; read right after that
    // sync, so it belongs to no relation.
    int64_t probe_rows_ = -1;
    stream::lsn_t txn_commit_lsn_ = 0;  // the source transaction being read

    // Target transaction (batch) being built.
    bool batch_open_ = false;
    std::chrono::steady_clock::time_point batch_started_;
    int64_t batch_txns_ = 0;
    int64_t batch_changes_ = 0;
    int64_t batch_changes_written_ = 0;  // of batch_changes_, executed by the last sync
    stream::lsn_t batch_end_lsn_ = 0;
    std::optional<std::pair<stream::lsn_t, int64_t>> partial_;  // mark_partial
    durable_lsn durable_;
};

}  // namespace partshift::apply
