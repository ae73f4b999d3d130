// cutover_launcher: the cutover's blocking job and its outcome (see the header).
#include "partshift/migrate/cutover_launcher.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "partshift/error.hpp"
#include "partshift/migrate/follow_watcher.hpp"
#include "partshift/migrate/reverse_stream.hpp"
#include "partshift/monitor/byte_size.hpp"
#include "partshift/monitor/human_units.hpp"
#include "partshift/state/revert_window.hpp"
#include "partshift/teardown/job_teardown.hpp"
#include "partshift/verify/verifier.hpp"

namespace partshift::migrate {

using namespace std::chrono_literals;

void cutover_launcher::start() {
    started_ = true;
    // A stop must wake the job's waits (the tail, the gate, the backoff, verify's).
    tasks_.on_stop([&changed = ctx_.progress.changed] { changed.notify(); });
    ctx_.cutover.figures.lag_seconds = static_cast<double>(ctx_.progress.lag_micros) / 1e6;
    tasks_.spawn_blocking(
        "cutover",
        [this] {
            // The rows as they are now, read on this thread: the loop never waits for them.
            auto job =
                ctx_.control.with([&](pg::connection& c) { return state::load_job(c, job_); });
            run(options_for(*job), hooks_for());
        },
        task::when_done::stop_group);
}

cutover::cutover_options cutover_launcher::options_for(const state::job_record& job) {
    cutover::cutover_options o;
    o.dsn = ctx_.options.dsn;
    o.job = job;
    if (ctx_.multi_table())
        ctx_.control.with([&](pg::connection& c) {
            for (auto& r : state::load_group(c, job.job))
                if (r.is_group_member()) o.members.push_back(std::move(r));
        });
    static_cast<cutover::cutover_settings&>(o) = ctx_.options.cutover;
    o.reverting = o.job.reverse_of.has_value();
    return o;
}

cutover::cutover_hooks cutover_launcher::hooks_for() {
    auto& progress = ctx_.progress;
    cutover::cutover_hooks hooks;
    // The gate's own test before every attempt: a retry waits until the lag is small (or the
    // tail fits, at the pace measured since, including the rolled-back attempt's) again.
    std::optional<std::chrono::milliseconds> tail_fits_hold;
    if (ctx_.options.cutover.when_tail_fits) tail_fits_hold = ctx_.options.cutover.max_lock_hold;
    hooks.applier_current = [&progress, tail_fits_hold] {
        return follow_watcher::ready_for_lock(progress, tail_fits_hold);
    };
    hooks.applied_position = [&progress] { return progress.applied_lsn.load(); };
    // Read when an attempt gave up: the estimate is that of the moment, close to the one the
    // attempt started on (the monitor measures once a second).
    hooks.describe_undrained_tail = [&progress, tail_fits_hold](uint64_t tail, uint64_t applied) {
        std::string out = monitor::human_size(static_cast<double>(applied)) + " of the " +
                          monitor::human_size(static_cast<double>(tail)) +
                          " of WAL up to the fence applied";
        if (tail_fits_hold)
            out += fmt::format(
                " (the tail was estimated at ~{} at {}; the next attempt waits until the tail "
                "fits at the pace measured since)",
                monitor::human_duration(progress.tail_seconds),
                monitor::human_byte_rate(progress.apply_capacity));
        return out;
    };
    hooks.attempt_finished = [&progress](const cutover::cutover_result& r) {
        progress.cutover_attempts = r.attempts;
        if (r.swapped) progress.last_lock_hold_ms = r.lock_hold_ms;
    };
    hooks.applied_fence_lsn = applied_fence_lsn_;
    hooks.stop = &tasks_.stop_flag();
    hooks.changed = &progress.changed;
    return hooks;
}

void cutover_launcher::run(cutover::cutover_options o, cutover::cutover_hooks hooks) {
    std::optional<state::job_record> reverse;
    try {
        if (ctx_.options.verify && !o.reverting) {
            verify_before_swap(o.job);
            for (const auto& member : o.members) verify_before_swap(member);
        }
        if (o.reverting) {
            hooks.in_swap_transaction = [forward = *o.job.reverse_of](pg::connection& c) {
                state::mark_reverted(c, forward);
            };
        } else if (auto window = revert_window_for(o.job)) {
            pg::connection conn(ctx_.options.dsn, "partshift-control");
            reverse =
                prepare_reverse_stream(ctx_.options.dsn, conn, o.job, ctx_.options.slot_timeout);
            hooks.in_swap_transaction = [job = o.job, r = *reverse,
                                         w = *window](pg::connection& c) {
                state::open_revert_window(c, job, r, w);
            };
        }
        result_ = cutover::run_cutover(o, hooks);
    } catch (...) {
        if (reverse) drop_unused_reverse_stream(o.job, *reverse);
        finished_ = true;
        throw;
    }
    if (reverse) drop_unused_reverse_stream(o.job, *reverse);
    finished_ = true;
}

void cutover_launcher::report() {
    if (!started_) return;
    if (auto failure = tasks_.failure_of("cutover")) std::rethrow_exception(failure);
    ctx_.cutover.result = result_;
    if (!result_.swapped && !result_.stopped)
        ctx_.cutover.gave_up = "cutover not performed after " + std::to_string(result_.attempts) +
                               " attempt(s): " + result_.last_failure +
                               "; the source is untouched and the job can be resumed (run again)";
    if (result_.swapped) {
        ctx_.cutover.figures.attempts = result_.attempts;
        ctx_.cutover.figures.lock_hold_ms = result_.lock_hold_ms;
        ctx_.cutover.figures.tail_apply_ms = result_.tail_apply_ms;
    }
}

// revert_window_for: the window this job's cutover opens: `partshift cutover
// --revert-window` (kept in the row) over run --revert-window; none for a reverse job.
std::optional<std::chrono::milliseconds> cutover_launcher::revert_window_for(
    const state::job_record& job) const {
    if (job.reverse_of) return std::nullopt;
    if (job.revert_window_ms) return std::chrono::milliseconds(*job.revert_window_ms);
    return ctx_.options.revert_window;
}

// drop_unused_reverse_stream: a cutover that did not swap (or whose outcome a lost
// connection hid) leaves the reverse stream it prepared; unless the job's row says the
// window opened, drop it, so its slot does not pin WAL until the next attempt.
void cutover_launcher::drop_unused_reverse_stream(const state::job_record& job,
                                                  const state::job_record& reverse) {
    try {
        pg::connection conn(ctx_.options.dsn, "partshift-control");
        auto now = state::load_job(conn, job.job);
        if (now && now->revert_state == std::string(state::revert_state::open)) return;
        teardown::drop_reverse_stream(conn, reverse);
    } catch (const std::exception& e) {
        spdlog::warn(
            "could not drop the revert window's slot {} ({}); 'partshift abort' "
            "or the next cutover drops it",
            reverse.slot_name, e.what());
    }
}

// verify_before_swap (run --verify, on the cutover's thread): every key range of source and
// target compared while the applier follows; a real mismatch refuses the cutover.
void cutover_launcher::verify_before_swap(const state::job_record& job) {
    spdlog::info("verify: comparing {}.{} with {}.{} before the cutover", job.source_schema,
                 job.source_table, job.target_schema, job.target_table);
    verify::verify_options o;
    o.wait = verify::applier_wait::always;
    const auto& stop = tasks_.stop_flag();
    o.stop = &stop;
    // Applied up to `lsn`: the applied LSN passed it, or everything up to it is spooled and
    // every spooled transaction applied (an idle source moves no applied LSN). Woken by the
    // applier's commits and the streamer's flushes (and a stop); this thread is off the loop.
    o.wait_for_applier = [&progress = ctx_.progress, &stop](state::lsn_t lsn,
                                                            std::chrono::milliseconds limit) {
        auto applied = [&progress, lsn] {
            return progress.applied_lsn >= lsn ||
                   (progress.spooled_lsn >= lsn &&
                    progress.applied_lsn >= progress.spooled_commit_lsn);
        };
        return progress.changed.wait_until(applied, std::chrono::steady_clock::now() + limit, stop);
    };
    auto report = verify::verify_job(ctx_.options.dsn, job, o);
    spdlog::info("verify: {} key ranges, {} rows on each side, {} still changing",
                 report.chunks_total, report.rows_left, report.still_changing.size());
    if (!report.ok())
        throw runtime_error("verify found " + std::to_string(report.mismatches.size()) +
                            " mismatched key range(s) and " +
                            std::to_string(report.duplicate_keys_total) +
                            " duplicate key(s) between source and target; not cutting "
                            "over (run 'partshift verify' for the ranges)");
}

}  // namespace partshift::migrate
