// job_runner: the phase script. job_runner::run_phases reads as the path of a migration:
// checks, then on one event loop with one task group the roles beside the script (stream,
// throttle, and side_roles: status, the watches), the script itself (copy → index → replay and
// follow → cutover), one join, then the steps after the swap. The phases are files of their own.
#include "partshift/migrate/job_runner.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <filesystem>

#include "partshift/error.hpp"
#include "partshift/migrate/after_cutover.hpp"
#include "partshift/migrate/copy_phase.hpp"
#include "partshift/migrate/follow_phase.hpp"
#include "partshift/migrate/index_phase.hpp"
#include "partshift/migrate/job_preparation.hpp"
#include "partshift/migrate/side_roles.hpp"
#include "partshift/migrate/spool_sink.hpp"
#include "partshift/monitor/log_event.hpp"
#include "partshift/pg/pg_error.hpp"
#include "partshift/spool/stream_staging.hpp"
#include "partshift/state/cutover_request.hpp"
#include "partshift/state/job_controls.hpp"
#include "partshift/stream/origin_filter.hpp"
#include "partshift/stream/streamer.hpp"
#include "partshift/throttle/throttler.hpp"

namespace partshift::migrate {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

std::vector<std::string> row_names(const run_options& options, const job_inputs& inputs) {
    std::vector<std::string> out;
    for (const auto& t : job_tables(options.job, inputs, {})) out.push_back(t.job);
    return out;
}

// pause_unless_signalled sleeps for `d` (no run's loop exists); false when SIGINT/SIGTERM
// came first.
bool pause_unless_signalled(std::chrono::seconds d) {
    asio::io_context io;
    bool signalled = false;
    asio::signal_set signals(io, SIGINT, SIGTERM);
    asio::steady_timer timer(io, d);
    signals.async_wait([&](boost::system::error_code ec, int) {
        if (ec) return;
        signalled = true;
        timer.cancel();
    });
    timer.async_wait([&](boost::system::error_code) { signals.cancel(); });
    io.run();
    return !signalled;
}

throttle::throttler_options throttler_options_for(const run_options& o,
                                                  const state::job_record& job) {
    throttle::throttler_options t;
    t.dsn = o.dsn;
    t.job = job.job;
    t.slot_name = job.slot_name;
    t.limits = o.throttle;
    t.slot_wal_limit = o.slot_wal_limit;
    return t;
}

}  // namespace

job_runner::job_runner(const run_options& options, const job_inputs& inputs,
                       metrics::metrics_exporter* exporter)
    : options_(options),
      inputs_(inputs),
      exporter_(exporter),
      hooks_(options.hooks_dir, options.hooks_timeout, options.dsn),
      control_(options.dsn, row_names(options, inputs)) {}

int job_runner::run() {
    // One process per job, for the whole run (taken again after a reconnect). A
    // multi-table job also holds its other tables' rows, so no run takes one on its own.
    control_.lock_tables();
    auto job = load_or_prepare(options_, inputs_, tables(), control_);
    // A cutover request belongs to the run it was made to: registering withdraws any an
    // earlier run left, and tells `partshift cutover` whether this one is a dry run.
    state::register_run(control_.connection(), job.job, options_.dry_run, options_.request_cutover);
    remember_targets(job);
    monitor::log_event(spdlog::level::info, {.job = job.job, .phase = job.phase, .event = "start"},
                       "job {}: {} → {} (phase {})", job.job,
                       job.source_schema + "." + job.source_table,
                       job.target_schema + "." + job.target_table, job.phase);
    // A server restart or failover ends every connection at once; each role then fails
    // with a connection-loss SQLSTATE. Waiting for the server and resuming from the
    // checkpoint is exactly what a rerun would do, so do it here, for --reconnect-for.
    auto backoff = 1s;
    std::optional<std::chrono::steady_clock::time_point> lost_since;
    for (bool resuming = false;; resuming = true) {
        const auto attempt_start = std::chrono::steady_clock::now();
        try {
            if (resuming) {
                auto saved =
                    control_.with([&](pg::connection& c) { return state::load_job(c, job.job); });
                if (!saved)
                    throw runtime_error("job " + job.job +
                                        " is gone (aborted while partshift waited)");
                job = std::move(*saved);
                // The swap committed (and its row with it) before the server went away, while
                // this run waited for it to reach disk: only the steps after the swap are left.
                if (job.phase == state::phase::done) {
                    spdlog::info("the swap committed before the server went away");
                    const base::progress progress;
                    return finish_run(options_, control_, hooks_, job, progress, cutover_);
                }
            }
            return run_phases(job);
        } catch (const pg::pg_error& e) {
            const auto now = std::chrono::steady_clock::now();
            // A run that went on for a while before the loss starts a new count.
            if (now - attempt_start > 60s) {
                lost_since.reset();
                backoff = 1s;
            }
            if (!lost_since) lost_since = now;
            if (!e.is_connection_loss() || now - *lost_since >= options_.reconnect_for) {
                record_failure(job, e);
                throw;
            }
            if (exporter_) exporter_->count_error(job.job);
            monitor::log_event(spdlog::level::warn,
                               {.job = job.job, .phase = job.phase, .event = "reconnect"},
                               "lost the server ({}); resuming from the checkpoint in {}s",
                               e.what(), backoff.count());
        } catch (const std::exception& e) {
            record_failure(job, e);
            throw;
        }
        if (!pause_unless_signalled(backoff)) {
            monitor::log_event(spdlog::level::info,
                               {.job = job.job, .phase = job.phase, .event = "stop"},
                               "stopped while waiting for the server; run again to resume");
            return 0;
        }
        backoff = std::min(backoff * 2, std::chrono::seconds(30));
    }
}

