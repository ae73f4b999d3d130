// partshift revert / partshift finish: the two ways a revert window ends (issue 10). revert
// asks the run that follows the window to swap back (or, with no run, follows it here until
// the swap back is done); finish closes the window without a swap. Wiring only: the migrator
// and the cutover runner do the work.
#include <chrono>
#include <iostream>
#include <thread>

#include "partshift/cli/commands.hpp"
#include "partshift/cli/common_options.hpp"
#include "partshift/cli/option_parsing.hpp"
#include "partshift/cli/plan_pipeline.hpp"
#include "partshift/cli/run_options_reader.hpp"
#include "partshift/cli/swap_wait.hpp"
#include "partshift/error.hpp"
#include "partshift/migrate/migrator.hpp"
#include "partshift/migrate/revert_window_runner.hpp"
#include "partshift/state/job_controls.hpp"
#include "partshift/state/job_store.hpp"
#include "partshift/state/revert_window.hpp"
#include "partshift/state/run_lock.hpp"

namespace partshift::cli {
namespace {

// window_job: the job whose revert window the user means (--job may name its reverse job),
// checked to have an open window.
state::job_record window_job(pg::connection& conn, const po::variables_map& vm,
                             bool reverted_ok = false, bool broken_ok = false) {
    state::upgrade_schema(conn);
    auto name = resolve_job(conn, optional_string(vm, "job"));
    auto job = state::load_job(conn, name);
    if (job && job->reverse_of) job = state::load_job(conn, *job->reverse_of);
    if (!job) throw usage_error("no partshift job named " + name);
    const std::string st = job->revert_state.value_or("");
    if (st == state::revert_state::reverted) {
        if (reverted_ok) return *job;
        throw usage_error("job " + job->job + " was already reverted");
    }
    if (st == state::revert_state::broken) {
        if (broken_ok) return *job;
        throw usage_error("the revert window of job " + job->job + " is broken (" +
                          state::job_summary(conn, state::reverse_job_name(job->job)) +
                          "); there is no way back without losing writes: 'partshift finish' "
                          "closes it");
    }
    if (st == state::revert_state::finished)
        throw usage_error("the revert window of job " + job->job +
                          " is closed; the original table is kept as " + job->old_name +
                          " but no longer follows the partitioned one");
    if (st != state::revert_state::open)
        throw usage_error("job " + job->job +
                          (job->phase == state::phase::done
                               ? std::string(" was cut over without a revert window")
                               : std::string(" is not cut over yet (nothing to revert; "
                                             "'partshift abort' removes the job)")));
    return *job;
}

// throw_if_closed: a revert that lost to 'partshift finish' (the window closed before the
// swap back) says so, exit 2, rather than "not reverted".
void throw_if_closed(pg::connection& conn, const std::string& job) {
    auto now = state::load_job(conn, job);
    if (now && now->revert_state == std::string(state::revert_state::finished))
        throw usage_error(migrate::window_not_open(conn, job) +
                          " ('partshift finish' closed it before the swap back)");
}

}  // namespace

int command_revert(const arguments& args) {
    const auto parsed = parse_command("revert", args);
    if (!parsed) return 0;
    const auto& vm = *parsed;
    // Checked before anything is asked of a run: a bad value changes nothing.
    const auto settings = read_cutover_settings(vm);
    const std::string dsn = optional_string(vm, "dsn").value_or("");
    auto conn = connect(dsn);
    const auto job = window_job(conn, vm, /*reverted_ok=*/true);
    const auto reverse = state::reverse_job_name(job.job);
    if (job.revert_state == std::string(state::revert_state::reverted)) {
        // Idempotent, like run after a cutover: a revert whose run died right after the swap
        // back is finished here.
        migrate::finish_cut_over_job(dsn, job.job);
        const std::string summary = state::job_summary(conn, reverse);
        std::cout << "already reverted" << (summary.empty() ? "" : ": " + summary) << "\n";
        return 0;
    }
    if (state::finish_requested(conn, reverse))
        throw usage_error("'partshift finish' was asked for job " + job.job +
                          "'s revert window already; it is being closed, not reverted");
    if (state::window_expired(conn, job.job))
        throw usage_error("the revert window of job " + job.job +
                          " has ended; 'partshift finish' (or the next run) closes it");
    if (auto keep_as = optional_string(vm, "keep-as")) {
        if (keep_as->empty() || keep_as->size() > 63)
            throw usage_error("--keep-as takes a table name of 1 to 63 bytes");
        auto taken = conn.query(
            "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = $1 AND c.relname = $2",
            job.source_schema, *keep_as);
        if (taken.rows() > 0)
            throw usage_error("--keep-as " + *keep_as + ": that name is taken in schema " +
                              job.source_schema);
        state::set_partitioned_name(conn, reverse, *keep_as);
    }
    if (auto holder = state::run_lock_holder(conn, reverse)) {
        const auto run_id =
            running_swap_run(conn, reverse, "revert", "run 'partshift revert' again");
        try {
            return request_swap(
                conn, reverse, run_id,
                "revert of job " + job.job + " requested from the run (" + *holder + ")",
                flag(vm, "no-wait"), "reverted");
        } catch (const cutover_error&) {
            throw_if_closed(conn, job.job);
            throw;
        }
    }
    // Nobody follows the window: follow it here until the swap back is done.
    migrate::run_options o;
    o.dsn = dsn;
    o.job = job.job;
    o.cutover = settings;
    // The run this command starts asks for the swap back itself (a request belongs to its run).
    o.request_cutover = true;
    const int code = migrate::run_revert_window(o, job.job);
    auto after = state::load_job(conn, reverse);
    if (after && after->phase == state::phase::done) {
        const std::string summary = state::job_summary(conn, reverse);
        std::cout << "reverted" << (summary.empty() ? "" : ": " + summary) << "\n";
        return 0;
    }
    throw_if_closed(conn, job.job);
    if (code != 0) return code;
    throw cutover_error("job " + job.job +
                        " was not reverted (stopped before the swap back); "
                        "both tables are untouched");
}

int command_finish(const arguments& args) {
    const auto parsed = parse_command("finish", args);
    if (!parsed) return 0;
    const auto& vm = *parsed;
    const std::string dsn = optional_string(vm, "dsn").value_or("");
    auto conn = connect(dsn);
    const auto job = window_job(conn, vm, /*reverted_ok=*/false, /*broken_ok=*/true);
    const auto reverse = state::reverse_job_name(job.job);
    if (auto holder = state::run_lock_holder(conn, reverse)) {
        // The run that follows the window closes it within a second or two. Both waits below
        // poll (as swap_wait does): the run's end is its session's, and the window's state a
        // row write, and neither sends a NOTIFY.
        state::set_finish_requested(conn, reverse);
        std::cerr << "partshift: finish of job " << job.job << "'s revert window requested from "
                  << "the run (" << *holder << ")\n";
        for (int i = 0; i < 1200 && state::run_lock_holder(conn, reverse); ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        // The run closes the window right after its stream stops: give it a moment.
        auto now = state::load_job(conn, job.job);
        for (int i = 0;
             i < 100 && now && now->revert_state == std::string(state::revert_state::open); ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
            now = state::load_job(conn, job.job);
        }
        // A revert the run had under way when this was asked wins: say so (exit 2).
        if (now && now->revert_state == std::string(state::revert_state::reverted))
            throw usage_error(migrate::window_not_open(conn, job.job) +
                              " (a revert under way finished first)");
        if (now && now->revert_state != std::string(state::revert_state::finished)) {
            if (state::run_lock_holder(conn, reverse))
                throw runtime_error("the run following job " + job.job +
                                    "'s revert window did not end it within 2 minutes");
            migrate::finish_revert_window(dsn, job.job);
        }
    } else {
        migrate::finish_revert_window(dsn, job.job);
    }
    std::cout << "revert window of job " << job.job << " closed: " << job.source_schema << "."
              << job.final_name << " stays partitioned; the original is kept as "
              << job.source_schema << "." << job.old_name << "\n";
    return 0;
}

}  // namespace partshift::cli
