// hook_runner: run --hooks-dir. Maps an event (before-copy, after-copy, before-cutover,
// after-cutover, on-failure, on-status) to the executable of that name in the directory and
// runs it with the job's figures as PARTSHIFT_* environment variables (hook_env). A missing
// file means no hook for that event; one that is there but fails counts as failed.
// Must not: decide what a failure means (the migrator and the follow watcher do), or run on
// the event loop's thread: run() blocks (run_hook_async in migrate runs it on a thread).
#pragma once

#include <atomic>
#include <chrono>
#include <optional>
#include <string>

#include "partshift/hooks/hook_env.hpp"
#include "partshift/hooks/hook_process.hpp"

namespace partshift::hooks {

struct hook_outcome {
    bool ran = false;  // false: no executable for this event
    std::string path;
    process_result process;
    bool ok() const { return !ran || process.ok(); }
    // "hook before-cutover (/etc/partshift/hooks/before-cutover) exited with 1"
    std::string describe(hook_event event) const;
};

class hook_runner {
  public:
    hook_runner(std::string dir, std::chrono::milliseconds timeout)
        : dir_(std::move(dir)), timeout_(timeout) {}

    // run runs the event's hook if there is one; blocks until it ended. `stop`, when given,
    // ends the hook early (SIGINT/SIGTERM of the run).
    hook_outcome run(hook_event event, const hook_figures& figures,
                     const std::atomic<bool>* stop = nullptr) const;

    const std::string& dir() const { return dir_; }

  private:
    std::string dir_;
    std::chrono::milliseconds timeout_;
};

// check_hooks_dir: the directory exists and is one, else usage_error (exit 2); it and every
// directory above it can be changed only by the running user or root, else preflight_error
// (exit 3, spool::check_trusted_directory).
void check_hooks_dir(const std::string& dir);

}  // namespace partshift::hooks
