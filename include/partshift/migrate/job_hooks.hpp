// job_hooks: the job's events as run --hooks-dir sees them: what a hook is told (figures),
// the hooks whose exit status changes nothing (before-copy, after-copy, on-status every
// --hooks-status-interval), before-cutover (its failure postpones the cutover), after-cutover
// and on-failure. Without --hooks-dir every call does nothing.
// Must not: run a hook on the event loop's thread (the blocking ones run on the task group's
// pool; after-cutover and on-failure run once the loop is over), or decide what a failure
// means (follow_watcher does).
#pragma once

#include <utility>  // before Asio's coroutine headers (GCC 12 + Boost 1.74)

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <exception>
#include <optional>
#include <string>

#include "partshift/base/progress.hpp"
#include "partshift/hooks/hook_runner.hpp"
#include "partshift/monitor/job_monitor.hpp"
#include "partshift/state/job_store.hpp"
#include "partshift/task/task_group.hpp"

namespace partshift::migrate {

// hook_figures_of: what a hook is told about the job (hook_env); from the run's live counters
// when it has them (`p`), else from the job's row; `conninfo`: the --dsn without its password
// (a hook never gets the password).
hooks::hook_figures hook_figures_of(const state::job_record& job, const std::string& phase,
                                    const base::progress* p, const std::string& conninfo);

class job_hooks {
  public:
    // `dsn`: the run's --dsn; hooks get it without its password (PARTSHIFT_CONNINFO).
    job_hooks(const std::string& dir, std::chrono::milliseconds timeout, const std::string& dsn);

    // notify: a hook whose exit status changes nothing, on the pool; a stop ends it.
    boost::asio::awaitable<void> notify(task::task_group& tasks, hooks::hook_event event,
                                        const state::job_record& job, const std::string& phase,
                                        const base::progress& progress) const;
    // status_hooks: on-status every `interval` until the run stops.
    boost::asio::awaitable<void> status_hooks(task::task_group& tasks, const state::job_record& job,
                                              const base::progress& progress,
                                              const monitor::job_monitor& monitor,
                                              std::chrono::milliseconds interval) const;
    // before_cutover: nullopt lets the cutover start; a reason postpones it.
    boost::asio::awaitable<std::optional<std::string>> before_cutover(
        task::task_group& tasks, const state::job_record& job,
        const base::progress& progress) const;
    // after_cutover: blocking; the run's loop is over.
    void after_cutover(const state::job_record& job, const base::progress& progress,
                       std::optional<double> lock_hold_ms) const;
    // on_failure, with the reason; the run is over, so nothing can stop it but its timeout.
    void on_failure(const state::job_record& job, const std::exception& e) const;

    bool enabled() const { return runner_.has_value(); }

  private:
    std::string conninfo_;
    std::optional<hooks::hook_runner> runner_;
};

}  // namespace partshift::migrate
