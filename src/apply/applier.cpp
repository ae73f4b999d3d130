// applier: the replay loop and its dispatch, along the lines of PostgreSQL's worker.c: one
// handler per message kind (begin, commit, relation, insert, update, delete, truncate, logical
// message/fence) applying the idempotent or strict rules of DESIGN.md step 5. Sends through
// its apply_sessions (pipeline, row groups, batch), one per lane, each change to the lane
// lane_routing names; sets sessions up through session_setup and lane_store.
// A plain source connection serves only idempotent key changes whose new tuple lacks
// unchanged-TOAST columns. Never reads the slot or the spool directly.
#include "partshift/apply/applier.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/steady_timer.hpp>
#include <unordered_set>

#include "partshift/apply/lane_store.hpp"
#include "partshift/apply/row_values.hpp"
#include "partshift/apply/session_setup.hpp"
#include "partshift/base/catch_up_pace.hpp"
#include "partshift/error.hpp"

namespace partshift::apply {
namespace {

using stream::lsn_t;

constexpr size_t located_row_limit = 8 * 1024;  // bytes of values per located update

std::vector<relation_target> single_relation(const catalog::table_model& source,
                                             const applier_options& options) {
    return {{&source, options.target, options.partition_columns, options.job}};
}

std::string required_fence_prefix(std::string prefix) {
    if (prefix.empty())
        throw usage_error("the applier needs the job's fence prefix (state::fence_prefix)");
    return prefix;
}

}  // namespace

applier::applier(const catalog::table_model& source, applier_options options,
                 std::string fence_prefix, base::progress& progress)
    // `options` is copied, not moved: argument evaluation order is unspecified.
    : applier(single_relation(source, options), options, std::move(fence_prefix), progress) {}

applier::applier(std::vector<relation_target> relations, applier_options options,
                 std::string fence_prefix, base::progress& progress)
    : options_(std::move(options)),
      fence_prefix_(required_fence_prefix(std::move(fence_prefix))),
      progress_(progress) {
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
        if (pinned_to_lane_zero(*r.source)) pinned_.insert(r.source->oid);
    }
    if (options_.apply_workers &&
        (*options_.apply_workers < 1 || *options_.apply_workers > max_apply_workers))
        throw usage_error("the applier takes 1 to " + std::to_string(max_apply_workers) +
                          " lanes, not " + std::to_string(*options_.apply_workers));
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
        lane_ = nullptr;
        lanes_.clear();
        source_conn_.reset();
        feed_ = nullptr;
        throw;
    }
}

asio::awaitable<void> applier::run_loop(change_feed& feed) {
    feed_ = &feed;
    co_await start_session();
    co_await apply_feed(feed);
    co_await finish_feed();
    feed_ = nullptr;
}

