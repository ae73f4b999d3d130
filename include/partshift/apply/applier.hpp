// applier: replays decoded pgoutput changes of the source table onto the partitioned target
// (DESIGN.md step 5). One dispatch() over messages into handle_begin/commit/relation/insert/
// update/delete/truncate/message; idempotent mode up to the end of the copy window, strict
// after; many source transactions per target transaction, statements pipelined, and the
// applied LSN written in the same target transaction as the changes (invariant 2). In strict
// mode, runs of consecutive changes of one kind (INSERTs, DELETEs, UPDATEs of one column mask)
// with distinct keys go as one set-based statement each, across source transactions of the
// batch; the run is sent before any other statement, so statements still run in source order.
// Must not: read the slot or the spool (that is the change_feed's job), buffer a whole source
// transaction (memory stays bounded by the pipeline depth and the run caps), or write a 'u'
// column (inv. 3).
#pragma once

#include <utility>  // before Asio's coroutine headers (GCC 12 + Boost 1.74)

#include <array>
#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "partshift/apply/change_feed.hpp"
#include "partshift/apply/skipped_keys.hpp"
#include "partshift/apply/sql_builder.hpp"
#include "partshift/catalog/table_model.hpp"
#include "partshift/monitor/progress.hpp"
#include "partshift/pg/async_connection.hpp"
#include "partshift/stream/pgoutput_messages.hpp"

namespace partshift::apply {

struct applier_options {
    std::string dsn;                 // the database holding source, target and partshift.jobs
    std::string job;                 // partshift.jobs.job: where the applied LSN is saved
    catalog::qualified_name target;  // the partitioned target (unquoted names)
    // End of the idempotent window: the highest chunk high LSN. Transactions committed at or
    // before it are applied idempotently, later ones strictly. nullopt: read
    // partshift.jobs.max_chunk_high_lsn at start (NULL there means "0": strict from the start).
    std::optional<stream::lsn_t> idempotent_until;
    // A target transaction commits at a source commit once it holds this many source
    // transactions, or once it has been open this long, or when the feed is caught up.
    int max_batch_transactions = 1000;
    std::chrono::milliseconds max_batch_delay{500};
    // ... but when caught up, a batch younger than this waits that long for more source
    // commits first (a target commit per source commit would double the server's commit
    // work while following). A batch holding the cutover fence commits at once.
    std::chrono::milliseconds min_batch_age{50};
    // Statements queued before a pipeline sync: bounds memory and the size of a failed segment.
    int pipeline_depth = 1000;
    std::string application_name = "partshift-apply";
    // The target's partition key columns (both levels). A strict-mode UPDATE looks for its
    // row in the partition of its new values first, so the server prunes to one partition
    // instead of probing every partition's key index; empty: no such lookups.
    std::vector<std::string> partition_columns;
    // Prefix of this job's cutover fence messages (state::fence_prefix): per job, so a fence of
    // another job in the same database never counts for this one.
    std::string fence_prefix = "partshift";
    // Set-based apply in strict mode: runs of consecutive INSERTs, DELETEs, or UPDATEs with
    // the same column mask (distinct keys) go as one statement over unnested arrays, up to
    // these many rows and bytes of values per statement (memory stays bounded: inv. 6).
    // The apply session turns hash and merge joins off, so the generic plan joins the rows to
    // the target by key-index probes (with run-time partition pruning when the key holds the
    // partition key), never by a hash join over sequential scans of every partition.
    bool set_based = true;
    // synchronous_commit = off on the apply session: a batch commit does not wait for the
    // target's WAL flush (the clients' commits share that disk). Exactness is kept: the
    // applied LSN commits with the changes, so a lost commit loses both; what must not run
    // ahead of the flush (deleting spool segments) follows durable_applied_lsn().
    bool asynchronous_commit = true;
    // Fault injection for tests (an applier slower than the source): a pause after each source
    // transaction. Zero outside tests.
    std::chrono::milliseconds test_delay_per_transaction{0};
    int max_group_rows = 1000;
    size_t max_group_bytes = 4 * 1024 * 1024;
};

class applier {
  public:
    // source: the table model (its oid is the relid the stream uses; its non-generated
    // columns are what Relation messages must match; its apply key is the row identity).
    // progress: updated after each target commit. Throws usage_error if the source has no key.
    applier(const catalog::table_model& source, applier_options options,
            monitor::progress& progress);
    ~applier();
    applier(const applier&) = delete;
    applier& operator=(const applier&) = delete;

    // run connects, sets session_replication_role = replica, reads the saved applied LSN from
    // partshift.jobs, then applies until the feed returns nullopt. At that point it commits the
    // open batch if it ends at a source commit (otherwise rolls the partial one back; it is
    // re-applied on resume) and returns. Errors (divergence, schema change, lost connection)
    // throw; nothing uncommitted survives them and the next run resumes from the applied LSN.
    asio::awaitable<void> run(change_feed& feed);

