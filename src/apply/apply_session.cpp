// apply_session: one apply lane (apply_session.hpp): the pipeline on the target session, the
// set-based runs it sends, and the batch it commits. Sends what the applier decides; decides
// no apply rule itself.
#include "partshift/apply/apply_session.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <string>

#include "partshift/apply/lane_store.hpp"
#include "partshift/error.hpp"

namespace partshift::apply {
namespace {

constexpr const char* checkpoint_sql =
    // Never backwards: a batch that would move the checkpoint back (a second applier of the
    // same job) finds no row and fails instead.
    "UPDATE partshift.jobs SET applied_lsn = $1::pg_lsn, updated_at = pg_catalog.now() "
    "WHERE job = $2 AND (applied_lsn IS NULL OR applied_lsn <= $1::pg_lsn)";
constexpr const char* wal_positions_sql =
    "SELECT pg_catalog.pg_current_wal_insert_lsn() - '0/0'::pg_lsn, "
    "pg_catalog.pg_current_wal_flush_lsn() - '0/0'::pg_lsn";

}  // namespace

apply_session::apply_session(pg::async_connection conn, const applier_options& options,
                             base::progress& progress, applier_positions& positions,
                             lane_identity lane)
    : options_(options),
      progress_(progress),
      positions_(positions),
      lane_(lane),
      conn_(std::move(conn)),
      durable_(options.asynchronous_commit) {}

void apply_session::start(const job_position& position) {
    durable_.resume(position.wal_insert, positions_.applied.load());
    note_wal_positions(0, position.wal_flush);
    conn_.enter_pipeline();
}

void apply_session::finish() {
    conn_.exit_pipeline();
}

asio::awaitable<void> apply_session::queue(const relation_state& rel, const statement& st,
                                           pg::param_list params, check expect,
                                           const char* operation, pg::param_list key) {
    pending p(&rel, expect, operation, std::move(key), txn_commit_lsn_);
    co_await enqueue(st, params, std::move(p));
}

asio::awaitable<void> apply_session::queue_sql(const std::string& sql, pg::param_list params,
                                               check expect, const char* operation) {
    co_await flush_groups();
    conn_.send_query(sql, params);
    pending_.emplace_back(nullptr, expect, operation, pg::param_list{}, txn_commit_lsn_);
    if (static_cast<int>(unsynced()) >= options_.pipeline_depth) co_await relieve();
}

asio::awaitable<void> apply_session::enqueue(const statement& st, const pg::param_list& params,
                                             pending p) {
    co_await flush_groups();  // every grouped change precedes this one in the source
    // A row with a located update in flight is touched again: settle that update (and its
    // fallback) first, so changes to one key stay in source order.
    if (!located_keys_.empty() && !p.key.empty() && p.relation)
        co_await settle(located_key(*p.relation, key_text(p.key)));
    send(st, params, std::move(p));
    if (static_cast<int>(unsynced()) >= options_.pipeline_depth) co_await relieve();
}

void apply_session::send(const statement& st, const pg::param_list& params, pending p) {
    auto [name, added] = prepared_.name_for(st.sql);
    if (added) {
        std::vector<Oid> types(st.param_types.begin(), st.param_types.end());
        conn_.send_prepare(name, st.sql, static_cast<int>(types.size()), types.data());
        pending_.emplace_back(nullptr, check::none, "PREPARE", pg::param_list{}, p.commit_lsn);
    }
    conn_.send_prepared(name, params);
    // Settled by the next sync point.
    if (p.expect == check::located) mark_located(located_key(*p.relation, key_text(p.key)));
    pending_.push_back(std::move(p));
}

asio::awaitable<void> apply_session::send_update(relation_state& rel, const column_mask& mask,
                                                 pg::param_list params,
                                                 const pg::param_list& old_key,
                                                 std::optional<pg::param_list> where,
                                                 stream::lsn_t lsn) {
    // A changed partition key moves the row: PostgreSQL does that for the partitioned parent.
    const statement& by_key = rel.target_sql.update_by_key(mask);
    if (where) {
        // Most updates leave the partition key alone: look in the new values' partition
        // first, and fall back to the plain update when the row was not there.
        pg::param_list located = params;
        located.insert(located.end(), where->begin(), where->end());
        const statement& in_partition =
            rel.target_sql.update_in_partition(mask, rel.located_columns);
        pending p(&rel, check::located, "UPDATE", old_key, lsn);
        p.fallback = &by_key;
        p.fallback_params = std::move(params);
        co_await enqueue(in_partition, located, std::move(p));
        co_return;
    }
    co_await enqueue(by_key, params, pending(&rel, check::one_row, "UPDATE", old_key, lsn));
}

asio::awaitable<void> apply_session::add_to_group(relation_state& rel, group_kind kind,
                                                  const column_mask& mask,
                                                  const pg::param_list& params,
                                                  const pg::param_list& key, const char* operation,
                                                  std::optional<pg::param_list> where) {
    // Groups of one relation at a time: those of another go first, which keeps the source
    // order across relations without comparing their keys.
    if (grouped_ != &rel) co_await flush_groups();
    std::string text = key_text(key);
    row_group& group = group_of(groups_, kind);
    // An update with partition values is matched in their partition (one probe per row, not
    // one per partition); its run holds only such updates.
    const bool located = kind == group_kind::update && where.has_value();
    const placement place = place_change(groups_, kind, mask, located, text, rel.reorder_safe);
    if (place == placement::send_all_first)
        co_await flush_groups();
    else if (place == placement::send_run_first)
        co_await flush_group(rel, group);
    if (group.kind == group_kind::none) {
        grouped_ = &rel;
        open_run(group, kind, mask, operation, params, where);
    }
    add_row(group, params, where, key, std::move(text), txn_commit_lsn_);
    if (run_full(group, options_.max_group_rows, options_.max_group_bytes))
        co_await flush_group(rel, group);
}

asio::awaitable<void> apply_session::flush_groups() {
    // Cleared first: a one-row group goes through enqueue, which flushes groups itself.
    relation_state* rel = std::exchange(grouped_, nullptr);
    if (!rel || !any_group_open(groups_)) co_return;
    for (auto& group : groups_) co_await flush_group(*rel, group);
}

asio::awaitable<void> apply_session::flush_group(relation_state& rel, row_group& group) {
    if (group.kind == group_kind::none) co_return;
    row_group g = std::move(group);
    group = row_group{};
    // A located update of one of these keys is still in flight: settle it (and its fallback)
    // first, as enqueue does for a single statement.
    if (!located_keys_.empty())
        for (const auto& k : g.keys) co_await settle(located_key(rel, k));
    // A run of one (changes of other kinds or keys around it): the row-by-row statement
    // costs less than a set statement, and a lone UPDATE can still look in its partition.
    if (g.rows->keys.size() == 1) co_return co_await send_single(rel, g);
    send_group(rel, g);
    // The kept keys count too: at most a few groups' worth wait for their results.
    if (static_cast<int>(unsynced()) >= options_.pipeline_depth ||
        pending_group_rows_ >= 4 * static_cast<int64_t>(options_.max_group_rows))
        co_await relieve();
}

void apply_session::push_groups() {
    if (!grouped_) return;
    relation_state& rel = *grouped_;
    for (auto& group : groups_) {
        if (group.kind == group_kind::none || group.rows->keys.size() < 2) continue;
        // Only what goes out without a wait: no key of it has a located update in flight.
        if (std::any_of(group.keys.begin(), group.keys.end(),
                        [&](const auto& k) { return in_flight(located_key(rel, k)); }))
            continue;
        row_group g = std::move(group);
        group = row_group{};
        send_group(rel, g);
    }
    if (!any_group_open(groups_)) grouped_ = nullptr;
    push_output();
}

void apply_session::send_group(relation_state& rel, row_group& g) {
    const statement* st = nullptr;
    switch (g.kind) {
        case group_kind::insert:
            st = &rel.target_sql.insert_set();
            break;
        case group_kind::remove:
            st = &rel.target_sql.delete_set();
            break;
        case group_kind::update:
            st = g.located ? &rel.target_sql.update_set(g.mask, rel.located_columns)
                           : &rel.target_sql.update_set(g.mask);
            break;
        case group_kind::none:
            return;
    }
    pg::param_list params = close_run_arrays(g);
    auto rows = static_cast<int64_t>(g.rows->keys.size());
    pending p(&rel, check::set, g.operation, pg::param_list{}, g.rows->commit_lsns.back());
    if (g.located) p.fallback = &rel.target_sql.update_by_key(g.mask);
    p.group = std::move(g.rows);
    send(*st, params, std::move(p));
    // A row of a located run may need its fallback: later statements on its key wait for it.
    if (g.located)
        for (const auto& k : g.keys) mark_located(located_key(rel, k));
    pending_group_rows_ += rows;
    positions_.rows_grouped += rows;
}

asio::awaitable<void> apply_session::send_single(relation_state& rel, row_group& g) {
    pg::param_list key = std::move(g.rows->keys.front());
    stream::lsn_t lsn = g.rows->commit_lsns.front();
    switch (g.kind) {
        case group_kind::insert:
            co_await enqueue(rel.target_sql.insert(), g.first_params,
                             pending(&rel, check::insert, "INSERT", std::move(key), lsn));
            break;
        case group_kind::remove:
            co_await enqueue(rel.target_sql.delete_by_key(), g.first_params,
                             pending(&rel, check::one_row, "DELETE", std::move(key), lsn));
            break;
        case group_kind::update:
            co_await send_update(rel, g.mask, std::move(g.first_params), key,
                                 std::move(g.first_where), lsn);
            break;
        case group_kind::none:
            break;
    }
}

std::string apply_session::located_key(const relation_state& rel, const std::string& text) {
    return std::to_string(rel.source.oid) + "/" + text;
}

asio::awaitable<void> apply_session::settle_located() {
    if (!located_keys_.empty()) co_await sync();
}

asio::awaitable<void> apply_session::sync() {
    // Until nothing is in flight: the fallbacks of located updates that missed go out after
    // the last point, behind a point of their own.
    while (!pending_.empty()) {
        if (unsynced() > 0) mark_sync();
        co_await read_through(points_sent_);
    }
    located_keys_.clear();
    pending_group_rows_ = 0;
}

void apply_session::mark_sync() {
    conn_.pipeline_sync();
    sync_points_.push_back({unsynced(), batch_changes_});
    in_points_ = pending_.size();
    ++points_sent_;
    pending_group_rows_ = 0;
}

asio::awaitable<void> apply_session::relieve() {
    mark_sync();
    // One point stays in flight: the backend runs it while the next one fills.
    if (points_sent_ - points_read_ > 1) co_await read_through(points_sent_ - 1);
}

asio::awaitable<void> apply_session::read_through(uint64_t point) {
    while (points_read_ < point) {
        std::vector<pending> misses;  // located updates that found no row where they looked
        co_await read_sync_point(misses);
        if (misses.empty()) continue;
        // The rows moved partition in these updates: run them by key alone, in their order.
        // Nothing sent since touched these keys (settle saw to that); a later statement on one
        // waits for the point after its fallback.
        progress_.updates_relocated += static_cast<int64_t>(misses.size());
        for (auto& miss : misses) {
            mark_located(located_key(*miss.relation, key_text(miss.key)));
            pending p(miss.relation, check::one_row, miss.operation, std::move(miss.key),
                      miss.commit_lsn);
            send(*miss.fallback, miss.fallback_params, std::move(p));
        }
    }
}

asio::awaitable<void> apply_session::read_sync_point(std::vector<pending>& misses) {
    if (before_wait_) before_wait_();
    const sync_point point = sync_points_.front();
    for (size_t left = point.statements; left > 0;) {
        auto res = co_await conn_.next_result();
        if (!res) {  // end of the front statement's results
            pending_.pop_front();
            --left;
            continue;
        }
        check_result(pending_.front(), res, misses);
    }
    while (true) {
        auto res = co_await conn_.next_result();
        if (res && res.status() == PGRES_PIPELINE_SYNC) break;
    }
    sync_points_.pop_front();
    in_points_ -= point.statements;
    ++points_read_;
    progress_.changes_written += point.changes - batch_changes_written_;
    batch_changes_written_ = point.changes;
}

bool apply_session::in_flight(const std::string& located) const {
    if (located_keys_.empty()) return false;
    const auto it = located_keys_.find(located);
    return it != located_keys_.end() && it->second > points_read_;
}

asio::awaitable<void> apply_session::settle(const std::string& located) {
    // Until its point is read (a fallback it needed settles a point later: again).
    while (in_flight(located)) {
        const uint64_t point = located_keys_.at(located);
        if (point > points_sent_) mark_sync();
        co_await read_through(point);
    }
}

void apply_session::check_result(const pending& p, const pg::result& res,
                                 std::vector<pending>& misses) {
    switch (res.status()) {
        case PGRES_COMMAND_OK:
        case PGRES_TUPLES_OK:
            break;
        case PGRES_PIPELINE_ABORTED:
            return;  // a statement before it failed; that is reported
        default:
            throw_statement_error(p, res.sqlstate(), res.error_message());
    }
    if (p.expect == check::set) {
        // Rows not found in their partition moved: update them by key alone.
        if (p.group && p.group->located)
            settle_located_set(p, res, misses);
        else if (affected_rows(res) > 0)
            throw_set_divergence(p, first_reported_row(res));
        return;
    }
    if (p.expect == check::wal_positions) {
        note_wal_positions(std::stoull(res.get(0, 0)), std::stoull(res.get(0, 1)));
        return;
    }
    const int64_t rows = affected_rows(res);
    switch (check_rows(p, rows, options_.job)) {
        case row_verdict::probe:
            probe_rows_ = rows;
            break;
        case row_verdict::in_partition:
            ++progress_.updates_in_partition;
            break;
        case row_verdict::moved:
            misses.push_back(p);
            break;
        case row_verdict::fine:
            break;
    }
}

void apply_session::settle_located_set(const pending& p, const pg::result& res,
                                       std::vector<pending>& misses) {
    const auto& group = *p.group;
    int64_t moved = 0;
    for (int r = 0; r < res.rows(); ++r) {
        const int64_t n = std::strtoll(res.get(r, 0).c_str(), nullptr, 10);
        const int64_t found = std::strtoll(res.get(r, 1).c_str(), nullptr, 10);
        pending row = group_member(p, n);
        if (found != 0) throw_divergence(row, std::to_string(found) + " rows on the target");
        row.fallback = p.fallback;
        row.fallback_params = group.fallback_params[static_cast<size_t>(n - 1)];
        misses.push_back(std::move(row));
        ++moved;
    }
    progress_.updates_in_partition += static_cast<int64_t>(group.keys.size()) - moved;
}

void apply_session::note_wal_positions(uint64_t insert_position, uint64_t flush_position) {
    if (auto durable = durable_.note(insert_position, flush_position)) {
        positions_.durable = *durable;
        if (lane_.count == 1) progress_.durable_applied_lsn = *durable;
    }
}

asio::awaitable<void> apply_session::open_batch() {
    co_await queue_sql("BEGIN", {});
    batch_open_ = true;
    batch_started_ = std::chrono::steady_clock::now();
    batch_txns_ = 0;
    batch_changes_ = 0;
    batch_changes_written_ = 0;
}

void apply_session::count_transaction(stream::lsn_t end_lsn) {
    ++batch_txns_;
    batch_end_lsn_ = end_lsn;
}

asio::awaitable<void> apply_session::queue_checkpoint() {
    if (lane_.count == 1) {
        co_await queue_sql(checkpoint_sql,
                           pg::make_params(stream::format_lsn(batch_end_lsn_), options_.job),
                           check::one_row, "checkpoint");
        co_return;
    }
    // A batch of no source commit (a barrier's) keeps the lane's position and says how far
    // into the open transaction it got.
    const stream::lsn_t applied = batch_txns_ > 0 ? batch_end_lsn_ : positions_.applied.load();
    pg::param_list params =
        pg::make_params(options_.job, std::to_string(lane_.index), stream::format_lsn(applied));
    params.push_back(partial_ ? pg::param(stream::format_lsn(partial_->first)) : std::nullopt);
    params.push_back(std::to_string(partial_ ? partial_->second : 0));
    co_await queue_sql(lane_checkpoint_sql, std::move(params), check::one_row, "checkpoint");
}

asio::awaitable<void> apply_session::commit_batch() {
    co_await prepare_commit();
    co_await finish_commit();
}

asio::awaitable<void> apply_session::prepare_commit() {
    co_await send_prepare();
    // Row-count checks happen here, on the client, so read every result before COMMIT is
    // even sent: a divergence must roll the batch back (one extra round trip per batch).
    co_await sync();
}

asio::awaitable<void> apply_session::send_prepare() {
    co_await flush_groups();
    // Invariant 2: the applied LSN commits in the same transaction as the changes it covers.
    if (batch_txns_ > 0 || partial_) co_await queue_checkpoint();
    if (unsynced() > 0) mark_sync();
}

asio::awaitable<void> apply_session::finish_commit() {
    co_await send_commit();
    co_await end_commit();
}

asio::awaitable<void> apply_session::send_commit() {
    // The last of several lanes commits after the others (the applier's order): the job's
    // applied LSN, their lowest, then sees every lane's row of this round.
    if (lane_.count > 1 && lane_.index + 1 == lane_.count && (batch_txns_ > 0 || partial_))
        co_await queue_sql(job_from_lanes_sql, pg::make_params(options_.job), check::one_row,
                           "checkpoint");
    co_await queue_sql("COMMIT", {});
    // Read in the same round trip: a WAL position at or past this commit record, and how far
    // the WAL is flushed (which settles earlier asynchronous commits).
    if (batch_txns_ > 0)
        co_await queue_sql(wal_positions_sql, {}, check::wal_positions, "WAL position");
    batch_open_ = false;
    if (batch_txns_ > 0) durable_.committed(batch_end_lsn_);
    if (unsynced() > 0) mark_sync();
}

asio::awaitable<void> apply_session::end_commit() {
    co_await sync();
    if (batch_txns_ > 0) {
        positions_.applied = batch_end_lsn_;
        if (lane_.count == 1) progress_.applied_lsn = batch_end_lsn_;
    }
    partial_.reset();
    progress_.changes_applied += batch_changes_;
    // Every lane counts every source commit it sees: the first lane speaks for all.
    if (lane_.index == 0) progress_.transactions_applied += batch_txns_;
    progress_.oldest_unapplied_commit_us = 0;
}

asio::awaitable<void> apply_session::rollback_batch() {
    // Settle located updates first: a fallback sent after the ROLLBACK would run outside the
    // batch, in a transaction of its own. The open runs are dropped (the caller cleared them).
    grouped_ = nullptr;
    groups_ = {};
    co_await sync();
    co_await queue_sql("ROLLBACK", {});
    co_await sync();
    batch_open_ = false;
    partial_.reset();
}

}  // namespace partshift::apply