asio::awaitable<void> applier::start_session(std::optional<int> workers) {
    // A run after a failed one starts from scratch: new sessions (nothing prepared on them
    // yet), no half-read pipeline or open group, and the applied LSN re-read from the job row.
    in_txn_ = skip_txn_ = strict_ = barrier_after_ = false;
    held_fence_.reset();
    source_conn_.reset();
    lane_ = nullptr;
    lanes_.clear();
    lane_positions_.clear();
    const bool set_statements = std::any_of(relations_.begin(), relations_.end(),
                                            [](const auto& r) { return r.second.sets_supported; });
    auto conn = co_await open_apply_session(options_, set_statements, 0);
    auto position = co_await read_job_position(conn, options_.job);
    const int wanted =
        std::clamp(workers.value_or(options_.apply_workers.value_or(position.apply_workers)), 1,
                   max_apply_workers);
    auto plan = co_await settle_lanes(conn, options_.job, static_cast<size_t>(wanted),
                                      position.applied.value_or(0));
    saved_ = plan.positions;
    positions_.applied = slowest_lane(saved_);
    if (options_.idempotent_until)
        idempotent_until_ = *options_.idempotent_until;
    else if (position.chunk_high)
        idempotent_until_ = *position.chunk_high;
    progress_.applied_lsn = positions_.applied.load();
    for (auto& [relid, rel] : relations_) co_await load_relation_facts(conn, rel);
    spdlog::info("applier: job {} resumes after {}, idempotent until {}{}", options_.job,
                 stream::format_lsn(positions_.applied), stream::format_lsn(idempotent_until_),
                 plan.lanes > 1 ? ", " + std::to_string(plan.lanes) + " apply lanes" : "");
    if (plan.lanes > 1)
        for (const auto& [relid, rel] : relations_)
            if (pinned_.count(relid))
                spdlog::info(
                    "applier: {} has a unique index or exclusion constraint besides its key: "
                    "all its changes go to apply lane 0, in source order",
                    quote_qualified(rel.source.name));
    grouped_before_ = positions_.rows_grouped.load();
    for (size_t i = 0; i < plan.lanes; ++i) {
        applier_positions* lane_positions = &positions_;
        if (plan.lanes > 1) {
            lane_positions_.push_back(std::make_unique<applier_positions>());
            lane_positions = lane_positions_.back().get();
            lane_positions->applied = saved_[i].applied;
        }
        if (i > 0) conn = co_await open_apply_session(options_, set_statements, i);
        lanes_.push_back(std::make_unique<apply_session>(
            std::move(conn), options_, progress_, *lane_positions, lane_identity{i, plan.lanes}));
        lanes_.back()->start(position);
    }
    if (lanes_.size() > 1)
        for (auto& lane : lanes_)
            lane->set_before_wait([this, waiting = lane.get()] {
                for (auto& l : lanes_)
                    if (l.get() != waiting) l->push_groups();
            });
    lane_ = lanes_.front().get();
    publish_lanes();
    commit_due_at_.reset();
}

bool applier::batch_open() const {
    return std::any_of(lanes_.begin(), lanes_.end(), [](const auto& l) { return l->batch_open(); });
}

asio::awaitable<void> applier::apply_feed(change_feed& feed) {
    while (true) {
        if (commit_due_at_) {
            const auto due = *commit_due_at_;
            commit_due_at_.reset();
            if (batch_open() && !in_txn_) {
                const bool more = co_await feed.wait_for_data(due);
                if (!more) co_await commit_batch();
            }
        }
        if (!in_txn_ && lanes_wanted() != 0) co_await change_lanes();
        if (!in_txn_ && progress_.catch_up_paced) co_await rest_if_paced();
        auto message = co_await feed.next();
        if (!message) break;
        co_await dispatch(*message);
        if (barrier_after_) co_await after_barrier();
    }
}

asio::awaitable<void> applier::rest_if_paced() {
    const auto rest = base::paced_rest(progress_, std::chrono::steady_clock::now());
    if (rest.count() <= 0) co_return;
    asio::steady_timer timer(co_await asio::this_coro::executor, rest);
    co_await timer.async_wait(asio::use_awaitable);
}

int applier::lanes_wanted() const {
    const int wanted = progress_.apply_workers.load();
    return wanted >= 1 && wanted <= max_apply_workers &&
                   static_cast<size_t>(wanted) != lanes_.size()
               ? wanted
               : 0;
}

asio::awaitable<void> applier::change_lanes() {
    // Between two source transactions: once the open batch commits, every lane stands at the
    // same position, so the new lanes all start from it (settle_lanes).
    const int wanted = lanes_wanted();
    spdlog::info("applier: {} apply lanes → {} ('partshift set')", lanes_.size(), wanted);
    if (batch_open()) co_await commit_batch();
    for (auto& lane : lanes_) lane->finish();
    co_await start_session(wanted);
}

asio::awaitable<void> applier::finish_feed() {
    if (batch_open()) {
        if (in_txn_) {
            // The feed stopped inside a source transaction: its changes must not commit
            // without its commit, and the whole batch goes with them; resume re-applies it.
            spdlog::info("applier: stopped inside a source transaction; rolling back the batch");
            held_fence_.reset();
            for (auto& lane : lanes_)
                if (lane->batch_open()) co_await lane->rollback_batch();
        } else {
            co_await commit_batch();
        }
    }
    for (auto& lane : lanes_) lane->finish();
}