    // Last source commit end LSN committed on the target (also in progress.applied_lsn).
    stream::lsn_t applied_lsn() const { return applied_lsn_.load(); }
    // Of applied_lsn(), what the target's WAL flush covers (also progress.durable_applied_lsn).
    stream::lsn_t durable_applied_lsn() const { return durable_applied_lsn_.load(); }
    // LSN of the last logical message with the fence prefix (the cutover fence), published
    // only once every transaction before it is committed on the target; 0 if none yet.
    stream::lsn_t fence_lsn() const { return fence_lsn_.load(); }
    // Content of that fence message (read on the io_context thread only).
    const std::string& fence_content() const { return fence_content_; }
    bool strict() const { return strict_; }
    // Changes sent inside set-based statements so far (strict mode, set_based on).
    int64_t rows_grouped() const { return rows_grouped_.load(); }

  private:
    // located: an UPDATE in the partition of the new values, which may find nothing; the
    // fallback (the plain update by key, checked for one row) then runs before anything
    // else touches that key.
    // set: a set-based statement over a row group; it returns the rows that diverged.
    // wal_positions: the target's WAL insert and flush positions read after a COMMIT.
    enum class check : uint8_t { none, one_row, insert, probe, located, set, wal_positions };
    // group_rows: the keys of a row group and their source transactions, in row order, kept
    // until the group's result is read so a divergence can name its key.
    struct group_rows {
        std::vector<pg::param_list> keys;
        std::vector<stream::lsn_t> commit_lsns;
        // A located update run (matched in the partition of each row's new values): each
        // row's plain update parameters, for the fallback by key of a row that moved.
        bool located = false;
        std::vector<pg::param_list> fallback_params;
    };
    // row_group: the open run of strict-mode changes of one kind (and one column mask for
    // updates), built column-wise into array literals as the changes arrive.
    enum class group_kind : uint8_t { none, insert, remove, update };
    struct row_group {
        group_kind kind = group_kind::none;
        column_mask mask;                  // update only
        bool located = false;              // update only: partition values follow the key
        std::vector<std::string> arrays;   // one open array literal per statement parameter
        std::shared_ptr<group_rows> rows;
        std::unordered_set<std::string> keys;  // key_text of every row
        size_t bytes = 0;
        const char* operation = "";
        pg::param_list first_params;                    // the first row's statement params
        std::optional<pg::param_list> first_where;      // update: its partition values
    };
    // pending: one queued statement whose results are still to be read.
    struct pending {
        pending(check e, const char* op, pg::param_list k, stream::lsn_t lsn)
            : expect(e), operation(op), key(std::move(k)), commit_lsn(lsn) {}
        check expect = check::none;
        const char* operation = "";
        pg::param_list key;            // only for checked statements, to name the key in an error
        stream::lsn_t commit_lsn = 0;  // the source transaction it belongs to
        const statement* fallback = nullptr;  // check::located only
        pg::param_list fallback_params;
        std::shared_ptr<const group_rows> group;  // check::set only
    };

    asio::awaitable<void> run_loop(change_feed& feed);
    asio::awaitable<void> dispatch(const stream::message& message);
    asio::awaitable<void> handle_begin(const stream::begin_msg& m);
    asio::awaitable<void> handle_commit(const stream::commit_msg& m);
    void handle_relation(const stream::relation_msg& m);
    asio::awaitable<void> handle_insert(const stream::insert_msg& m);
    asio::awaitable<void> handle_update(const stream::update_msg& m);
    asio::awaitable<void> handle_delete(const stream::delete_msg& m);
    asio::awaitable<void> handle_truncate(const stream::truncate_msg& m);
    asio::awaitable<void> handle_message(const stream::logical_message_msg& m);

    asio::awaitable<void> update_idempotent(stream::tuple& row, const pg::param_list& old_key,
                                            const pg::param_list& new_key, bool key_changed);
    asio::awaitable<void> update_strict(stream::tuple& row, const stream::tuple* old_row,
                                        const pg::param_list& old_key, bool key_changed);
    // send_update: the row-by-row strict UPDATE by key, located in the partition of `where`
    // first when given (with the fallback by key alone).
    asio::awaitable<void> send_update(const column_mask& mask, pg::param_list params,
                                      const pg::param_list& old_key,
                                      std::optional<pg::param_list> where, stream::lsn_t lsn);
    // partition_values: the row's partition key values for a located update; nullopt when
    // a lookup by them cannot help (no partition columns, all in the key, not sent, NULL, or
    // the full old row shows they changed).
    std::optional<pg::param_list> partition_values(const stream::tuple& row,
                                                   const stream::tuple* old_row) const;

    // add_to_group: appends one strict-mode change (its statement parameters, as the row-by-row
    // statement would take them) to the open row group, flushing it first when the kind or
    // mask differs or the key is already in it, and after when it is full.
    asio::awaitable<void> add_to_group(group_kind kind, const column_mask& mask,
                                       const pg::param_list& params, const pg::param_list& key,
                                       const char* operation,
                                       std::optional<pg::param_list> where = std::nullopt);
    // flush_groups: sends every open row group as one set-based statement each (their keys
    // are disjoint, so their order does not matter). Every other statement is sent after
    // them, which keeps changes in source order.
    asio::awaitable<void> flush_groups();
    // flush_group: sends one open row group (nothing if empty).
    asio::awaitable<void> flush_group(row_group& group);
    bool any_group_open() const;
    // groupable: set-based apply is on and possible for this relation, and the batch is strict.
    bool groupable() const { return strict_ && sets_supported_; }

