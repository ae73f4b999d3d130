// cutover_runner: attempts, lock, fence, swap, commit. Blocking libpq on the caller's thread;
// its waits sleep on the progress signal, never in a polling loop.
#include "partshift/cutover/cutover_runner.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <random>
#include <thread>
#include <tuple>

#include "partshift/catalog/table_name.hpp"
#include "partshift/cutover/lock_blockers.hpp"
#include "partshift/cutover/swap_catalog.hpp"
#include "partshift/error.hpp"
#include "partshift/monitor/log_event.hpp"
#include "partshift/pg/pg_error.hpp"
#include "partshift/pg/quote.hpp"
#include "partshift/state/job_names.hpp"
#include "partshift/state/schema_prints.hpp"
#include "partshift/state/source_partitions.hpp"
#include "partshift/stream/origin_filter.hpp"

namespace partshift::cutover {
namespace {

using clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

double ms_since(clock::time_point t) {
    return std::chrono::duration<double, std::milli>(clock::now() - t).count();
}

// Fault injection for the cutover tests (off unless set): a pause at a named point.
void test_pause(const char* variable) {
    if (const char* ms = std::getenv(variable))
        std::this_thread::sleep_for(std::chrono::milliseconds(std::atoi(ms)));
}

// swapped_table: one table the attempt swaps, with its quoted names.
struct swapped_table {
    const state::job_record* job;
    std::string source, target;
};

// tables_in_lock_order: the job's table and a multi-table job's others, sorted by source
// name: every partshift cutover takes its locks in the same order.
std::vector<swapped_table> tables_in_lock_order(const cutover_options& o) {
    std::vector<swapped_table> out;
    auto add = [&](const state::job_record& j) {
        out.push_back({&j, pg::escape_qualified(j.source_schema, j.source_table),
                       pg::escape_qualified(j.target_schema, j.target_table)});
    };
    add(o.job);
    for (const auto& m : o.members) add(m);
    std::sort(out.begin(), out.end(), [](const swapped_table& a, const swapped_table& b) {
        return std::tie(a.job->source_schema, a.job->source_table) <
               std::tie(b.job->source_schema, b.job->source_table);
    });
    return out;
}

std::string joined(const std::vector<swapped_table>& tables, std::string swapped_table::*field) {
    std::string out;
    for (const auto& t : tables) out += (out.empty() ? "" : ", ") + t.*field;
    return out;
}

// cutover_attempt: one BEGIN … COMMIT (or rollback) on the locking session.
class cutover_attempt {
  public:
    cutover_attempt(const cutover_options& o, const cutover_hooks& hooks, pg::connection& lock_conn,
                    pg::connection& fence_conn, blocker_terminator* terminator)
        : o_(o),
          hooks_(hooks),
          lock_(lock_conn),
          fence_(fence_conn),
          terminator_(terminator),
          tables_(tables_in_lock_order(o)),
          sources_(joined(tables_, &swapped_table::source)),
          targets_(joined(tables_, &swapped_table::target)),
          prefix_(state::fence_prefix(o.job.job)) {}

    // run: true when the swap committed; false with `failure` set when it rolled back.
    bool run(int attempt, cutover_result& result, std::string& failure) {
        cleared_ = 0;
        cancelled_autovacuum_ = 0;
        pg::transaction tx(lock_);  // rolls back unless committed: the source stays as it was
        set_up_transaction();
        const auto requests = swap_requests();
        std::vector<swap_preparation> prepared;
        if (!lock_sources(requests, prepared, failure)) return false;
        const auto granted = clock::now();
        const auto deadline = granted + o_.max_lock_hold;
        check_no_foreign_origins();
        if (!apply_tail(attempt, deadline, failure)) return false;
        result.tail_apply_ms = ms_since(granted);
        if (!swap_and_commit(attempt, requests, prepared, tx, granted, result, failure))
            return false;
        result.lock_hold_ms = ms_since(granted);
        make_durable();
        return true;
    }

    // cleared: blockers the last failed attempt cancelled (autovacuum) or terminated; the next
    // attempt need not back off.
    int cleared() const { return cleared_; }
    // cancelled_autovacuum: autovacuum workers the last failed attempt cancelled.
    int cancelled_autovacuum() const { return cancelled_autovacuum_; }