// run_phases: one run of the phase script, from the checks to the steps after the swap.
int job_runner::run_phases(state::job_record job) {
    // Before anything streams: the spool is the job's, this run's live controls, the slot
    // is not lost, and the spool holds everything the slot acknowledged.
    check_spool_belongs_to_job(job, control_);
    base::progress progress;
    progress.rows_estimate = job.rows_estimate;
    progress.rows_copied = job.rows_copied;
    progress.applied_lsn = job.applied_lsn.value_or(0);
    // durable_applied_lsn stays 0 until the applier has seen the target's WAL flushed.
    const int workers = settle_controls(options_, job, progress, control_);
    spool::spool_writer writer(job.spool_dir);
    check_resumable(job, writer, control_);

    // One loop, one task group: every role below and the script stop together.
    asio::io_context io;
    task::task_group tasks(io.get_executor());
    monitor::job_monitor monitor({options_.dsn, job.job, job.slot_name}, progress,
                                 tasks.stop_flag());
    monitor.set_phase(job.phase);
    spool_signal spool_published;
    tasks.on_stop([&] { spool_published.notify(); });  // the applier's feed stops waiting
    run_context ctx{options_, inputs_, tables(),  control_, tasks,    progress,       monitor,
                    writer,   hooks_,  exporter_, workers,  cutover_, spool_published};

    // stream ‖ the phase script: the streamer spools changes from L0 while the copy runs.
    spool_sink sink(writer, spool_published);
    spool::stream_staging staging(std::filesystem::path(job.spool_dir) / "streamed");
    stream::streamer_options stream_options;
    stream_options.dsn = options_.dsn;
    stream_options.slot_name = job.slot_name;
    stream_options.publication = job.publication_name;
    stream_options.start_lsn = std::max(job.l0_lsn.value_or(0), job.applied_lsn.value_or(0));
    stream_options.origin_none = stream::origin_filter_enabled(job.origin_filter);
    // After the swap the slot has served its purpose; before it, a stop is resumed from.
    stream_options.resumes_after_stop = [this] { return !cutover_.swapped(); };
    stream::streamer streamer(std::move(stream_options), sink, progress, tasks.stop_flag(),
                              &staging);
    tasks.spawn("streamer", streamer.run());
    // The WAL guard ends the run through the group (exit 5, or 1 for a lost slot).
    throttle::throttler throttler(throttler_options_for(options_, job), progress,
                                  tasks.stop_flag());
    tasks.spawn("throttler", throttler.run());
    start_side_roles(ctx, job);
    tasks.spawn("phase script", phase_script(ctx, job), task::when_done::stop_group);

    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](boost::system::error_code ec, int sig) {
        if (ec) return;
        monitor::log_event(spdlog::level::info,
                           {.job = job.job, .phase = monitor.phase(), .event = "stop_requested"},
                           "received signal {}: stopping, the checkpoint is kept", sig);
        tasks.request_stop();
    });
    tasks.on_stop([&] { signals.cancel(); });
    asio::co_spawn(io, tasks.join(), asio::detached);
    io.run();

    if (!tasks.failures().empty())
        spdlog::debug("the run failed in {}", tasks.failures().front().task);
    tasks.rethrow_first_failure();
    // The metrics end as the job's row does: phase done once the swap committed (in the same
    // transaction as the row's phase), whatever the last tick saw.
    if (exporter_)
        exporter_->update(job.job, progress,
                          cutover_.swapped() ? state::phase::done : monitor.phase());
    return finish_run(options_, control_, hooks_, job, progress, cutover_);
}

// phase_script: copy → index → replay and follow (→ cutover); a stop between the steps
// ends it with the checkpoint kept.
asio::awaitable<void> job_runner::phase_script(run_context& ctx, state::job_record job) {
    if (job.phase == state::phase::copy) {
        co_await test_pause(ctx.tasks);
        // Named, not in the condition: see follow_phase::build_unique (GCC 12).
        const bool copied = co_await run_copy_phase(ctx, job);
        if (!copied) co_return;
        co_await ctx.set_phase(job, state::phase::index);
    }
    if (job.phase == state::phase::index) {
        co_await test_pause(ctx.tasks);
        if (ctx.stopping()) co_return;
        // Named, not in the condition: see follow_phase::build_unique (GCC 12).
        const bool built = co_await build_job_indexes(ctx, index_kind::primary_and_plain);
        if (!built || ctx.stopping()) co_return;
        co_await ctx.set_phase(job, state::phase::replay);
    }
    co_await test_pause(ctx.tasks);
    if (ctx.stopping()) co_return;
    follow_phase follow(ctx, job);
    co_await follow.run();
}

// remember_targets: the targets the job's rows keep, which the roles use from then on.
void job_runner::remember_targets(const state::job_record& job) {
    targets_[job.job] = {job.target_schema, job.target_table};
    for (const auto& r : state::load_group(control_.connection(), job.job))
        targets_[r.job] = {r.target_schema, r.target_table};
}

// record_failure keeps the reason a job stopped in partshift.jobs, for `status`, and runs
// the on-failure hook, with the phase the job failed in: the row's (`job` is the record the
// run resumed from, and the phases since then moved only the row).
void job_runner::record_failure(const state::job_record& job, const std::exception& e) {
    std::optional<state::job_record> now;
    try {
        control_.with([&](pg::connection& c) {
            state::set_last_error(c, job.job, e.what());
            // A request this run did not carry out is not left for the next run.
            state::end_run_requests(c, job.job);
            now = state::load_job(c, job.job);
        });
    } catch (...) {
        // The server is gone for good; the message still reaches the user on stderr.
    }
    failed_phase_ = now ? now->phase : job.phase;
    hooks_.on_failure(now.value_or(job), e);
}

}  // namespace partshift::migrate