asio::awaitable<void> applier::commit_batch() {
    commit_due_at_.reset();
    co_await commit_lanes();
    publish_lanes();
    // A fence is published once every lane committed its transaction (and all before it).
    if (held_fence_) {
        positions_.fence_content = held_fence_->second;
        positions_.fence = held_fence_->first;
        held_fence_.reset();
    }
    // The applied LSN and a fence in the batch are published: wake whoever waits on them.
    progress_.changed.notify();
}

void applier::publish_lanes() {
    progress_.apply_lanes = static_cast<int>(lanes_.size());
    if (lane_positions_.empty()) return;  // one lane publishes itself
    stream::lsn_t applied = lane_positions_.front()->applied;
    stream::lsn_t durable = lane_positions_.front()->durable;
    int64_t grouped = 0;
    for (size_t i = 0; i < lane_positions_.size(); ++i) {
        const auto& p = lane_positions_[i];
        applied = std::min(applied, p->applied.load());
        durable = std::min(durable, p->durable.load());
        grouped += p->rows_grouped;
        progress_.lane_applied_lsn[i] = p->applied.load();
    }
    positions_.applied = applied;
    progress_.applied_lsn = applied;
    // A lane whose resumed position is not yet known flushed counts 0: never go back.
    if (durable > positions_.durable) {
        positions_.durable = durable;
        progress_.durable_applied_lsn = durable;
    }
    positions_.rows_grouped = grouped_before_ + grouped;
}

asio::awaitable<bool> applier::route(const relation_state& rel, change_kind kind,
                                     const pg::param_list& key, bool key_changed) {
    const size_t lanes = lanes_.size();
    const lane_rule rule = rule_for(kind, key_changed, pinned_.count(rel.source.oid) > 0, lanes);
    size_t lane = 0;
    if (rule == lane_rule::by_key && lanes > 1)
        lane = lane_of(rel.source.oid, key_text(key), lanes);
    // Applied before a restart by this lane (it stood further than the slowest lane).
    if (already_applied(saved_[lane], txn_commit_lsn_, change_ordinal_)) co_return true;
    if (rule == lane_rule::barrier) {
        barrier_after_ = true;  // set first: the barrier's commit is no batch end
        co_await barrier(change_ordinal_);
    }
    lane_ = lanes_[lane].get();
    co_return false;
}

asio::awaitable<void> applier::commit_lanes() {
    std::vector<apply_session*> open;
    for (auto& lane : lanes_)
        if (lane->batch_open()) open.push_back(lane.get());
    if (open.empty()) co_return;
    // Every lane's results are checked before any commits: a divergence on one lane leaves
    // no lane's batch behind. Each half is sent to every lane before any is waited on, so
    // the lanes' backends finish their batches side by side.
    for (auto* lane : open) co_await lane->send_prepare();
    for (auto* lane : open) co_await lane->sync();
    // Every lane but the last commits together (their WAL flushes coincide), then the last,
    // which writes the job's applied LSN, the lowest of theirs: it then sees every lane's row.
    apply_session* last = open.back();
    open.pop_back();
    for (auto* lane : open) co_await lane->send_commit();
    for (auto* lane : open) co_await lane->end_commit();
    // The test pause keeps the lanes apart at a batch's end (not at a barrier's, whose commits
    // a key change each would slow to a crawl).
    if (options_.test_pause_between_lanes.count() > 0 && !barrier_after_ && !open.empty()) {
        asio::steady_timer pause(co_await asio::this_coro::executor,
                                 options_.test_pause_between_lanes);
        co_await pause.async_wait(asio::use_awaitable);
    }
    co_await last->finish_commit();
}

asio::awaitable<void> applier::barrier(int64_t ordinal) {
    for (auto& lane : lanes_)
        if (lane->batch_open()) lane->mark_partial(txn_commit_lsn_, ordinal);
    co_await commit_lanes();
    for (auto& lane : lanes_) co_await lane->open_batch();
    publish_lanes();
}

asio::awaitable<void> applier::after_barrier() {
    barrier_after_ = false;
    // The other lanes sent nothing since the barrier: their marks still hold.
    auto& lane = *lanes_.front();
    lane.mark_partial(txn_commit_lsn_, change_ordinal_ + 1);
    co_await lane.commit_batch();
    co_await lane.open_batch();
    publish_lanes();
}