  private:
    std::vector<std::string> names(std::string swapped_table::*field) const {
        std::vector<std::string> out;
        for (const auto& t : tables_) out.push_back(t.*field);
        return out;
    }

    void set_up_transaction() {
        lock_.exec("SET LOCAL lock_timeout = '" + std::to_string(o_.lock_timeout.count()) + "ms'");
        // The commit releases the lock without waiting for its WAL to reach disk: an fsync
        // stall (200 ms on a busy disk) would otherwise hold every writer of the table.
        // make_durable waits for it once the lock is gone, before anything irreversible.
        lock_.exec("SET LOCAL synchronous_commit = off");
    }

    // swap_requests: one per table, in lock order.
    std::vector<swap_request> swap_requests() {
        // The other tables of a multi-table job: their inbound keys from each other stay on
        // the old tables (the partitioned ones got theirs before the copy, plan::group_plan).
        // Under either name: a table swapped earlier in this transaction is NAME_old already.
        std::vector<catalog::qualified_name> job_sources;
        for (const auto& t : tables_) {
            job_sources.push_back({t.job->source_schema, t.job->source_table});
            job_sources.push_back({t.job->source_schema, t.job->old_name});
        }
        std::vector<swap_request> requests;
        for (const auto& t : tables_) {
            swap_request request{{t.job->source_schema, t.job->source_table},
                                 t.job->target_table,
                                 t.job->old_name,
                                 t.job->publication_name,
                                 o_.drop_unrepointable_fks};
            if (o_.reverting) {
                request.reverting = true;
                request.target_index_suffix = "_old";
                request.old_suffix = "_partitioned";
            }
            if (tables_.size() > 1) request.keep_inbound_from = job_sources;
            if (!o_.reverting)
                request.recheck_schema = [this, job = t.job](pg::connection&) {
                    check_schema(*job);
                };
            requests.push_back(std::move(request));
        }
        return requests;
    }

    // lock_sources: the catalog read and checked under SHARE UPDATE EXCLUSIVE, then the
    // sources in ACCESS EXCLUSIVE. False with `failure` set when a lock was not granted in
    // time (its blockers named, handled); throws for any other failure (rolled back).
    bool lock_sources(const std::vector<swap_request>& requests,
                      std::vector<swap_preparation>& prepared, std::string& failure) {
        // What the statement that may time out asks for, for the blocker report.
        auto locking = names(&swapped_table::source);
        for (auto& t : names(&swapped_table::target)) locking.push_back(std::move(t));
        lock_request mode = lock_request::share_update_exclusive;
        try {
            // The catalog is read first, under a lock that holds DDL off but lets writes go
            // on, so the reads are not part of the ACCESS EXCLUSIVE hold.
            lock_.exec("LOCK TABLE " + sources_ + ", " + targets_ +
                       " IN SHARE UPDATE EXCLUSIVE MODE");
            // That lock also holds off ATTACH and DETACH PARTITION: a re-partitioned source's
            // tree is now settled; one that changed stops the job (runtime_error, exit 1). The
            // swap back of a revert window has a partitioned source of partshift's own making.
            if (!o_.reverting)
                state::check_source_partitions(lock_, o_.job.job,
                                               {o_.job.source_schema, o_.job.source_table});
            for (const auto& request : requests) prepared.push_back(prepare_swap(lock_, request));
            // The schema as the job recorded it (issue 20 item 1), checked under the lock that
            // holds DDL off: a change the swap would not carry stops the job (runtime_error,
            // exit 1; rolled back, the source untouched). What this lock lets through (grants,
            // comments, new dependents) is checked again under ACCESS EXCLUSIVE by swap_tables.
            if (!o_.reverting)
                for (const auto& t : tables_) check_schema(*t.job);
            // One statement, the tables in its list order: the fixed order of tables_.
            locking = names(&swapped_table::source);
            mode = lock_request::access_exclusive;
            lock_.exec("LOCK TABLE " + sources_ + " IN ACCESS EXCLUSIVE MODE");
            return true;
        } catch (const pg::pg_error& e) {
            if (e.sqlstate() != pg::sqlstate::lock_not_available) {
                if (e.is_connection_loss()) throw;
                throw cutover_error(
                    "cutover failed and was rolled back, the source is untouched: " +
                    std::string(e.what()));
            }
            std::string what;
            for (const auto& r : locking) what += (what.empty() ? "" : ", ") + r;
            failure = "the lock on " + what + " was not granted within " +
                      std::to_string(o_.lock_timeout.count()) + " ms; blocked by " +
                      handle_blockers(locking, mode);
            return false;
        }
    }

