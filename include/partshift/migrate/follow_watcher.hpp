// follow_watcher: the role that watches the applier once replay runs (a tick every 200 ms):
// switches the job to follow once the idempotent window is behind and the backlog is
// applied, starts the unique index build, removes applied spool segments, ends a timed dry
// run, and opens the cutover gate: copy done, every index built and valid, lag at most
// --max-lag (live: `partshift set --max-lag`) for a moment (with --cutover-when tail-fits:
// or the tail the lock would wait for estimated to fit under --max-lock-hold), (with
// --postpone-cutover)
// `partshift cutover` asked for, and (with --postpone-cutover-flag) its file gone or
// `partshift cutover` asked for; then (with --hooks-dir) the before-cutover hook exits 0, or
// the cutover is postponed and the hook asked again after hook_retry; then the request is
// taken (a request withdrawn before that sends the gate back to waiting).
// Must not: apply, cut over or write job state itself; it calls the hooks it is given.
#pragma once

#include <utility>

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "partshift/base/progress.hpp"
#include "partshift/task/task_group.hpp"

namespace partshift::migrate {

struct follow_watcher_options {
    std::string job;          // for the log's fields
    uint64_t window_end = 0;  // end of the idempotent window (max chunk high LSN)
    bool in_follow = false;   // the job is already in phase follow
    std::optional<std::chrono::milliseconds> dry_run_for;
    bool cut_over = false;  // not a dry run: open the gate when ready
    bool postpone = false;  // --postpone-cutover: also wait for `partshift cutover`
    // Logged once when postponed and ready: what the job waits for (a revert window's
    // reverse job waits for 'partshift revert', not for a cutover).
    std::string waiting_line = "ready to cut over; waiting for 'partshift cutover'";
    // --postpone-cutover-flag: the cutover waits while this file exists (gh-ost style)
    std::optional<std::string> postpone_flag_file;
    // --cutover-when tail-fits: the run's --max-lock-hold, which the estimated tail must fit.
    std::optional<std::chrono::milliseconds> tail_fits_hold;
    // A failed before-cutover hook is run again after this long (the gate still open).
    std::chrono::milliseconds hook_retry{10'000};
};

struct follow_watcher_hooks {
    std::function<bool()> backlog_applied;  // the applier has applied every spooled record
    // phase change + unique index build; asynchronous: the applier runs on the same loop.
    std::function<boost::asio::awaitable<void>()> enter_follow;
    std::function<bool()> indexes_ready;  // every index (unique ones too) built and valid
    std::function<void()> remove_applied_segments;
    // The before-cutover hook, run when the gate is open (optional): nullopt lets the cutover
    // start; a reason postpones it.
    std::function<boost::asio::awaitable<std::optional<std::string>>()> before_cutover;
    // Takes the `partshift cutover` request made to this run, right before the cutover starts
    // (optional); false: it was withdrawn meanwhile (Ctrl-C on a waiting `cutover`).
    std::function<boost::asio::awaitable<bool>()> claim_request;
    std::function<void()> start_cutover;     // called once, when the gate opens
    std::function<bool()> cutover_finished;  // the cutover's job has returned
};

class follow_watcher {
  public:
    // `tasks`: whose stop ends the watcher, and which it asks to stop.
    follow_watcher(follow_watcher_options options, follow_watcher_hooks hooks,
                   base::progress& progress, task::task_group& tasks)
        : options_(std::move(options)),
          hooks_(std::move(hooks)),
          progress_(progress),
          tasks_(tasks) {}

    // run ticks until a stop; requests it itself when a dry run's time is up, the revert
    // window is over, or a cutover ended. A tick, not a wake-up: the gate's conditions are
    // counters other roles publish, a file and the clock.
    boost::asio::awaitable<void> run();

    // lag_within: lag is known (>= 0) and at most max_lag; the gate and the catch-up check.
    static bool lag_within(int64_t lag_micros, std::chrono::microseconds max_lag) {
        return lag_micros >= 0 && lag_micros <= max_lag.count();
    }
    // ready_for_lock: an attempt may take the lock: the lag is within --max-lag, or, with
    // tail_fits_hold (--cutover-when tail-fits), the tail the job monitor estimated fits under
    // it (monitor::tail_fits). The gate and the cutover's check before each attempt.
    static bool ready_for_lock(const base::progress& p,
                               std::optional<std::chrono::milliseconds> tail_fits_hold);

  private:
    // gate_open: every condition for the cutover holds (status says which one waits if not).
    bool gate_open();
    // open_gate: the before-cutover hook, then the cutover.
    boost::asio::awaitable<void> open_gate();

    follow_watcher_options options_;
    follow_watcher_hooks hooks_;
    base::progress& progress_;
    task::task_group& tasks_;
    std::optional<std::chrono::steady_clock::time_point> follow_since_;
    bool cutover_started_ = false;
    std::optional<std::chrono::steady_clock::time_point> hook_retry_at_;
};

}  // namespace partshift::migrate