asio::awaitable<void> applier::dispatch(const stream::message& message) {
    // One switch over the message kinds (STYLE.md habit 3).
    if (auto* m = std::get_if<stream::begin_msg>(&message)) co_return co_await handle_begin(*m);
    if (auto* m = std::get_if<stream::commit_msg>(&message)) co_return co_await handle_commit(*m);
    if (auto* m = std::get_if<stream::relation_msg>(&message))
        co_return co_await handle_relation(*m);
    // Row changes are numbered in their transaction: a barrier's checkpoint says how many
    // went (Relation messages are not counted: a restarted stream may send them elsewhere).
    if (std::holds_alternative<stream::insert_msg>(message) ||
        std::holds_alternative<stream::update_msg>(message) ||
        std::holds_alternative<stream::delete_msg>(message) ||
        std::holds_alternative<stream::truncate_msg>(message))
        change_ordinal_ = txn_changes_++;
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
    txn_changes_ = 0;
    for (auto& lane : lanes_) lane->begin_source_transaction(m.final_lsn);
    // Commit records are ordered, so a transaction applied before has its commit LSN below
    // the saved end LSN, and the next one not yet applied starts at or after it. With lanes:
    // applied by every lane; a lane further on skips its own changes (route).
    skip_txn_ = m.final_lsn < positions_.applied.load();
    if (skip_txn_) co_return;
    if (!strict_ && m.final_lsn > idempotent_until_) {
        strict_ = true;
        progress_.strict_mode = true;
        spdlog::info("applier: past {} — strict mode from the transaction committed at {}",
                     stream::format_lsn(idempotent_until_), stream::format_lsn(m.final_lsn));
    }
    // Every lane takes every source commit, changes of its own or not: its position moves on.
    bool opened = false;
    for (auto& lane : lanes_)
        if (!lane->batch_open()) {
            co_await lane->open_batch();
            opened = true;
        }
    if (opened) progress_.oldest_unapplied_commit_us = m.commit_time;
}

asio::awaitable<void> applier::handle_commit(const stream::commit_msg& m) {
    if (!in_txn_) throw runtime_error("Commit " + stream::format_lsn(m.end_lsn) + " without Begin");
    in_txn_ = false;
    if (skip_txn_) co_return;
    auto test_delay = options_.test_delay_per_transaction;
    if (progress_.cutover == base::cutover_stage::cutting_over)
        test_delay += options_.test_delay_in_cutover;
    if (test_delay.count() > 0) {
        asio::steady_timer pause(co_await asio::this_coro::executor, test_delay);
        co_await pause.async_wait(asio::use_awaitable);
    }
    for (auto& lane : lanes_) lane->count_transaction(m.end_lsn);
    // The lanes open and count alike (a barrier restarts them all): the first speaks for all.
    const apply_session& first = *lanes_.front();
    const auto age = std::chrono::steady_clock::now() - first.batch_started();
    // The cutover waits for its fence under a lock: that batch commits at once.
    bool due = first.batch_transactions() >= options_.max_batch_transactions ||
               age >= options_.max_batch_delay || held_fence_.has_value();
    if (!due && feed_ && feed_->caught_up()) {
        if (age >= options_.min_batch_age)
            due = true;
        else
            commit_due_at_ = first.batch_started() + options_.min_batch_age;
    }
    if (due) co_await commit_batch();
}