    // track_skipped: `key` was left out of the target by design (skipped = true), or a change
    // removed it or gave it a full row (false); written in the batch when the set changes.
    asio::awaitable<void> track_skipped(const pg::param_list& key, bool skipped);
    bool is_skipped(const pg::param_list& key) const {
        return !skipped_.empty() && skipped_.contains(key_text(key));
    }

    bool applies_to(uint32_t relid) const;
    void check_tuple(const stream::tuple& row, const char* what) const;
    // queue sends one prepared statement into the pipeline (preparing it on first use) and
    // syncs when the pipeline is full.
    asio::awaitable<void> queue(const statement& st, pg::param_list params, check expect,
                                const char* operation, pg::param_list key = {});
    // enqueue: queue for a statement with its pending record ready; send: the pipeline write.
    asio::awaitable<void> enqueue(const statement& st, const pg::param_list& params, pending p);
    void send(const statement& st, const pg::param_list& params, pending p);
    static std::string key_text(const pg::param_list& key);
    asio::awaitable<void> queue_sql(const std::string& sql, pg::param_list params,
                                    check expect = check::none, const char* operation = "");
    // sync: pipeline sync, read every result, check row counts; throws on any failure.
    asio::awaitable<void> sync();
    asio::awaitable<void> open_batch();
    asio::awaitable<void> commit_batch();
    asio::awaitable<std::optional<pg::param_list>> read_source_row(const pg::param_list& key);
    [[noreturn]] void diverged(const pending& p, const std::string& detail) const;

    const catalog::table_model& source_;
    applier_options options_;
    monitor::progress& progress_;
    sql_builder target_sql_;
    sql_builder source_sql_;
    stream::lsn_t idempotent_until_ = 0;

    std::optional<pg::async_connection> conn_;
    std::optional<pg::async_connection> source_conn_;        // idempotent key-change lookups only
    std::unordered_map<std::string, std::string> prepared_;  // SQL → statement name
    std::deque<pending> pending_;
    std::vector<size_t> located_columns_;  // partition_columns as column indexes
    // Keys with a located update in the unsynced pipeline: a later statement on one of them
    // syncs first, so a fallback can never run after a later change of its row.
    std::unordered_set<std::string> located_keys_;
    bool sets_supported_ = false;
    // sets_supported_ and no other UNIQUE/EXCLUDE index on the source: set UPDATEs, and runs
    // of different kinds open side by side.
    bool reorder_safe_ = false;
    bool deferrable_constraint_ = false;  // on source or target: no set INSERT/UPDATE (this run)
    // One open run per kind (insert, delete, update of one mask), with disjoint keys: a
    // workload that interleaves kinds (UPDATE a, INSERT b, UPDATE c, …) still goes in sets.
    // Only when reorder_safe_; otherwise one run at a time, in source order.
    std::array<row_group, 3> groups_;
    skipped_keys skipped_;  // keys missing from the target by design (skipped_keys.hpp)
    int64_t pending_group_rows_ = 0;  // rows of set statements in the unsynced pipeline
    int64_t probe_rows_ = -1;
    change_feed* feed_ = nullptr;

    // Source transaction being read.
    bool in_txn_ = false;
    bool skip_txn_ = false;
    bool strict_ = false;
    stream::lsn_t txn_commit_lsn_ = 0;
    // Target transaction (batch) being built.
    bool batch_open_ = false;
    std::chrono::steady_clock::time_point batch_started_;
    // Caught up with a young batch: commit at this time unless more data comes first.
    std::optional<std::chrono::steady_clock::time_point> commit_due_at_;
    int64_t batch_txns_ = 0;
    int64_t batch_changes_ = 0;
    int64_t batch_changes_written_ = 0;  // of batch_changes_, executed by the last sync
    stream::lsn_t batch_end_lsn_ = 0;
    std::optional<stream::lsn_t> batch_fence_;
    std::string batch_fence_content_;

    std::atomic<stream::lsn_t> applied_lsn_{0};
    std::atomic<stream::lsn_t> fence_lsn_{0};
    std::atomic<stream::lsn_t> durable_applied_lsn_{0};
    // Batches committed asynchronously and not yet known flushed: (target WAL position at or
    // past the commit record, the batch's applied LSN), oldest first. At most a few entries:
    // each commit reads the flush position, and the WAL writer flushes within a second.
    std::deque<std::pair<uint64_t, stream::lsn_t>> unflushed_commits_;
    void note_wal_positions(uint64_t insert_position, uint64_t flush_position);
    // settle_located_set: reads a located update run's result (the rows not updated exactly
    // once); rows not found in their partition become misses (fallback by key after the sync).
    void settle_located_set(const pending& p, const pg::result& res, std::vector<pending>& misses);
    std::atomic<int64_t> rows_grouped_{0};
    std::string fence_content_;
};

}  // namespace partshift::apply