    // check_no_foreign_origins: a stream read with origin 'none' misses every change made
    // under a replication origin: with the sources locked, no change can reach them under one
    // that appears later, so none now means none since the origin watch last looked
    // (runtime_error, exit 1, as a schema change: retrying cannot help; rolled back, the
    // source untouched).
    void check_no_foreign_origins() {
        if (!stream::origin_filter_enabled(o_.job.origin_filter)) return;
        if (auto foreign = stream::foreign_origins(lock_); !foreign.empty())
            throw runtime_error(stream::foreign_origin_message(foreign, o_.job.job));
    }

    // apply_tail: the fence committed on the second session, then a wait (under the lock)
    // until the applier has applied it. False with `failure` set when the hold's cap came
    // first, or a stop.
    bool apply_tail(int attempt, clock::time_point deadline, std::string& failure) {
        const uint64_t applied_at_lock = hooks_.applied_position ? hooks_.applied_position() : 0;
        // Once the lock is granted no source write can commit: every change before this
        // message's commit is in the stream ahead of it.
        auto fence = fence_.query(
            "SELECT (pg_logical_emit_message(true, $1, $2) - '0/0'::pg_lsn)::numeric(20,0)::text",
            prefix_, "cutover attempt " + std::to_string(attempt));
        const uint64_t fence_lsn = std::stoull(fence.get(0, 0));
        test_pause("PARTSHIFT_TEST_SLOW_TAIL_MS");
        // Woken by each commit of the applier (and by a stop); the hold's cap ends the wait.
        const bool drained = hooks_.changed->wait_until(
            [&] { return hooks_.applied_fence_lsn() >= fence_lsn; }, deadline, *hooks_.stop);
        if (drained) return true;
        failure = "the tail was not applied within --max-lock-hold (" +
                  std::to_string(o_.max_lock_hold.count()) + " ms)";
        if (hooks_.applied_position && hooks_.describe_undrained_tail) {
            const uint64_t now_applied = hooks_.applied_position();
            const uint64_t tail = fence_lsn > applied_at_lock ? fence_lsn - applied_at_lock : 0;
            failure += ": " + hooks_.describe_undrained_tail(
                                  tail, now_applied > applied_at_lock
                                            ? std::min(tail, now_applied - applied_at_lock)
                                            : 0);
        }
        return false;
    }

