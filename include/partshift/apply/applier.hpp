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
// Must not: read the slot or the spool (that is the change_feed's job), buffer a whole source
// transaction (memory stays bounded by the pipeline depth and the run caps), or write a 'u'
// column (inv. 3).
#pragma once

#include <utility>  // before Asio's coroutine headers (GCC 12 + Boost 1.74)

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
#include "partshift/apply/relation_state.hpp"
#include "partshift/apply/sql_builder.hpp"
#include "partshift/base/progress.hpp"
#include "partshift/catalog/table_model.hpp"
#include "partshift/pg/async_connection.hpp"
#include "partshift/stream/pgoutput_messages.hpp"

namespace partshift::apply {

struct applier_options {
    std::string dsn;                 // the database holding source, target and partshift.jobs
    std::string job;                 // partshift.jobs.job: where the applied LSN is saved
    // Single-table constructor only (relation_target says it per relation otherwise): the
    // partitioned target (unquoted names).
    catalog::qualified_name target;
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
    // Single-table constructor only, as `target`. The target's partition key columns (both
    // levels). A strict-mode UPDATE looks for its row in the partition of its new values
    // first, so the server prunes to one partition instead of probing every partition's key
    // index; empty: no such lookups.
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

// relation_target: one relation the applier replays: changes whose relid is source->oid go
// to target.
struct relation_target {
    const catalog::table_model* source;          // must outlive the applier; its oid is the relid
    catalog::qualified_name target;              // the partitioned target (unquoted names)
    std::vector<std::string> partition_columns;  // as applier_options::partition_columns
    // partshift.skipped_keys rows of this relation are stored under this job name (a
    // multi-table job passes each table's member job name, so keys of two tables never mix);
    // empty = applier_options::job.
    std::string skipped_keys_job;
};

class applier {
  public:
    // source: the table model (its oid is the relid the stream uses; its non-generated
    // columns are what Relation messages must match; its apply key is the row identity).
    // progress: updated after each target commit. Throws usage_error if the source has no key.
    // The same as one relation_target of options.target and options.partition_columns.
    applier(const catalog::table_model& source, applier_options options, base::progress& progress);
    // relations: every relation of the stream to apply, each to its own target; changes of
    // other relids are ignored. One connection, batch, checkpoint (options.job) and idempotent
    // window for all. Throws usage_error when the list is empty, names a relid or a
    // skipped-keys job twice, or a source has no key.
    applier(std::vector<relation_target> relations, applier_options options,
            base::progress& progress);
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
    // pending: one queued statement whose results are still to be read.
    struct pending {
        pending(const relation_state* rel, check e, const char* op, pg::param_list k,
                stream::lsn_t lsn)
            : relation(rel), expect(e), operation(op), key(std::move(k)), commit_lsn(lsn) {}
        const relation_state* relation = nullptr;  // null: not a change (BEGIN, checkpoint, …)
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

    asio::awaitable<void> update_idempotent(relation_state& rel, stream::tuple& row,
                                            const pg::param_list& old_key,
                                            const pg::param_list& new_key, bool key_changed);
    asio::awaitable<void> update_strict(relation_state& rel, stream::tuple& row,
                                        const stream::tuple* old_row, const pg::param_list& old_key,
                                        bool key_changed);
    // send_update: the row-by-row strict UPDATE by key, located in the partition of `where`
    // first when given (with the fallback by key alone).
    asio::awaitable<void> send_update(relation_state& rel, const column_mask& mask,
                                      pg::param_list params, const pg::param_list& old_key,
                                      std::optional<pg::param_list> where, stream::lsn_t lsn);

    // add_to_group: appends one strict-mode change (its statement parameters, as the row-by-row
    // statement would take them) to the open row group of its relation, flushing it first when
    // the kind or mask differs or the key is already in it (and every group first when they
    // belong to another relation), and after when it is full.
    asio::awaitable<void> add_to_group(relation_state& rel, group_kind kind,
                                       const column_mask& mask, const pg::param_list& params,
                                       const pg::param_list& key, const char* operation,
                                       std::optional<pg::param_list> where = std::nullopt);
    // flush_groups: sends every open row group as one set-based statement each (their keys
    // are disjoint, so their order does not matter). Every other statement is sent after
    // them, which keeps changes in source order.
    asio::awaitable<void> flush_groups();
    // flush_group: sends one open row group of `rel` (nothing if empty).
    asio::awaitable<void> flush_group(relation_state& rel, row_group& group);
    // groupable: set-based apply is on and possible for this relation, and the batch is strict.
    bool groupable(const relation_state& rel) const { return strict_ && rel.sets_supported; }

    // track_skipped: `key` was left out of the target by design (skipped = true), or a change
    // removed it or gave it a full row (false); written in the batch when the set changes.
    asio::awaitable<void> track_skipped(relation_state& rel, const pg::param_list& key,
                                        bool skipped);

    // relation_for: the relation of a relid, or nullptr when it is not one of this applier's.
    relation_state* relation_for(uint32_t relid);
    void check_tuple(const relation_state& rel, const stream::tuple& row, const char* what) const;
    // queue sends one prepared statement into the pipeline (preparing it on first use) and
    // syncs when the pipeline is full.
    asio::awaitable<void> queue(const relation_state& rel, const statement& st,
                                pg::param_list params, check expect, const char* operation,
                                pg::param_list key = {});
    // enqueue: queue for a statement with its pending record ready; send: the pipeline write.
    asio::awaitable<void> enqueue(const statement& st, const pg::param_list& params, pending p);
    void send(const statement& st, const pg::param_list& params, pending p);
    // located_key: the key_text of a row of `rel` in located_keys_ (keys of two relations
    // never match).
    static std::string located_key(const relation_state& rel, const std::string& text);
    asio::awaitable<void> queue_sql(const std::string& sql, pg::param_list params,
                                    check expect = check::none, const char* operation = "");
    // sync: pipeline sync, read every result, check row counts; throws on any failure.
    asio::awaitable<void> sync();
    asio::awaitable<void> open_batch();
    asio::awaitable<void> commit_batch();
    asio::awaitable<std::optional<pg::param_list>> read_source_row(const relation_state& rel,
                                                                   const pg::param_list& key);
    [[noreturn]] void diverged(const pending& p, const std::string& detail) const;

    applier_options options_;
    base::progress& progress_;
    // By relid. Node-based: pending statements and the open groups point into the entries.
    std::unordered_map<uint32_t, relation_state> relations_;
    stream::lsn_t idempotent_until_ = 0;

    std::optional<pg::async_connection> conn_;
    std::optional<pg::async_connection> source_conn_;        // idempotent key-change lookups only
    std::unordered_map<std::string, std::string> prepared_;  // SQL → statement name
    std::deque<pending> pending_;
    // Keys with a located update in the unsynced pipeline (located_key): a later statement
    // on one of them syncs first, so a fallback can never run after a later change of its row.
    std::unordered_set<std::string> located_keys_;
    // The relation whose row groups are open, if any: groups of one relation at a time, so a
    // change of another relation flushes them first and the source order holds across tables.
    relation_state* grouped_ = nullptr;
    int64_t pending_group_rows_ = 0;  // rows of set statements in the unsynced pipeline
    // Result of the one probe statement a key change may sync for; read right after that
    // sync, so it belongs to no relation.
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
