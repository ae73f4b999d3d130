// swap_wait: polling a job's row for the outcome of a requested swap.
#include "partshift/cli/swap_wait.hpp"

#include <chrono>
#include <iostream>
#include <thread>

#include "partshift/error.hpp"
#include "partshift/state/job_store.hpp"
#include "partshift/state/run_lock.hpp"

namespace partshift::cli {

int wait_for_swap(pg::connection& conn, const std::string& name, const std::string& done_word) {
    // The run acts within a second; then the outcome is in the job row: 'done', or the flag
    // cleared by a run that gave up (exit 4), or no run any more.
    while (true) {
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
        auto job = state::load_job(conn, name);
        if (!job) throw runtime_error("job " + name + " disappeared (aborted?)");
        if (job->phase == state::phase::done) {
            const std::string summary = state::job_summary(conn, name);
            // The summary follows the commit by a moment, unless the run died right after it
            // (the next 'partshift run' finishes the steps after the swap).
            if (summary.empty() && state::run_lock_holder(conn, name)) continue;
            std::cout << done_word << (summary.empty() ? "" : ": " + summary) << "\n";
            return 0;
        }
        if (!state::run_lock_holder(conn, name)) {
            throw cutover_error("the run of job " + name + " ended without swapping" +
                                (job->last_error ? ": " + *job->last_error : std::string()) +
                                "; both tables are untouched");
        }
    }
}

}  // namespace partshift::cli