    // swap_and_commit: the swap's statements under what is left of the hold (the server
    // cancels a slow one), the job marked cut over in the same transaction, COMMIT. False with
    // `failure` set when the hold ran out or the targets' lock was not granted.
    bool swap_and_commit(int attempt, const std::vector<swap_request>& requests,
                         std::vector<swap_preparation>& prepared, pg::transaction& tx,
                         clock::time_point granted, cutover_result& result, std::string& failure) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            granted + o_.max_lock_hold - clock::now());
        if (left < 1ms) {
            failure = "no time left under --max-lock-hold for the swap";
            return false;
        }
        lock_.exec("SET LOCAL statement_timeout = '" + std::to_string(left.count()) + "ms'");
        try {
            lock_.exec("LOCK TABLE " + targets_ + " IN ACCESS EXCLUSIVE MODE");
            result.swap = {};
            for (size_t i = 0; i < requests.size(); ++i) {
                auto outcome = swap_tables(lock_, requests[i], &prepared[i]);
                result.swap.steps.insert(result.swap.steps.end(), outcome.steps.begin(),
                                         outcome.steps.end());
                result.swap.after_commit_sql.insert(result.swap.after_commit_sql.end(),
                                                    outcome.after_commit_sql.begin(),
                                                    outcome.after_commit_sql.end());
            }
            // The job's own row keeps the statements to run after the commit, for all tables.
            state::mark_cut_over(lock_, o_.job.job, attempt, result.swap.after_commit_sql);
            for (const auto& member : o_.members)
                state::mark_cut_over(lock_, member.job, attempt, {});
            if (hooks_.in_swap_transaction) hooks_.in_swap_transaction(lock_);
            test_pause("PARTSHIFT_TEST_PAUSE_BEFORE_COMMIT_MS");
            const auto committing = clock::now();
            result.swap_ms = ms_since(granted) - result.tail_apply_ms - ms_since(committing);
            tx.commit();
            result.commit_ms = ms_since(committing);
            return true;
        } catch (const pg::pg_error& e) {
            if (e.sqlstate() == pg::sqlstate::lock_not_available) {
                // The targets' ACCESS EXCLUSIVE (this transaction holds SHARE UPDATE EXCLUSIVE
                // on them already, so only readers and writers of them can be in the way).
                failure =
                    std::string("the swap did not finish within --max-lock-hold (") + e.what() +
                    "); blocked by " +
                    handle_blockers(names(&swapped_table::target), lock_request::access_exclusive);
                return false;
            }
            if (e.sqlstate() == pg::sqlstate::query_canceled) {
                failure = std::string("the swap did not finish within --max-lock-hold (") +
                          e.what() + ")";
                return false;
            }
            if (e.is_connection_loss()) throw;
            throw cutover_error("cutover failed and was rolled back, the source is untouched: " +
                                std::string(e.what()));
        }
    }

    // handle_blockers: after a lock timeout, who holds what the statement asked for (read on
    // the fence session: the locking one is in an aborted transaction); autovacuum among them
    // cancelled, long blockers terminated when asked to. Returns their description.
    std::string handle_blockers(const std::vector<std::string>& relations, lock_request mode) {
        const auto blockers = read_lock_blockers(fence_, relations, lock_.backend_pid(), mode);
        cancelled_autovacuum_ = cancel_autovacuum(fence_, blockers);
        cleared_ += cancelled_autovacuum_;
        if (terminator_) cleared_ += terminator_->observe(fence_, blockers);
        return describe_blockers(blockers);
    }

    // check_schema: the job's recorded schema print against its source now, on the locking
    // session (its search_path is '' from prepare_swap on).
    void check_schema(const state::job_record& job) {
        const auto source = find_relation(lock_, {job.source_schema, job.source_table});
        if (!source) return;  // prepare_swap said so already
        state::check_schema_print(lock_, job.job, source->oid,
                                  catalog::qualified({job.source_schema, job.source_table}),
                                  job.publication_name);
    }

    // make_durable returns once the swap's commit is on disk: a transaction with an xid
    // committed synchronously after it flushes the WAL up to its own commit record, so past
    // the swap's. Until then a crash of the server may undo the swap, harmlessly: no writer it
    // released has had a commit acknowledged (each would have flushed the swap with its own),
    // and the job's row goes back with it, so the next run follows and cuts over again.
    // Dropping the slot or telling anyone has to wait for this. With a synchronous standby the
    // commit waits for it as the session's synchronous_commit says; 'off' is raised to a local
    // flush.
    void make_durable() {
        test_pause("PARTSHIFT_TEST_PAUSE_BEFORE_DURABLE_MS");
        pg::transaction tx(lock_);
        lock_.exec(
            "SELECT set_config('synchronous_commit', 'local', true) "
            "WHERE current_setting('synchronous_commit') = 'off'");
        lock_.exec("SELECT pg_current_xact_id()");
        tx.commit();
    }

    const cutover_options& o_;
    const cutover_hooks& hooks_;
    pg::connection& lock_;
    pg::connection& fence_;
    blocker_terminator* terminator_;  // null unless --cutover-terminate-blockers-after
    int cleared_ = 0;
    int cancelled_autovacuum_ = 0;
    const std::vector<swapped_table> tables_;  // in lock order
    const std::string sources_, targets_, prefix_;
};

}  // namespace