asio::awaitable<void> applier::handle_relation(const stream::relation_msg& m) {
    const relation_state* rel = relation_for(m.relid);
    if (!rel || rel->matches(m)) co_return;
    // The stream names types by oid; the stop message names them as the user wrote them.
    std::vector<std::string> types;
    try {
        if (!source_conn_) {
            auto conn = co_await open_lookup_session(options_);
            source_conn_.emplace(std::move(conn));
        }
        for (const auto& c : m.columns) {
            std::string sql = "SELECT pg_catalog.format_type($1::oid, $2::int)";
            auto params = pg::make_params(std::to_string(c.type_oid), std::to_string(c.typmod));
            auto res = co_await source_conn_->exec(std::move(sql), std::move(params));
            types.push_back(res.get(0, 0));
        }
    } catch (const std::exception& e) {
        spdlog::debug("applier: could not name the stream's column types: {}", e.what());
        types.clear();  // the oids then
    }
    const auto text = relation_change_text(quote_qualified(rel->source.name), options_.job,
                                           rel->target_sql.columns(), m.columns, types);
    throw runtime_error(text.value_or("source table " + quote_qualified(rel->source.name) +
                                      " changed during the job"));
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
    const bool applied_before = co_await route(*rel, change_kind::insert, key, false);
    if (applied_before) co_return;
    lane_->count_change();
    if (rel->is_skipped(key)) co_await track_skipped(*rel, key, false);  // a full row now
    if (groupable(*rel) && !rel->row_by_row_writes) {
        co_await lane_->add_to_group(*rel, group_kind::insert, {}, params_of(m.new_tuple), key,
                                     "INSERT");
    } else if (strict_) {
        co_await lane_->queue(*rel, rel->target_sql.insert(), params_of(m.new_tuple), check::insert,
                              "INSERT", std::move(key));
    } else {
        // Replace: the copy may already hold this key from a later snapshot.
        co_await lane_->queue(*rel, rel->target_sql.delete_by_key(), key, check::none, "DELETE");
        co_await lane_->queue(*rel, rel->target_sql.insert(), params_of(m.new_tuple), check::none,
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
    const bool applied_before = co_await route(*rel, change_kind::update, old_key, key_changed);
    if (applied_before) co_return;
    lane_->count_change();
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
        co_await lane_->queue(rel, sql.update_by_key(mask), std::move(params), check::none,
                              "UPDATE");
        co_return;
    }
    // Key change k1 → k2. Never move the k1 row: in this window it may be a later incarnation
    // copied under a newer snapshot. Delete it, then set k2's state.
    co_await lane_->queue(rel, sql.delete_by_key(), old_key, check::none, "DELETE");
    co_await track_skipped(rel, old_key, false);
    if (is_complete(row)) {
        co_await lane_->queue(rel, sql.delete_by_key(), new_key, check::none, "DELETE");
        co_await lane_->queue(rel, sql.insert(), params_of(row), check::none, "INSERT");
        co_await track_skipped(rel, new_key, false);
        co_return;
    }
    // Unsent columns come from k2's target row if there is one: update it with the sent
    // columns (after deleting k1, in the same pipeline) and see whether it found a row. The
    // decision needs that result, so this is the one path that syncs mid-batch.
    lane_->reset_probe();
    if (any) {
        auto params = params_of(row, mask);
        params.insert(params.end(), new_key.begin(), new_key.end());
        co_await lane_->queue(rel, sql.update_by_key(mask), std::move(params), check::probe,
                              "UPDATE");
    } else {
        co_await lane_->queue(rel, sql.select_by_key(), new_key, check::probe, "SELECT");
    }
    co_await lane_->sync();
    if (lane_->probe_rows() > 0) {
        co_await track_skipped(rel, new_key, false);
        co_return;
    }
    co_await key_change_from_source(rel, row, new_key);
}

asio::awaitable<void> applier::key_change_from_source(relation_state& rel, const stream::tuple& row,
                                                      const pg::param_list& new_key) {
    // The unsent columns from the source's current row for k2 (a later change of k2 corrects
    // it if newer).
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
    co_await lane_->queue(rel, rel.target_sql.insert(), std::move(full), check::none, "INSERT");
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
            co_await lane_->queue(rel, sql.delete_by_key(), old_key, check::one_row, "UPDATE",
                                  old_key);
            co_await lane_->queue(rel, sql.insert(), params_of(row), check::insert, "UPDATE",
                                  old_key);
            co_return;
        }
    } else {
        for (size_t k : sql.key()) mask[k] = false;
    }
    if (std::find(mask.begin(), mask.end(), true) == mask.end()) {
        // Nothing to write, but strict mode still requires the row to exist.
        co_await lane_->queue(rel, sql.select_by_key(), old_key, check::one_row, "UPDATE", old_key);
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
    if (!key_changed && groupable(rel) && rel.reorder_safe && !rel.row_by_row_writes) {
        // Grouped by column mask: only the sent columns are set (inv. 3); a row whose
        // partition key changed is moved by the server, as for the row-by-row update.
        co_await lane_->add_to_group(rel, group_kind::update, mask, params, old_key, "UPDATE",
                                     std::move(where));
        co_return;
    }
    co_await lane_->send_update(rel, mask, std::move(params), old_key, std::move(where),
                                txn_commit_lsn_);
}

