// after_cutover: what follows the run's loop, and the finish of a job cut over earlier.
#include "partshift/migrate/after_cutover.hpp"

#include <spdlog/spdlog.h>

#include <filesystem>

#include "partshift/cutover/after_swap.hpp"
#include "partshift/error.hpp"
#include "partshift/monitor/log_event.hpp"
#include "partshift/partman/partman_handoff.hpp"
#include "partshift/state/cutover_request.hpp"
#include "partshift/state/job_controls.hpp"
#include "partshift/state/job_spec_codec.hpp"
#include "partshift/state/revert_window.hpp"
#include "partshift/state/run_lock.hpp"
#include "partshift/stream/slot_manager.hpp"

namespace partshift::migrate {

namespace {

using namespace std::chrono_literals;

// hand_over_to_partman: run --partman after the swap committed. A failure here leaves the
// cutover done; running the same command again retries the registration alone.
void hand_over_to_partman(pg::connection& conn, const state::job_record& job) {
    // pg_partman must not maintain a table a revert may still swap away (a window opened by
    // 'partshift cutover --revert-window'), nor one that was swapped away.
    if (job.revert_state == std::string(state::revert_state::open)) {
        spdlog::warn(
            "partman: not registering {}.{} while its revert window is open; once it is "
            "over, run the same command with --partman again",
            job.target_schema, job.final_name);
        return;
    }
    if (job.revert_state == std::string(state::revert_state::reverted)) {
        spdlog::warn(
            "partman: job {} was reverted; {}.{} is the original table again, nothing "
            "to register",
            job.job, job.target_schema, job.final_name);
        return;
    }
    proto::job_spec stored;
    stored.ParseFromString(job.spec);
    try {
        partman::register_with_partman(conn, job.target_schema, job.final_name,
                                       state::from_proto(stored));
    } catch (const std::exception& e) {
        throw runtime_error("the cutover is done, but registering " + job.target_schema + "." +
                            job.final_name + " with pg_partman failed: " + e.what() +
                            "; run the same command again to retry the registration");
    }
}

// has_leftovers: what the steps after a swap remove is still there (a run died after the
// swap's commit).
bool has_leftovers(pg::connection& conn, const state::job_record& job) {
    return stream::slot_exists(conn, job.slot_name) || std::filesystem::exists(job.spool_dir) ||
           conn.query("SELECT 1 FROM pg_publication WHERE pubname = $1", job.publication_name)
                   .rows() > 0;
}

}  // namespace

int finish_run(const run_options& options, control_session& control, const job_hooks& hooks,
               const state::job_record& job, const base::progress& progress,
               const cutover_report& cutover) {
    auto saved = control.with([&](pg::connection& c) { return state::load_job(c, job.job); });
    if (saved && saved->phase == state::phase::done) {
        // The swap committed (in the same transaction as phase 'done').
        const auto* swap = cutover.swapped() ? &cutover.result->swap : nullptr;
        auto summary = control.with([&](pg::connection& c) {
            return cutover::finish_after_swap(c, *saved, swap, cutover.figures);
        });
        monitor::log_event(spdlog::level::info,
                           {.job = job.job, .phase = state::phase::done, .event = "done"},
                           "done: {}", summary);
        if (options.partman)
            control.with([&](pg::connection& c) { hand_over_to_partman(c, *saved); });
        hooks.after_cutover(
            *saved, progress,
            cutover.swapped() ? std::optional(cutover.result->lock_hold_ms) : std::nullopt);
        return 0;
    }
    // A request made to this run and not carried out ends with it (a run that gave up
    // answered it: no); the next run waits for a new one.
    control.with([&](pg::connection& c) { state::end_run_requests(c, job.job); });
    if (cutover.gave_up) throw cutover_error(*cutover.gave_up);
    if (job.reverse_of)
        // A revert window's reverse job: the window's runner says what comes next (closed by
        // 'partshift finish' or its end, or still open); "run again to resume" would be wrong.
        spdlog::debug("reverse job {} stopped in phase {}", job.job, saved ? saved->phase : "?");
    else
        monitor::log_event(spdlog::level::info,
                           {.job = job.job,
                            .phase = saved ? std::string_view(saved->phase) : std::string_view(),
                            .event = "stop"},
                           "stopped in phase {}; run again to resume", saved ? saved->phase : "?");
    return 0;
}

int finish_cut_over_job(const std::string& dsn, const std::string& name, bool partman) {
    pg::connection conn(dsn, state::run_application_name());
    state::acquire_run_lock(conn, name);
    auto job = state::load_job(conn, name);
    if (!job || job->phase != state::phase::done)
        throw runtime_error("job " + name + " is not cut over");
    // A revert whose run died right after its swap back: the reverse job's steps after the
    // swap (its slot would pin WAL for ever).
    if (job->revert_state == std::string(state::revert_state::reverted)) {
        auto reverse = state::load_job(conn, state::reverse_job_name(name));
        if (reverse && reverse->phase == state::phase::done && has_leftovers(conn, *reverse)) {
            state::acquire_run_lock(conn, reverse->job, 10s);
            spdlog::info("job {} was reverted; finishing the steps after the swap back", name);
            spdlog::info("done: {}", cutover::finish_after_swap(conn, *reverse, nullptr, {}));
        }
    }
    if (has_leftovers(conn, *job)) {
        spdlog::info("job {} was cut over; finishing the steps after the swap", name);
        spdlog::info("done: {}", cutover::finish_after_swap(conn, *job, nullptr, {}));
    } else if (job->revert_state == std::string(state::revert_state::reverted)) {
        // The summary of the swap back is the reverse job's.
        spdlog::info(
            "job {} was cut over and then reverted: {} (start a new attempt with "
            "another --job)",
            name, state::job_summary(conn, state::reverse_job_name(name)));
    } else {
        spdlog::info("job {} is already done: {}", name, state::job_summary(conn, name));
    }
    if (job->revert_state == std::string(state::revert_state::broken))
        spdlog::warn("the revert window of job {} is broken ({}); 'partshift finish' closes it",
                     name, state::job_summary(conn, state::reverse_job_name(name)));
    if (partman) hand_over_to_partman(conn, *job);
    return 0;
}

}  // namespace partshift::migrate