cutover_result run_cutover(const cutover_options& o, const cutover_hooks& hooks) {
    cutover_result result;
    pg::connection lock_conn(o.dsn, "partshift-cutover");
    // The fence commits on a second session: a message inside the locking transaction would
    // only be decoded at its commit, after the swap (DESIGN.md §1 step 7).
    pg::connection fence_conn(o.dsn, "partshift-fence");
    fence_conn.exec("SET synchronous_commit = on");
    std::optional<blocker_terminator> terminator;
    if (o.terminate_blockers_after) terminator.emplace(*o.terminate_blockers_after);
    cutover_attempt attempt_once(o, hooks, lock_conn, fence_conn,
                                 terminator ? &*terminator : nullptr);
    std::mt19937 random(std::random_device{}());
    auto backoff = 200ms;
    // A cancelled autovacuum worker goes on to the next table of its list, often another
    // partition of the target, before the next attempt locks it (PostgreSQL's own lock waiter
    // keeps its place in the queue, which autovacuum yields to; a timed-out attempt does not).
    // Such an attempt is repeated at once without counting against --cutover-attempts, up to
    // this many times, so a server that keeps starting workers cannot hold the cutover forever.
    constexpr int max_autovacuum_retries = 200;
    int autovacuum_retries = 0;
    // A revert's swap back is logged as what it is, not as the migration's cutover.
    const char* what = o.reverting ? "revert" : "cutover";
    const char* swapped_event = o.reverting ? "revert_swapped" : "cutover_swapped";
    const char* refused_event = o.reverting ? "revert_refused" : "cutover_refused";
    using monitor::log_event;

    for (int attempt = 1; attempt <= o.attempts; ++attempt) {
        result.attempts = attempt;
        // Catch up before the lock, not under it. Woken by each commit of the applier, each
        // lag measurement of the job monitor (the gate reads its figures) and a stop.
        const bool current =
            hooks.changed->wait_until(hooks.applier_current, clock::time_point::max(), *hooks.stop);
        if (!current || hooks.stop->load()) {
            result.stopped = true;
            return result;
        }
        std::string failure;
        const bool swapped = attempt_once.run(attempt, result, failure);
        if (hooks.attempt_finished) {
            result.swapped = swapped;
            hooks.attempt_finished(result);
        }
        if (swapped) {
            result.swapped = true;
            log_event(spdlog::level::info,
                      {.job = o.job.job, .phase = "follow", .event = swapped_event},
                      "{}: swapped {}on attempt {}; lock held {:.0f} ms (tail applied in "
                      "{:.0f} ms, swap {:.0f} ms, commit {:.0f} ms)",
                      what, o.reverting ? "back " : "", attempt, result.lock_hold_ms,
                      result.tail_apply_ms, result.swap_ms, result.commit_ms);
            test_pause("PARTSHIFT_TEST_PAUSE_AFTER_COMMIT_MS");
            return result;
        }
        result.last_failure = failure;
        if (attempt_once.cancelled_autovacuum() > 0 &&
            autovacuum_retries < max_autovacuum_retries) {
            ++autovacuum_retries;
            log_event(spdlog::level::info,
                      {.job = o.job.job, .phase = "follow", .event = refused_event},
                      "{} attempt {}/{}: {}; autovacuum cancelled, trying again at once", what,
                      attempt, o.attempts, failure);
            --attempt;
            continue;
        }
        log_event(spdlog::level::warn,
                  {.job = o.job.job, .phase = "follow", .event = refused_event},
                  "{} attempt {}/{}: {}; rolled back, source untouched", what, attempt, o.attempts,
                  failure);
        if (attempt == o.attempts) break;
        if (attempt_once.cleared() > 0) {
            // The blockers are gone: try again once their sessions have ended (a terminated
            // backend takes a moment to exit; the server offers nothing to wait on). A stop
            // cuts the pause short, and the wait above then returns.
            hooks.changed->sleep_until(clock::now() + 100ms, *hooks.stop);
            continue;
        }
        // Back off with jitter, so retries do not fall into step with the blocking workload.
        auto pause = backoff + std::chrono::milliseconds(std::uniform_int_distribution<int>(
                                   0, static_cast<int>(backoff.count()))(random));
        hooks.changed->sleep_until(clock::now() + pause, *hooks.stop);
        backoff = std::min<std::chrono::milliseconds>(backoff * 2, 5000ms);
    }
    return result;
}

}  // namespace partshift::cutover
