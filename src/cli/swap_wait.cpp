// swap_wait: asking the running process of a job to swap, and polling its row for the outcome.
#include "partshift/cli/swap_wait.hpp"

#include <signal.h>

#include <chrono>
#include <ctime>
#include <iostream>
#include <optional>
#include <thread>

#include "partshift/error.hpp"
#include "partshift/state/cutover_request.hpp"
#include "partshift/state/job_store.hpp"
#include "partshift/state/run_lock.hpp"

namespace partshift::cli {
namespace {

using namespace std::chrono_literals;

// blocked_stop_signals: SIGINT and SIGTERM are held pending while it lives, so the wait can
// take them with sigtimedwait (no handler, no global flag) and withdraw the request first.
class blocked_stop_signals {
  public:
    blocked_stop_signals() {
        sigemptyset(&set_);
        sigaddset(&set_, SIGINT);
        sigaddset(&set_, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &set_, &previous_);
    }
    ~blocked_stop_signals() { pthread_sigmask(SIG_SETMASK, &previous_, nullptr); }
    blocked_stop_signals(const blocked_stop_signals&) = delete;
    blocked_stop_signals& operator=(const blocked_stop_signals&) = delete;

    // wait: up to `d` for one of them; true when one came.
    bool wait(std::chrono::milliseconds d) {
        timespec timeout{static_cast<time_t>(d.count() / 1000),
                         static_cast<long>((d.count() % 1000) * 1'000'000)};
        return sigtimedwait(&set_, nullptr, &timeout) > 0;
    }

  private:
    sigset_t set_{};
    sigset_t previous_{};
};

}  // namespace

std::string running_swap_run(pg::connection& conn, const std::string& job, const std::string& what,
                             const std::string& no_run_hint) {
    bool told = false;
    while (true) {
        auto holder = state::run_lock_holder(conn, job);
        if (!holder) throw runtime_error("no run of job " + job + " is active: " + no_run_hint);
        // `abort` and the like hold the lock briefly under their own session's name.
        if (holder->rfind("session ", 0) == 0)
            throw runtime_error("job " + job + " is held by a " + *holder +
                                ", not by a partshift run; try again once it is done");
        // The run registers once it has prepared or resumed the job; until then the row may
        // still describe an earlier run.
        auto run = state::registered_run(conn, job);
        if (run && run->holder == *holder) {
            if (run->dry_run)
                throw usage_error("job " + job + " is running as a dry run (" + *holder +
                                  "), which never cuts over: stop it, then 'partshift run ... "
                                  "--postpone-cutover' and ask for the " +
                                  what + " again");
            return run->run_id;
        }
        if (!told)
            std::cerr << "partshift: waiting for the run of job " << job << " (" << *holder
                      << ") to start\n";
        told = true;
        // Polled: the run registers with a row write that sends no NOTIFY (see request_swap).
        std::this_thread::sleep_for(250ms);
    }
}

int request_swap(pg::connection& conn, const std::string& job, const std::string& run_id,
                 const std::string& requested, bool no_wait, const std::string& done_word) {
    // Held from before the request exists: a signal at any moment after it is recorded is
    // taken here, so the request never outlives this command unanswered.
    std::optional<blocked_stop_signals> signals;
    if (!no_wait) signals.emplace();
    if (!state::record_cutover_request(conn, job, run_id))
        throw runtime_error("the run of job " + job +
                            " ended (or another one started) before the request was recorded; "
                            "ask again");
    std::cerr << "partshift: " << requested << "\n";
    if (no_wait) return 0;
    // The run acts within a second; then the outcome is in the job row: 'done', or the request
    // answered by a run that gave up (exit 4), or no run any more.
    // Polled, not LISTENed: a run that dies ends only its session (the run lock goes with it),
    // which no NOTIFY announces, so a poll would stay as the fallback anyway; and the run's
    // writes to the row (from state/, monitor/ and apply/) send none yet. A 250 ms tick costs
    // three one-row reads.
    while (true) {
        if (signals && signals->wait(250ms)) {
            if (state::withdraw_cutover_request(conn, job, run_id))
                throw cutover_error("interrupted: the request to the run of job " + job +
                                    " is withdrawn; nothing was swapped");
            // Taken: the swap is under way (or over); its outcome is what to report. Another
            // signal now ends this wait the usual way.
            std::cerr << "partshift: the run of job " << job
                      << " has started the swap already; waiting for its outcome\n";
            signals.reset();
        } else if (!signals) {
            std::this_thread::sleep_for(250ms);
        }
        auto row = state::load_job(conn, job);
        if (!row) throw runtime_error("job " + job + " disappeared (aborted?)");
        if (row->phase == state::phase::done) {
            const std::string summary = state::job_summary(conn, job);
            // The summary follows the commit by a moment, unless the run died right after it
            // (the next 'partshift run' finishes the steps after the swap).
            if (summary.empty() && state::run_lock_holder(conn, job)) continue;
            std::cout << done_word << (summary.empty() ? "" : ": " + summary) << "\n";
            return 0;
        }
        auto run = state::registered_run(conn, job);
        if (!state::run_lock_holder(conn, job) || !run || run->run_id != run_id) {
            throw cutover_error("the run of job " + job + " ended without swapping" +
                                (row->last_error ? ": " + *row->last_error : std::string()) +
                                "; both tables are untouched");
        }
    }
}

}  // namespace partshift::cli
