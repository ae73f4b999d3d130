// follow_phase: the applier and the tasks beside it, from replay to the cutover's end.
#include "partshift/migrate/follow_phase.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdlib>

#include "partshift/migrate/index_phase.hpp"
#include "partshift/monitor/log_event.hpp"
#include "partshift/pg/async_connection.hpp"
#include "partshift/pg/pg_error.hpp"
#include "partshift/spool/segment_cleanup.hpp"
#include "partshift/state/cutover_request.hpp"
#include "partshift/state/job_names.hpp"
#include "partshift/stream/origin_filter.hpp"

namespace partshift::migrate {

namespace asio = boost::asio;
using namespace std::chrono_literals;

follow_phase::follow_phase(run_context& ctx, state::job_record& job)
    : ctx_(ctx), job_(job), tasks_(ctx.tasks), unique_built_(!has_unique_indexes(ctx.tables)) {}

follow_phase::~follow_phase() = default;

asio::awaitable<void> follow_phase::run() {
    auto load = [&](pg::connection& c) { return state::load_job(c, job_.job); };
    auto fresh = co_await ctx_.control_async(load);
    applier_ = std::make_unique<apply::applier>(relations(), applier_options(),
                                                state::fence_prefix(job_.job), ctx_.progress);
    feed_.emplace(ctx_.writer, ctx_.spool_published, fresh->applied_lsn.value_or(0),
                  ctx_.tasks.stop_flag());
    cutover_.emplace(ctx_, tasks_, job_.job, [a = applier_.get()] { return a->fence_lsn(); });
    follow_watcher watcher(watcher_options(*fresh), watcher_hooks(), ctx_.progress, tasks_);
    if (job_.phase == state::phase::follow) start_unique_build();
    tasks_.spawn("follow watcher", watcher.run());
    auto apply_error = co_await apply_until_stopped();
    // Everything the phase started refers to this frame: let it end before it goes.
    ctx_.tasks.request_stop();
    co_await tasks_.join();
    cutover_->report();
    if (apply_error && !ctx_.cutover.swapped()) std::rethrow_exception(apply_error);
    tasks_.rethrow_first_failure();  // the unique build's, the watcher's
}

std::vector<apply::relation_target> follow_phase::relations() const {
    std::vector<apply::relation_target> out;
    for (const auto& t : ctx_.tables) {
        apply::relation_target r;
        r.source = t.table;
        r.target = t.target;
        // A reverse job (revert window) applies into the plain NAME_old: no partitions.
        if (!t.plan->spec.level1.key.empty())
            r.partition_columns.push_back(t.plan->spec.level1.key);
        if (t.plan->spec.level2) r.partition_columns.push_back(t.plan->spec.level2->key);
        r.skipped_keys_job = t.job;
        out.push_back(std::move(r));
    }
    return out;
}

apply::applier_options follow_phase::applier_options() const {
    apply::applier_options o;
    o.dsn = ctx_.options.dsn;
    o.job = job_.job;
    o.target = {job_.target_schema, job_.target_table};
    if (stream::origin_filter_enabled(job_.origin_filter)) o.origin_slot = job_.slot_name;
    if (const char* ms = std::getenv("PARTSHIFT_TEST_APPLY_DELAY_MS"))
        o.test_delay_per_transaction = std::chrono::milliseconds(std::atoi(ms));
    if (const char* ms = std::getenv("PARTSHIFT_TEST_LANE_COMMIT_PAUSE_MS"))
        o.test_pause_between_lanes = std::chrono::milliseconds(std::atoi(ms));
    if (const char* ms = std::getenv("PARTSHIFT_TEST_APPLY_DELAY_IN_CUTOVER_MS"))
        o.test_delay_in_cutover = std::chrono::milliseconds(std::atoi(ms));
    return o;
}

follow_watcher_options follow_phase::watcher_options(const state::job_record& fresh) const {
    follow_watcher_options watch;
    watch.job = job_.job;
    watch.window_end = fresh.max_chunk_high_lsn.value_or(0);
    watch.in_follow = job_.phase == state::phase::follow;
    watch.dry_run_for = ctx_.options.dry_run_for;
    watch.cut_over = !ctx_.options.dry_run;
    watch.postpone = ctx_.options.postpone_cutover;
    if (job_.reverse_of)
        watch.waiting_line =
            "revert window of job " + *job_.reverse_of + ": changes to " + job_.source_schema +
            "." + job_.source_table + " are followed into " + job_.target_schema + "." +
            job_.target_table + "; 'partshift revert --job " + *job_.reverse_of +
            "' swaps back, 'partshift finish --job " + *job_.reverse_of + "' closes the window";
    watch.postpone_flag_file = ctx_.options.postpone_flag_file;
    watch.hook_retry = ctx_.options.before_cutover_retry;
    if (ctx_.options.cutover.when_tail_fits)
        watch.tail_fits_hold = ctx_.options.cutover.max_lock_hold;
    return watch;
}

follow_watcher_hooks follow_phase::watcher_hooks() {
    follow_watcher_hooks hooks;
    hooks.backlog_applied = [this] { return feed_->caught_up(); };
    hooks.enter_follow = [this] { return enter_follow(); };
    hooks.indexes_ready = [this] { return unique_built_; };
    hooks.remove_applied_segments = [this] {
        // Only what the target has flushed: its apply commits are asynchronous.
        spool::remove_applied_segments(ctx_.writer.dir(), ctx_.progress.durable_applied_lsn);
    };
    if (ctx_.hooks.enabled())
        hooks.before_cutover = [this] {
            return ctx_.hooks.before_cutover(ctx_.tasks, job_, ctx_.progress);
        };
    hooks.claim_request = [this] { return claim_request(); };
    hooks.start_cutover = [this] { cutover_->start(); };
    hooks.cutover_finished = [this] { return cutover_->finished(); };
    return hooks;
}

asio::awaitable<void> follow_phase::enter_follow() {
    // A connection of its own, awaited on the loop: the job's row may be locked by the
    // applier's open batch (its checkpoint) until that commits, on this same loop.
    auto conn = co_await pg::async_connection::connect(ctx_.options.dsn, "partshift-control");
    std::string sql = state::set_phase_sql;
    co_await conn.exec(std::move(sql), pg::make_params(job_.job, state::phase::follow));
    job_.phase = state::phase::follow;
    ctx_.monitor.set_phase(state::phase::follow);
    monitor::log_event(spdlog::level::info,
                       {.job = job_.job, .phase = state::phase::follow, .event = "phase"},
                       "phase {}", state::phase::follow);
    start_unique_build();
}

// claim_request: the `partshift cutover` request made to this run, taken in its row (a
// withdrawal after this comes too late: state/cutover_request.hpp).
asio::awaitable<bool> follow_phase::claim_request() {
    auto claim = [&](pg::connection& c) { return state::claim_cutover_request(c, job_.job); };
    const bool claimed = co_await ctx_.control_async(claim);
    co_return claimed;
}

// start_unique_build: the secondary UNIQUE indexes (DESIGN.md step 6), built beside the
// applier once in follow. A failure stops the job; a stop cancels the build and a rerun
// finishes it.
void follow_phase::start_unique_build() {
    if (unique_built_) return;
    spdlog::info("building the unique indexes concurrently");
    tasks_.spawn("unique index build", build_unique());
}

asio::awaitable<void> follow_phase::build_unique() {
    // A named result, not `if (co_await …)`: GCC 12 miscompiles a co_await on a temporary in a
    // condition (SIGILL at the coroutine's end, as in task_group::wait_for_stop).
    const bool built = co_await build_job_indexes(ctx_, index_kind::unique);
    if (built) {
        unique_built_ = true;
        spdlog::info("unique indexes built");
    } else {
        spdlog::info("unique index build stopped; a rerun finishes it");
    }
}

// apply_until_stopped: the applier until the run stops; a lost connection resumes it from
// the checkpoint. Returns (not throws) its failure: the tasks beside it must end first.
asio::awaitable<std::exception_ptr> follow_phase::apply_until_stopped() {
    auto backoff = 1s;
    while (!ctx_.stopping()) {
        bool reconnect = false;
        std::exception_ptr error;
        try {
            co_await applier_->run(*feed_);
        } catch (const pg::pg_error& e) {
            if (e.is_connection_loss()) {
                ctx_.count_error();
                spdlog::warn("apply connection lost ({}); resuming from the checkpoint in {}s",
                             e.what(), backoff.count());
                reconnect = true;
            } else {
                error = std::current_exception();
            }
        } catch (...) {
            error = std::current_exception();
        }
        if (!reconnect) co_return error;
        const bool slept = co_await ctx_.tasks.sleep_for(backoff);
        if (!slept) break;
        backoff = std::min(backoff * 2, std::chrono::seconds(30));
        co_await reopen_feed();
    }
    co_return nullptr;
}

// reopen_feed: uncommitted work died with the connection: read again from what is committed.
asio::awaitable<void> follow_phase::reopen_feed() {
    auto load = [&](pg::connection& c) { return state::load_job(c, job_.job); };
    auto saved = co_await ctx_.control_async(load);
    feed_.emplace(ctx_.writer, ctx_.spool_published, saved->applied_lsn.value_or(0),
                  ctx_.tasks.stop_flag());
}

}  // namespace partshift::migrate