asio::awaitable<void> applier::handle_delete(const stream::delete_msg& m) {
    relation_state* rel = relation_for(m.relid);
    if (skip_txn_ || !rel) co_return;
    check_tuple(*rel, m.old_tuple, "DELETE");
    auto key = key_of(m.old_tuple, rel->target_sql.key());
    const auto& delete_by_key = rel->target_sql.delete_by_key();
    const bool applied_before = co_await route(*rel, change_kind::remove, key, false);
    if (applied_before) co_return;
    lane_->count_change();
    if (rel->is_skipped(key)) {
        // Left out of the target by design: nothing to delete, in either mode.
        co_await lane_->queue(*rel, delete_by_key, key, check::none, "DELETE");
        co_await track_skipped(*rel, key, false);
    } else if (groupable(*rel))
        co_await lane_->add_to_group(*rel, group_kind::remove, {}, key, key, "DELETE");
    else if (strict_)
        co_await lane_->queue(*rel, delete_by_key, key, check::one_row, "DELETE", key);
    else
        co_await lane_->queue(*rel, delete_by_key, key, check::none, "DELETE");
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
    const pg::param_list no_key;  // named: no temporary inside a co_await (GCC 12)
    const bool applied_before =
        co_await route(*truncated.front(), change_kind::truncate, no_key, false);
    if (applied_before) co_return;
    lane_->count_change();
    co_await lane_->flush_groups();
    co_await lane_->settle_located();  // fallbacks first: TRUNCATE touches every key
    // One statement for all, as on the source (a foreign key between targets may require it).
    std::vector<std::string> targets;
    for (const relation_state* rel : truncated) targets.push_back(rel->target_sql.relation());
    co_await lane_->queue_sql(truncate_sql(targets, (m.options & 2) != 0), {});
    for (relation_state* rel : truncated)
        if (rel->skipped.forget_all())
            co_await lane_->queue_sql(skipped_keys::forget_all_sql,
                                      pg::make_params(rel->skipped_keys_job));
}

asio::awaitable<void> applier::track_skipped(relation_state& rel, const pg::param_list& key,
                                             bool skipped) {
    std::string text = key_text(key);
    if (skipped ? rel.skipped.remember(text) : rel.skipped.forget(text))
        co_await lane_->queue_sql(skipped ? skipped_keys::remember_sql : skipped_keys::forget_sql,
                                  pg::make_params(rel.skipped_keys_job, text));
}

asio::awaitable<void> applier::handle_message(const stream::logical_message_msg& m) {
    if (m.prefix != fence_prefix_) co_return;
    if (m.transactional && in_txn_) {
        // Published when the batch holding its transaction commits.
        if (!skip_txn_) {
            held_fence_.emplace(m.lsn, m.content);
            co_return;
        }
    } else if (batch_open() && !in_txn_) {
        // Everything decoded before a non-transactional fence precedes it in WAL: commit it
        // now so whoever waits on the fence does not wait for the next batch deadline.
        co_await commit_batch();
    }
    positions_.fence_content = m.content;
    positions_.fence = m.lsn;
    progress_.changed.notify();
    spdlog::info("applier: fence {} applied", stream::format_lsn(m.lsn));
}

asio::awaitable<std::optional<pg::param_list>> applier::read_source_row(const relation_state& rel,
                                                                        const pg::param_list& key) {
    if (!source_conn_) source_conn_.emplace(co_await open_lookup_session(options_));
    auto res = co_await source_conn_->exec(rel.source_sql.select_by_key().sql, key);
    if (res.rows() == 0) co_return std::nullopt;
    pg::param_list row;
    for (int c = 0; c < res.columns(); ++c) row.push_back(res.opt(0, c));
    co_return row;
}

}  // namespace partshift::apply
