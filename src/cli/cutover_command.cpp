// partshift cutover: asks the running process of a job (started with --postpone-cutover) to cut
// over now, then waits for the outcome. Wiring only: the running process does the cutover.
#include <chrono>
#include <iostream>
#include <thread>

#include "partshift/cli/commands.hpp"
#include "partshift/cli/common_options.hpp"
#include "partshift/cli/plan_pipeline.hpp"
#include "partshift/error.hpp"
#include "partshift/state/job_store.hpp"
#include "partshift/state/run_lock.hpp"

namespace partshift::cli {

int command_cutover(const arguments& args) {
    po::options_description desc("cutover options");
    desc.add_options()("dsn", po::value<std::string>()->value_name("DSN"),
                       "libpq connection string or URI; PG* environment variables apply as in "
                       "psql")(
        "job", po::value<std::string>(), "job name (default: the only job in the database)")(
        "no-wait", "return once the request is recorded, without waiting for the outcome");
    po::variables_map vm;
    if (!parse_or_help(args, desc, "partshift cutover [--dsn DSN] [--job NAME] [--no-wait]", vm))
        return 0;
    auto conn = connect(optional_string(vm, "dsn").value_or(""));
    auto name = resolve_job(conn, optional_string(vm, "job"));
    auto job = state::load_job(conn, name);
    if (!job) throw usage_error("no partshift job named " + name);
    if (job->phase == state::phase::done)
        throw usage_error("job " + name + " was already cut over");
    auto holder = state::run_lock_holder(conn, name);
    if (!holder)
        throw runtime_error("no run of job " + name +
                            " is active: start one ('partshift run ... --postpone-cutover' "
                            "follows until asked; without it, run cuts over by itself)");
    state::set_cutover_requested(conn, name, true);
    std::cerr << "partshift: cutover of job " << name << " requested from the run (" << *holder
              << ")\n";
    if (vm.count("no-wait")) return 0;
    // The run acts within a second; then the outcome is in the job row: 'done', or the flag
    // cleared... by a run that gave up (exit 4), or no run any more.
    while (true) {
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
        job = state::load_job(conn, name);
        if (!job) throw runtime_error("job " + name + " disappeared (aborted?)");
        if (job->phase == state::phase::done) {
            auto r = conn.query("SELECT coalesce(summary, '') FROM partshift.jobs WHERE job = $1",
                                name);
            const std::string summary = r.rows() ? r.get(0, 0) : "";
            // The summary follows the commit by a moment, unless the run died right after it
            // (the next 'partshift run' finishes the steps after the swap).
            if (summary.empty() && state::run_lock_holder(conn, name)) continue;
            std::cout << "cut over" << (summary.empty() ? "" : ": " + summary) << "\n";
            return 0;
        }
        if (!state::run_lock_holder(conn, name)) {
            throw cutover_error("the run of job " + name + " ended without cutting over" +
                                (job->last_error ? ": " + *job->last_error : std::string()) +
                                "; the source is untouched");
        }
    }
}

}  // namespace partshift::cli
