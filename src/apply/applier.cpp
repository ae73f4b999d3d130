// applier: the replay loop. Owns the apply connection (pipeline mode, one open target
// transaction per batch) and a plain source connection used only for idempotent key changes
// whose new tuple lacks unchanged-TOAST columns. Never reads the slot or the spool directly.
#include "partshift/apply/applier.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cinttypes>
#include <cstdlib>

#include "partshift/apply/row_values.hpp"
#include "partshift/error.hpp"
#include "partshift/pg/array_literal.hpp"
#include "partshift/pg/pg_error.hpp"
#include "partshift/pg/session_settings.hpp"

namespace partshift::apply {
namespace {

using stream::lsn_t;

// parse_job_lsn: a pg_lsn the job row holds, as text (stream/lsn's one LSN text format).
lsn_t parse_job_lsn(const std::string& text) {
    if (auto lsn = stream::parse_lsn(text)) return *lsn;
    throw runtime_error("invalid LSN in partshift.jobs: " + text);
}

int64_t affected_rows(const pg::result& r) {
    if (r.status() == PGRES_TUPLES_OK) return r.rows();
    const char* n = PQcmdTuples(r.native());
    return n && *n ? std::strtoll(n, nullptr, 10) : 0;
}

constexpr size_t located_row_limit = 8 * 1024;  // bytes of values per located update
constexpr const char* unique_violation = "23505";
constexpr const char* check_violation = "23514";  // also: no partition takes the row

std::vector<relation_target> single_relation(const catalog::table_model& source,
                                             const applier_options& options) {
    return {{&source, options.target, options.partition_columns, options.job}};
}

}  // namespace

applier::applier(const catalog::table_model& source, applier_options options,
                 base::progress& progress)
    // `options` is copied, not moved: argument evaluation order is unspecified.
    : applier(single_relation(source, options), options, progress) {}

applier::applier(std::vector<relation_target> relations, applier_options options,
                 base::progress& progress)
    : options_(std::move(options)), progress_(progress) {
    if (relations.empty()) throw usage_error("the applier needs at least one relation");
    const bool set_based = options_.set_based && options_.max_group_rows > 1;
    std::unordered_set<std::string> skipped_jobs;
    for (auto& r : relations) {
        std::string skipped_job = r.skipped_keys_job.empty() ? options_.job : r.skipped_keys_job;
        // A TRUNCATE of one relation forgets every skipped key of its job name: two relations
        // sharing one would lose each other's keys.
        if (!skipped_jobs.insert(skipped_job).second)
            throw usage_error("two relations of one applier store skipped keys under job '" +
                              skipped_job + "'");
        auto [it, added] =
            relations_.try_emplace(r.source->oid, *r.source, std::move(r.target),
                                   r.partition_columns, std::move(skipped_job), set_based);
        if (!added)
            throw usage_error("table " + quote_qualified(r.source->name) +
                              " is given to the applier twice");
    }
}

applier::~applier() = default;

relation_state* applier::relation_for(uint32_t relid) {
    auto it = relations_.find(relid);
    return it == relations_.end() ? nullptr : &it->second;
}

asio::awaitable<void> applier::run(change_feed& feed) {
    try {
        co_await run_loop(feed);
    } catch (...) {
        // Close at once: an open batch must not keep its locks (and its uncommitted rows)
        // while the caller decides what to do; closing rolls it back with its applied LSN.
        conn_.reset();
        source_conn_.reset();
        feed_ = nullptr;
        throw;
    }
}

asio::awaitable<void> applier::run_loop(change_feed& feed) {
    // A run after a failed one starts from scratch: new connections (nothing prepared on
    // them yet), no half-read pipeline, and the applied LSN re-read from the job row.
    feed_ = &feed;
    prepared_.clear();
    pending_.clear();
    located_keys_.clear();
    for (auto& [relid, rel] : relations_) rel.groups = {};
    grouped_ = nullptr;
    pending_group_rows_ = 0;
    in_txn_ = skip_txn_ = strict_ = batch_open_ = false;
    batch_fence_.reset();
    source_conn_.reset();
    conn_.reset();
    conn_.emplace(co_await pg::async_connection::connect(options_.dsn, options_.application_name));
    // Replayed changes must not fire the target's triggers or FK checks.
    co_await pg::require_replica_role(*conn_, "apply");
    // The changes arrive as the walsender's text (pinned the same way there); parse it in the
    // same styles whatever the role's or database's defaults.
    co_await pg::pin_text_formats(*conn_);
    // Always the generic plan: a custom plan is made afresh for every change (the planner
    // prefers custom plans for partitioned tables), which costs more than the change itself;
    // the generic plan still prunes to one partition at executor start.
    co_await conn_->exec("SET plan_cache_mode = force_generic_plan");
    // Every statement here finds its rows by key. Without these, the generic plan of a set
    // statement (which cannot know its row count) may hash-join its rows to sequential scans
    // of every partition: seen taking 36 s for one row on a 200k-row target. A nested loop
    // probes the key index, pruned to one partition per row when the key holds the
    // partition key.
    if (std::any_of(relations_.begin(), relations_.end(),
                    [](const auto& r) { return r.second.sets_supported; }))
        co_await conn_->exec("SET enable_hashjoin = off; SET enable_mergejoin = off");
    // Explicit both ways: a role or database default must not decide what durable_applied_lsn
    // assumes.
    co_await conn_->exec(options_.asynchronous_commit ? "SET synchronous_commit = off"
                                                      : "SET synchronous_commit = on");

    auto job = co_await conn_->exec(
        "SELECT applied_lsn::text, max_chunk_high_lsn::text, "
        "pg_catalog.pg_current_wal_insert_lsn() - '0/0'::pg_lsn, "
        "pg_catalog.pg_current_wal_flush_lsn() - '0/0'::pg_lsn "
        "FROM partshift.jobs WHERE job = $1",
        pg::make_params(options_.job));
    if (job.rows() != 1)
        throw runtime_error("job '" + options_.job + "' not found in partshift.jobs");
    if (auto saved = job.opt(0, 0)) applied_lsn_ = parse_job_lsn(*saved);
    if (options_.idempotent_until)
        idempotent_until_ = *options_.idempotent_until;
    else if (auto high = job.opt(0, 1))
        idempotent_until_ = parse_job_lsn(*high);
    progress_.applied_lsn = applied_lsn_.load();
    // The saved applied LSN may itself come from an asynchronous commit not yet flushed (a
    // run killed a moment ago, or this applier restarted after a lost connection): durable
    // once the flush passes the WAL position read with it.
    unflushed_commits_.clear();
    unflushed_commits_.emplace_back(std::stoull(job.get(0, 2)), applied_lsn_.load());
    note_wal_positions(0, std::stoull(job.get(0, 3)));
    for (auto& [relid, rel] : relations_) {
        auto skipped =
            co_await conn_->exec(skipped_keys::load_sql, pg::make_params(rel.skipped_keys_job));
        std::vector<std::string> skipped_texts;
        for (int r = 0; r < skipped.rows(); ++r) skipped_texts.push_back(skipped.get(r, 0));
        rel.skipped.reset(std::move(skipped_texts));
        // A set-based INSERT says ON CONFLICT DO NOTHING (so a duplicate can be named), which
        // the server refuses next to a DEFERRABLE unique or exclusion constraint; the target
        // mirrors the source's constraints, and may gain them later, so look at both.
        rel.deferrable_constraint = false;
        if (!rel.sets_supported) continue;
        auto deferrable = co_await conn_->exec(
            "SELECT EXISTS (SELECT FROM pg_catalog.pg_index WHERE NOT indimmediate AND "
            "indrelid IN ($1::oid, pg_catalog.to_regclass($2)))",
            pg::make_params(std::to_string(rel.source.oid), quote_qualified(rel.target)));
        rel.deferrable_constraint = deferrable.get(0, 0) == "t";
        if (rel.deferrable_constraint)
            spdlog::info(
                "applier: a DEFERRABLE constraint on {} or {}: its inserts and updates "
                "are applied row by row",
                quote_qualified(rel.source.name), quote_qualified(rel.target));
    }
    spdlog::info("applier: job {} resumes after {}, idempotent until {}", options_.job,
                 stream::format_lsn(applied_lsn_), stream::format_lsn(idempotent_until_));

    conn_->enter_pipeline();
    commit_due_at_.reset();
    while (true) {
        if (commit_due_at_) {
            const auto due = *commit_due_at_;
            commit_due_at_.reset();
            if (batch_open_ && !in_txn_ && !co_await feed.wait_for_data(due))
                co_await commit_batch();
        }
        auto message = co_await feed.next();
        if (!message) break;
        co_await dispatch(*message);
    }

    if (batch_open_) {
        if (in_txn_) {
            // The feed stopped inside a source transaction: its changes must not commit
            // without its commit, and the whole batch goes with them; resume re-applies it.
            spdlog::info("applier: stopped inside a source transaction; rolling back the batch");
            // Settle located updates first: a fallback sent after the ROLLBACK would run
            // outside the batch, in a transaction of its own. The open row groups are dropped.
            for (auto& [relid, rel] : relations_) rel.groups = {};
            grouped_ = nullptr;
            co_await sync();
            co_await queue_sql("ROLLBACK", {});
            co_await sync();
            batch_open_ = false;
        } else {
            co_await commit_batch();
        }
    }
    conn_->exit_pipeline();
    feed_ = nullptr;
}

asio::awaitable<void> applier::dispatch(const stream::message& message) {
    // One switch over the message kinds (STYLE.md habit 3).
    if (auto* m = std::get_if<stream::begin_msg>(&message)) co_return co_await handle_begin(*m);
    if (auto* m = std::get_if<stream::commit_msg>(&message)) co_return co_await handle_commit(*m);
    if (auto* m = std::get_if<stream::relation_msg>(&message)) co_return handle_relation(*m);
    if (auto* m = std::get_if<stream::insert_msg>(&message)) co_return co_await handle_insert(*m);
    if (auto* m = std::get_if<stream::update_msg>(&message)) co_return co_await handle_update(*m);
    if (auto* m = std::get_if<stream::delete_msg>(&message)) co_return co_await handle_delete(*m);
    if (auto* m = std::get_if<stream::truncate_msg>(&message))
        co_return co_await handle_truncate(*m);
    if (auto* m = std::get_if<stream::logical_message_msg>(&message))
        co_return co_await handle_message(*m);
    if (std::holds_alternative<stream::origin_msg>(message) ||
        std::holds_alternative<stream::type_msg>(message))
        co_return;  // nothing to apply: types come by oid, origins are not filtered here
    // Streamed (in-progress) transactions must be assembled by the spool before replay.
    throw runtime_error(
        "the applier received a streamed-transaction message; streamed "
        "transactions must be reassembled in commit order before apply");
}

asio::awaitable<void> applier::handle_begin(const stream::begin_msg& m) {
    if (in_txn_)
        throw runtime_error("Begin " + stream::format_lsn(m.final_lsn) + " inside a transaction");
    in_txn_ = true;
    txn_commit_lsn_ = m.final_lsn;
    // Commit records are ordered, so a transaction applied before has its commit LSN below
    // the saved end LSN, and the next one not yet applied starts at or after it.
    skip_txn_ = m.final_lsn < applied_lsn_.load();
    if (skip_txn_) co_return;
    if (!strict_ && m.final_lsn > idempotent_until_) {
        strict_ = true;
        progress_.strict_mode = true;
        spdlog::info("applier: past {} — strict mode from the transaction committed at {}",
                     stream::format_lsn(idempotent_until_), stream::format_lsn(m.final_lsn));
    }
    if (!batch_open_) {
        co_await open_batch();
        progress_.oldest_unapplied_commit_us = m.commit_time;
    }
}

asio::awaitable<void> applier::handle_commit(const stream::commit_msg& m) {
    if (!in_txn_) throw runtime_error("Commit " + stream::format_lsn(m.end_lsn) + " without Begin");
    in_txn_ = false;
    if (skip_txn_) co_return;
    if (options_.test_delay_per_transaction.count() > 0) {
        asio::steady_timer pause(co_await asio::this_coro::executor,
                                 options_.test_delay_per_transaction);
        co_await pause.async_wait(asio::use_awaitable);
    }
    ++batch_txns_;
    batch_end_lsn_ = m.end_lsn;
    const auto age = std::chrono::steady_clock::now() - batch_started_;
    // The cutover waits for its fence under a lock: that batch commits at once.
    bool due = batch_txns_ >= options_.max_batch_transactions ||
               age >= options_.max_batch_delay || batch_fence_.has_value();
    if (!due && feed_ && feed_->caught_up()) {
        if (age >= options_.min_batch_age)
            due = true;
        else
            commit_due_at_ = batch_started_ + options_.min_batch_age;
    }
    if (due) co_await commit_batch();
}

void applier::handle_relation(const stream::relation_msg& m) {
    if (const relation_state* rel = relation_for(m.relid)) rel->check_relation(m);
}

void applier::check_tuple(const relation_state& rel, const stream::tuple& row,
                          const char* what) const {
    if (row.size() != rel.target_sql.columns().size())
        throw runtime_error(std::string(what) + " of " + quote_qualified(rel.source.name) +
                            " in the transaction committed at " +
                            stream::format_lsn(txn_commit_lsn_) + " has " +
                            std::to_string(row.size()) + " columns, expected " +
                            std::to_string(rel.target_sql.columns().size()));
}

asio::awaitable<void> applier::handle_insert(const stream::insert_msg& m) {
    relation_state* rel = relation_for(m.relid);
    if (skip_txn_ || !rel) co_return;
    check_tuple(*rel, m.new_tuple, "INSERT");
    auto key = key_of(m.new_tuple, rel->target_sql.key());
    ++batch_changes_;
    if (rel->is_skipped(key)) co_await track_skipped(*rel, key, false);  // a full row now
    if (groupable(*rel) && !rel->deferrable_constraint) {
        co_await add_to_group(*rel, group_kind::insert, {}, params_of(m.new_tuple), key, "INSERT");
    } else if (strict_) {
        co_await queue(*rel, rel->target_sql.insert(), params_of(m.new_tuple), check::insert,
                       "INSERT", std::move(key));
    } else {
        // Replace: the copy may already hold this key from a later snapshot.
        co_await queue(*rel, rel->target_sql.delete_by_key(), key, check::none, "DELETE");
        co_await queue(*rel, rel->target_sql.insert(), params_of(m.new_tuple), check::none,
                       "INSERT");
    }
}

asio::awaitable<void> applier::handle_update(const stream::update_msg& m) {
    relation_state* rel = relation_for(m.relid);
    if (skip_txn_ || !rel) co_return;
    check_tuple(*rel, m.new_tuple, "UPDATE");
    const auto& key = rel->target_sql.key();
    stream::tuple row = m.new_tuple;
    const stream::tuple* old_row = nullptr;
    if (m.old_kind == 'K' || m.old_kind == 'O') {
        check_tuple(*rel, m.old_tuple, "UPDATE old tuple");
        old_row = &m.old_tuple;
    }
    if (m.old_kind == 'O') fill_unchanged(row, m.old_tuple);
    pg::param_list new_key = key_of(row, key, old_row);
    // No old tuple: the key did not change (DEFAULT/INDEX send 'K' only when it did).
    pg::param_list old_key = old_row ? key_of(*old_row, key) : new_key;
    bool key_changed = old_key != new_key;
    ++batch_changes_;
    // A key the window left out of the target: its row is missing by design, so its changes
    // follow the idempotent rules until one removes it (skipped_keys.hpp).
    if (strict_ && !rel->is_skipped(old_key))
        co_await update_strict(*rel, row, old_row, old_key, key_changed);
    else
        co_await update_idempotent(*rel, row, old_key, new_key, key_changed);
}

asio::awaitable<void> applier::update_idempotent(relation_state& rel, stream::tuple& row,
                                                 const pg::param_list& old_key,
                                                 const pg::param_list& new_key, bool key_changed) {
    auto& sql = rel.target_sql;
    column_mask mask = sql.updatable_mask(sent_columns(row));
    // Key columns equal the WHERE values (k2 after a key change), so writing them is a no-op.
    for (size_t k : sql.key()) mask[k] = false;
    bool any = std::find(mask.begin(), mask.end(), true) != mask.end();

    if (!key_changed) {
        if (!any) co_return;  // only unchanged-TOAST columns besides the key: nothing to set
        auto params = params_of(row, mask);
        params.insert(params.end(), new_key.begin(), new_key.end());
        // No row → skip: it was deleted later or is copied under a later snapshot.
        co_await queue(rel, sql.update_by_key(mask), std::move(params), check::none, "UPDATE");
        co_return;
    }
    // Key change k1 → k2. Never move the k1 row: in this window it may be a later incarnation
    // copied under a newer snapshot. Delete it, then set k2's state.
    co_await queue(rel, sql.delete_by_key(), old_key, check::none, "DELETE");
    co_await track_skipped(rel, old_key, false);
    if (is_complete(row)) {
        co_await queue(rel, sql.delete_by_key(), new_key, check::none, "DELETE");
        co_await queue(rel, sql.insert(), params_of(row), check::none, "INSERT");
        co_await track_skipped(rel, new_key, false);
        co_return;
    }
    // Unsent columns come from k2's target row if there is one: update it with the sent
    // columns (after deleting k1, in the same pipeline) and see whether it found a row. The
    // decision needs that result, so this is the one path that syncs mid-batch.
    probe_rows_ = -1;
    if (any) {
        auto params = params_of(row, mask);
        params.insert(params.end(), new_key.begin(), new_key.end());
        co_await queue(rel, sql.update_by_key(mask), std::move(params), check::probe, "UPDATE");
    } else {
        co_await queue(rel, sql.select_by_key(), new_key, check::probe, "SELECT");
    }
    co_await sync();
    if (probe_rows_ > 0) {
        co_await track_skipped(rel, new_key, false);
        co_return;
    }
    // Else from the source's current row for k2 (a later change of k2 corrects it if newer).
    auto source_row = co_await read_source_row(rel, new_key);
    if (!source_row) {
        // The source lost k2 since this change, so a later change removes it: until then the
        // target lacks k2 by design, even in strict mode (remembered with this batch).
        spdlog::debug("applier: key change to {} skipped: no row in target or source",
                      rel.describe(new_key));
        co_await track_skipped(rel, new_key, true);
        co_return;
    }
    pg::param_list full;
    full.reserve(row.size());
    for (size_t i = 0; i < row.size(); ++i)
        full.push_back(row[i].k == stream::tuple_value::kind::unchanged_toast
                           ? (*source_row)[i]
                           : value_param(row[i]));
    co_await queue(rel, sql.insert(), std::move(full), check::none, "INSERT");
    co_await track_skipped(rel, new_key, false);
}

asio::awaitable<void> applier::update_strict(relation_state& rel, stream::tuple& row,
                                             const stream::tuple* old_row,
                                             const pg::param_list& old_key, bool key_changed) {
    auto& sql = rel.target_sql;
    column_mask sent = sent_columns(row);
    column_mask mask = sql.updatable_mask(sent);
    if (key_changed) {
        bool identity_key = false;
        for (size_t k : sql.key()) identity_key = identity_key || (sent[k] && !mask[k]);
        if (identity_key) {
            // UPDATE may not set a GENERATED ALWAYS identity column: replace the row instead.
            if (!is_complete(row))
                throw runtime_error(
                    "UPDATE of key " + rel.describe(old_key) +
                    " changes a GENERATED ALWAYS identity key and carries unchanged TOAST "
                    "columns; the applier cannot replay it");
            co_await queue(rel, sql.delete_by_key(), old_key, check::one_row, "UPDATE", old_key);
            co_await queue(rel, sql.insert(), params_of(row), check::insert, "UPDATE", old_key);
            co_return;
        }
    } else {
        for (size_t k : sql.key()) mask[k] = false;
    }
    if (std::find(mask.begin(), mask.end(), true) == mask.end()) {
        // Nothing to write, but strict mode still requires the row to exist.
        co_await queue(rel, sql.select_by_key(), old_key, check::one_row, "UPDATE", old_key);
        co_return;
    }
    auto params = params_of(row, mask);
    params.insert(params.end(), old_key.begin(), old_key.end());
    // Not for key changes: the fallback would move the row to its new key after statements
    // on that new key had already run.
    auto where = key_changed ? std::nullopt : rel.partition_values(row, old_row);
    // The fallback's values wait in memory until the next sync: only for rows of modest size,
    // so a pipeline of wide rows (large TOAST values) cannot hold megabytes each.
    if (where) {
        size_t bytes = 0;
        for (const auto& v : params) bytes += v ? v->size() : 0;
        if (bytes > located_row_limit) where.reset();
    }
    if (!key_changed && groupable(rel) && rel.reorder_safe && !rel.deferrable_constraint) {
        // Grouped by column mask: only the sent columns are set (inv. 3); a row whose
        // partition key changed is moved by the server, as for the row-by-row update.
        co_await add_to_group(rel, group_kind::update, mask, params, old_key, "UPDATE",
                              std::move(where));
        co_return;
    }
    co_await send_update(rel, mask, std::move(params), old_key, std::move(where), txn_commit_lsn_);
}

asio::awaitable<void> applier::send_update(relation_state& rel, const column_mask& mask,
                                           pg::param_list params, const pg::param_list& old_key,
                                           std::optional<pg::param_list> where, lsn_t lsn) {
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

asio::awaitable<void> applier::handle_delete(const stream::delete_msg& m) {
    relation_state* rel = relation_for(m.relid);
    if (skip_txn_ || !rel) co_return;
    check_tuple(*rel, m.old_tuple, "DELETE");
    auto key = key_of(m.old_tuple, rel->target_sql.key());
    const auto& delete_by_key = rel->target_sql.delete_by_key();
    ++batch_changes_;
    if (rel->is_skipped(key)) {
        // Left out of the target by design: nothing to delete, in either mode.
        co_await queue(*rel, delete_by_key, key, check::none, "DELETE");
        co_await track_skipped(*rel, key, false);
    } else if (groupable(*rel))
        co_await add_to_group(*rel, group_kind::remove, {}, key, key, "DELETE");
    else if (strict_)
        co_await queue(*rel, delete_by_key, key, check::one_row, "DELETE", key);
    else
        co_await queue(*rel, delete_by_key, key, check::none, "DELETE");
}

asio::awaitable<void> applier::handle_truncate(const stream::truncate_msg& m) {
    if (skip_txn_) co_return;
    // One message lists every table truncated together (and those it cascaded to).
    std::vector<relation_state*> truncated;
    for (uint32_t relid : m.relids)
        if (relation_state* rel = relation_for(relid);
            rel && std::find(truncated.begin(), truncated.end(), rel) == truncated.end())
            truncated.push_back(rel);
    if (truncated.empty()) co_return;
    ++batch_changes_;
    co_await flush_groups();
    if (!located_keys_.empty()) co_await sync();  // fallbacks first: TRUNCATE touches every key
    // One statement for all, as on the source (a foreign key between targets may require it).
    std::vector<std::string> targets;
    for (const relation_state* rel : truncated) targets.push_back(rel->target_sql.relation());
    co_await queue_sql(truncate_sql(targets, (m.options & 2) != 0), {});
    for (relation_state* rel : truncated)
        if (rel->skipped.forget_all())
            co_await queue_sql(skipped_keys::forget_all_sql,
                               pg::make_params(rel->skipped_keys_job));
}

asio::awaitable<void> applier::track_skipped(relation_state& rel, const pg::param_list& key,
                                             bool skipped) {
    std::string text = key_text(key);
    if (skipped ? rel.skipped.remember(text) : rel.skipped.forget(text))
        co_await queue_sql(skipped ? skipped_keys::remember_sql : skipped_keys::forget_sql,
                           pg::make_params(rel.skipped_keys_job, text));
}

asio::awaitable<void> applier::handle_message(const stream::logical_message_msg& m) {
    if (m.prefix != options_.fence_prefix) co_return;
    if (m.transactional && in_txn_) {
        // Published when the batch holding its transaction commits.
        if (!skip_txn_) {
            batch_fence_ = m.lsn;
            batch_fence_content_ = m.content;
            co_return;
        }
    } else if (batch_open_ && !in_txn_) {
        // Everything decoded before a non-transactional fence precedes it in WAL: commit it
        // now so whoever waits on the fence does not wait for the next batch deadline.
        co_await commit_batch();
    }
    fence_content_ = m.content;
    fence_lsn_ = m.lsn;
    spdlog::info("applier: fence {} applied", stream::format_lsn(m.lsn));
}

asio::awaitable<void> applier::open_batch() {
    co_await queue_sql("BEGIN", {});
    batch_open_ = true;
    batch_started_ = std::chrono::steady_clock::now();
    batch_txns_ = 0;
    batch_changes_ = 0;
    batch_changes_written_ = 0;
}

asio::awaitable<void> applier::commit_batch() {
    co_await flush_groups();
    // Invariant 2: the applied LSN commits in the same transaction as the changes it covers.
    if (batch_txns_ > 0)
        co_await queue_sql(
            // Never backwards: a batch that would move the checkpoint back (a second applier
            // of the same job) finds no row and fails instead.
            "UPDATE partshift.jobs SET applied_lsn = $1::pg_lsn, updated_at = now() "
            "WHERE job = $2 AND (applied_lsn IS NULL OR applied_lsn <= $1::pg_lsn)",
            pg::make_params(stream::format_lsn(batch_end_lsn_), options_.job), check::one_row,
            "checkpoint");
    // Row-count checks happen here, on the client, so read every result before COMMIT is
    // even sent: a divergence must roll the batch back (one extra round trip per batch).
    co_await sync();
    co_await queue_sql("COMMIT", {});
    // Read in the same round trip: a WAL position at or past this commit record, and how far
    // the WAL is flushed (which settles earlier asynchronous commits).
    if (batch_txns_ > 0)
        co_await queue_sql(
            "SELECT pg_catalog.pg_current_wal_insert_lsn() - '0/0'::pg_lsn, "
            "pg_catalog.pg_current_wal_flush_lsn() - '0/0'::pg_lsn",
            {}, check::wal_positions, "WAL position");
    batch_open_ = false;
    commit_due_at_.reset();
    if (batch_txns_ > 0) unflushed_commits_.emplace_back(0, batch_end_lsn_);
    co_await sync();
    if (batch_txns_ > 0) {
        applied_lsn_ = batch_end_lsn_;
        progress_.applied_lsn = batch_end_lsn_;
    }
    progress_.changes_applied += batch_changes_;
    progress_.transactions_applied += batch_txns_;
    progress_.oldest_unapplied_commit_us = 0;
    if (batch_fence_) {
        fence_content_ = batch_fence_content_;
        fence_lsn_ = *batch_fence_;
        batch_fence_.reset();
    }
}

asio::awaitable<void> applier::queue(const relation_state& rel, const statement& st,
                                     pg::param_list params, check expect, const char* operation,
                                     pg::param_list key) {
    pending p(&rel, expect, operation, std::move(key), txn_commit_lsn_);
    co_await enqueue(st, params, std::move(p));
}

asio::awaitable<void> applier::enqueue(const statement& st, const pg::param_list& params,
                                       pending p) {
    co_await flush_groups();  // every grouped change precedes this one in the source
    // A row with a located update in flight is touched again: settle that update (and its
    // fallback) first, so changes to one key stay in source order.
    if (!located_keys_.empty() && !p.key.empty() && p.relation &&
        located_keys_.count(located_key(*p.relation, key_text(p.key))))
        co_await sync();
    send(st, params, std::move(p));
    if (static_cast<int>(pending_.size()) >= options_.pipeline_depth) co_await sync();
}

void applier::send(const statement& st, const pg::param_list& params, pending p) {
    auto [it, added] = prepared_.try_emplace(st.sql);
    if (added) {
        it->second = "partshift_apply_" + std::to_string(prepared_.size());
        std::vector<Oid> types(st.param_types.begin(), st.param_types.end());
        conn_->send_prepare(it->second, st.sql, static_cast<int>(types.size()), types.data());
        pending_.emplace_back(nullptr, check::none, "PREPARE", pg::param_list{}, p.commit_lsn);
    }
    conn_->send_prepared(it->second, params);
    if (p.expect == check::located) located_keys_.insert(located_key(*p.relation, key_text(p.key)));
    pending_.push_back(std::move(p));
}

asio::awaitable<void> applier::add_to_group(relation_state& rel, group_kind kind,
                                            const column_mask& mask, const pg::param_list& params,
                                            const pg::param_list& key, const char* operation,
                                            std::optional<pg::param_list> where) {
    // Groups of one relation at a time: those of another go first, which keeps the source
    // order across relations without comparing their keys.
    if (grouped_ != &rel) co_await flush_groups();
    std::string text = key_text(key);
    auto& groups = rel.groups;
    row_group& group = groups[static_cast<size_t>(kind) - 1];
    // A key already in a run: every run goes first, so each key's changes stay in source
    // order (a set statement applies its rows as if at one instant). Runs of other kinds
    // stay open beside this one only when reordering rows of distinct keys is safe.
    bool repeated = std::any_of(groups.begin(), groups.end(),
                                [&](const row_group& g) { return g.keys.count(text) > 0; });
    bool other_open = std::any_of(groups.begin(), groups.end(), [&](const row_group& g) {
        return &g != &group && g.kind != group_kind::none;
    });
    // An update with partition values is matched in their partition (one probe per row, not
    // one per partition); its run holds only such updates.
    const bool located = kind == group_kind::update && where.has_value();
    if (repeated || (other_open && !rel.reorder_safe))
        co_await flush_groups();
    else if (group.kind != group_kind::none && (group.mask != mask || group.located != located))
        co_await flush_group(rel, group);
    if (group.kind == group_kind::none) {
        grouped_ = &rel;
        group.kind = kind;
        group.mask = mask;
        group.located = located;
        group.operation = operation;
        group.arrays.assign(params.size() + (located ? where->size() : 0), std::string());
        group.rows = std::make_shared<group_rows>();
        group.rows->located = located;
        // Kept in case the run stays one row long: then the row-by-row statement is cheaper.
        group.first_params = params;
        group.first_where = where;
    }
    for (size_t i = 0; i < params.size(); ++i) {
        pg::append_array_element(group.arrays[i], params[i]);
        group.bytes += params[i] ? params[i]->size() + 3 : 5;
    }
    if (located) {
        for (size_t i = 0; i < where->size(); ++i) {
            pg::append_array_element(group.arrays[params.size() + i], (*where)[i]);
            group.bytes += (*where)[i] ? (*where)[i]->size() + 3 : 5;
        }
        group.rows->fallback_params.push_back(params);
    }
    group.rows->keys.push_back(key);
    group.rows->commit_lsns.push_back(txn_commit_lsn_);
    group.keys.insert(std::move(text));
    if (static_cast<int>(group.rows->keys.size()) >= options_.max_group_rows ||
        group.bytes >= options_.max_group_bytes)
        co_await flush_group(rel, group);
}

asio::awaitable<void> applier::flush_groups() {
    // Cleared first: a one-row group goes through enqueue, which flushes groups itself.
    relation_state* rel = std::exchange(grouped_, nullptr);
    if (!rel || !rel->any_group_open()) co_return;
    for (auto& group : rel->groups) co_await flush_group(*rel, group);
}

asio::awaitable<void> applier::flush_group(relation_state& rel, row_group& group) {
    if (group.kind == group_kind::none) co_return;
    row_group g = std::move(group);
    group = row_group{};
    // A located update of one of these keys is still in flight: settle it (and its fallback)
    // first, as enqueue does for a single statement.
    if (!located_keys_.empty())
        for (const auto& k : g.keys)
            if (located_keys_.count(located_key(rel, k))) {
                co_await sync();
                break;
            }
    if (g.rows->keys.size() == 1) {
        // A run of one (changes of other kinds or keys around it): the row-by-row statement
        // costs less than a set statement, and a lone UPDATE can still look in its partition.
        pg::param_list key = std::move(g.rows->keys.front());
        lsn_t lsn = g.rows->commit_lsns.front();
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
        co_return;
    }
    const statement* st = nullptr;
    switch (g.kind) {
        case group_kind::insert: st = &rel.target_sql.insert_set(); break;
        case group_kind::remove: st = &rel.target_sql.delete_set(); break;
        case group_kind::update:
            st = g.located ? &rel.target_sql.update_set(g.mask, rel.located_columns)
                           : &rel.target_sql.update_set(g.mask);
            break;
        case group_kind::none: co_return;
    }
    pg::param_list params;
    params.reserve(g.arrays.size());
    for (auto& a : g.arrays) {
        pg::close_array_literal(a);
        params.emplace_back(std::move(a));
    }
    g.arrays.clear();
    auto rows = static_cast<int64_t>(g.rows->keys.size());
    pending p(&rel, check::set, g.operation, pg::param_list{}, g.rows->commit_lsns.back());
    if (g.located) p.fallback = &rel.target_sql.update_by_key(g.mask);
    p.group = std::move(g.rows);
    send(*st, params, std::move(p));
    // A row of a located run may need its fallback: later statements on its key wait for it.
    if (g.located)
        for (const auto& k : g.keys) located_keys_.insert(located_key(rel, k));
    pending_group_rows_ += rows;
    rows_grouped_ += rows;
    // The kept keys count too: at most a few groups' worth wait for their results.
    if (static_cast<int>(pending_.size()) >= options_.pipeline_depth ||
        pending_group_rows_ >= 4 * static_cast<int64_t>(options_.max_group_rows))
        co_await sync();
}

std::string applier::located_key(const relation_state& rel, const std::string& text) {
    return std::to_string(rel.source.oid) + "/" + text;
}

asio::awaitable<void> applier::queue_sql(const std::string& sql, pg::param_list params,
                                         check expect, const char* operation) {
    co_await flush_groups();
    conn_->send_query(sql, params);
    pending_.emplace_back(nullptr, expect, operation, pg::param_list{}, txn_commit_lsn_);
    if (static_cast<int>(pending_.size()) >= options_.pipeline_depth) co_await sync();
}

asio::awaitable<void> applier::sync() {
    conn_->pipeline_sync();
    std::vector<pending> misses;  // located updates that found no row where they looked
    while (!pending_.empty()) {
        auto res = co_await conn_->next_result();
        if (!res) {  // end of the front statement's results
            pending_.pop_front();
            continue;
        }
        const pending& p = pending_.front();
        switch (res.status()) {
            case PGRES_COMMAND_OK:
            case PGRES_TUPLES_OK: {
                int64_t rows = affected_rows(res);
                if (p.expect == check::set && p.group && p.group->located) {
                    // Rows not found in their partition moved: update them by key alone.
                    settle_located_set(p, res, misses);
                    rows = 0;
                }
                if (p.expect == check::set && rows > 0) {
                    // The first row (in row order) that did not apply exactly once.
                    int64_t first = -1, found = 0;
                    for (int r = 0; r < res.rows(); ++r) {
                        int64_t n = std::strtoll(res.get(r, 0).c_str(), nullptr, 10);
                        if (first < 0 || n < first) {
                            first = n;
                            found = std::strtoll(res.get(r, 1).c_str(), nullptr, 10);
                        }
                    }
                    size_t i = static_cast<size_t>(first - 1);
                    if (!p.group || first < 1 || i >= p.group->keys.size())
                        throw runtime_error("internal error: a set-based " +
                                            std::string(p.operation) + " reported row " +
                                            std::to_string(first) + " of its group");
                    pending row(p.relation, check::one_row, p.operation, p.group->keys[i],
                                p.group->commit_lsns[i]);
                    if (std::string(p.operation) == "INSERT")
                        diverged(row, "the key already exists on the target (or another "
                                      "unique value of the row does)");
                    diverged(row, found == 0 ? "no such row on the target"
                                             : std::to_string(found) + " rows on the target");
                }
                if (p.expect == check::probe) probe_rows_ = rows;
                if (p.expect == check::wal_positions)
                    note_wal_positions(std::stoull(res.get(0, 0)), std::stoull(res.get(0, 1)));
                if (p.expect == check::located && rows == 1) ++progress_.updates_in_partition;
                if (p.expect == check::located && rows == 0) misses.push_back(p);
                if (p.expect == check::located && rows > 1)
                    diverged(p, std::to_string(rows) + " rows on the target");
                if (p.expect == check::one_row && rows != 1) {
                    if (std::string(p.operation) == "checkpoint")
                        throw runtime_error("job '" + options_.job +
                                            "' vanished from partshift.jobs during apply, or its "
                                            "applied LSN moved past this batch (another run?)");
                    diverged(p, rows == 0 ? "no such row on the target"
                                          : std::to_string(rows) + " rows on the target");
                }
                break;
            }
            case PGRES_PIPELINE_ABORTED:
                break;  // a statement before it failed; that error is reported
            default: {
                if ((p.expect == check::insert || p.expect == check::one_row ||
                     p.expect == check::located) &&
                    res.sqlstate() == unique_violation)
                    diverged(p,
                             "the key already exists on the target (" + res.error_message() + ")");
                std::string message = std::string(p.operation) +
                                      " failed in the source transaction committed at " +
                                      stream::format_lsn(p.commit_lsn) + ": " + res.error_message();
                if (p.relation && !p.key.empty())
                    message += " (key " + p.relation->describe(p.key) + ")";
                if (p.relation && p.group && !p.group->keys.empty())
                    message += " (one of " + std::to_string(p.group->keys.size()) +
                               " rows applied together, keys " +
                               p.relation->describe_key(p.group->keys.front()) + " … " +
                               p.relation->describe(p.group->keys.back()) + ")";
                if (p.relation && res.sqlstate() == check_violation &&
                    res.error_message().find("no partition of relation") != std::string::npos)
                    message +=
                        "; create a partition that takes this value (CREATE TABLE ... "
                        "PARTITION OF " +
                        quote_qualified(p.relation->target) +
                        " FOR VALUES ...) and run again: the job resumes at this "
                        "transaction";
                throw pg::pg_error(message, res.sqlstate());
            }
        }
    }
    while (true) {
        auto res = co_await conn_->next_result();
        if (res && res.status() == PGRES_PIPELINE_SYNC) break;
    }
    located_keys_.clear();
    pending_group_rows_ = 0;
    progress_.changes_written += batch_changes_ - batch_changes_written_;
    batch_changes_written_ = batch_changes_;
    if (misses.empty()) co_return;
    // The rows moved partition in these updates: run them by key alone, in their order.
    // Nothing else touched these keys since (enqueue saw to that).
    progress_.updates_relocated += static_cast<int64_t>(misses.size());
    for (auto& miss : misses) {
        pending p(miss.relation, check::one_row, miss.operation, std::move(miss.key),
                  miss.commit_lsn);
        send(*miss.fallback, miss.fallback_params, std::move(p));
    }
    co_await sync();
}

void applier::settle_located_set(const pending& p, const pg::result& res,
                                 std::vector<pending>& misses) {
    const auto& group = *p.group;
    int64_t moved = 0;
    for (int r = 0; r < res.rows(); ++r) {
        const int64_t n = std::strtoll(res.get(r, 0).c_str(), nullptr, 10);
        const int64_t found = std::strtoll(res.get(r, 1).c_str(), nullptr, 10);
        const auto i = static_cast<size_t>(n - 1);
        if (n < 1 || i >= group.keys.size())
            throw runtime_error("internal error: a set-based UPDATE reported row " +
                                std::to_string(n) + " of its group");
        pending row(p.relation, check::one_row, p.operation, group.keys[i], group.commit_lsns[i]);
        if (found != 0) diverged(row, std::to_string(found) + " rows on the target");
        row.fallback = p.fallback;
        row.fallback_params = group.fallback_params[i];
        misses.push_back(std::move(row));
        ++moved;
    }
    progress_.updates_in_partition += static_cast<int64_t>(group.keys.size()) - moved;
}

void applier::note_wal_positions(uint64_t insert_position, uint64_t flush_position) {
    // The newest entry is the commit just made (its position not yet known): fill it in.
    if (!unflushed_commits_.empty() && unflushed_commits_.back().first == 0)
        unflushed_commits_.back().first = insert_position;
    // A synchronous commit waited for its flush (the initial entry, read, may not have).
    if (!options_.asynchronous_commit) flush_position = std::max(flush_position, insert_position);
    while (!unflushed_commits_.empty() && unflushed_commits_.front().first != 0 &&
           unflushed_commits_.front().first <= flush_position) {
        durable_applied_lsn_ = unflushed_commits_.front().second;
        progress_.durable_applied_lsn = unflushed_commits_.front().second;
        unflushed_commits_.pop_front();
    }
}

void applier::diverged(const pending& p, const std::string& detail) const {
    // The connection is left with an unread pipeline; run() unwinds and drops it, which rolls
    // the batch back together with its applied LSN.
    std::string key = p.relation ? p.relation->describe(p.key) : "(unknown)";
    throw runtime_error("divergence in strict mode: " + std::string(p.operation) + " of key " +
                        key + " in the source transaction committed at " +
                        stream::format_lsn(p.commit_lsn) + ": " + detail);
}

asio::awaitable<std::optional<pg::param_list>> applier::read_source_row(const relation_state& rel,
                                                                        const pg::param_list& key) {
    if (!source_conn_) {
        source_conn_.emplace(co_await pg::async_connection::connect(
            options_.dsn, options_.application_name + "-lookup"));
        // The row read here is written to the target as text: print it exactly.
        co_await pg::pin_text_formats(*source_conn_);
    }
    auto res = co_await source_conn_->exec(rel.source_sql.select_by_key().sql, key);
    if (res.rows() == 0) co_return std::nullopt;
    pg::param_list row;
    for (int c = 0; c < res.columns(); ++c) row.push_back(res.opt(0, c));
    co_return row;
}

}  // namespace partshift::apply
