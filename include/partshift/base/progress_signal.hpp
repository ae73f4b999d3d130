// progress_signal: lets a thread off the event loop (the cutover's, verify's) wait for the
// progress counters to reach a condition (the applier past the fence, the lag within the gate)
// without polling. Whoever stores a counter such a condition reads calls notify() after the
// store: the applier after each target commit, the streamer after each spool flush, the job
// monitor after each measurement, and the task group's stop (on_stop) so a stop ends a wait.
// Every waiter then tests its own condition again. One mutex and one condition variable.
// Must not: hold the counters itself (they stay atomics where they are), or be waited on on
// the event loop's thread (a wait blocks; the loop is what notifies).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>

namespace partshift::base {

class progress_signal {
  public:
    using clock = std::chrono::steady_clock;

    // notify: a counter a waiter may be waiting on changed (stored before this call), or a
    // stop was requested. Any thread; takes the mutex only for a moment.
    void notify();

    // wait_until returns true once ready() holds, false once `stop` is set or `deadline` has
    // passed without it (clock::time_point::max(): no deadline). ready() is tested first, under
    // the signal's mutex, and again after each notify: it must be quick and must not notify.
    bool wait_until(const std::function<bool()>& ready, clock::time_point deadline,
                    const std::atomic<bool>& stop);

    // sleep_until: a pause until `deadline` that a stop cuts short; false when stopped.
    bool sleep_until(clock::time_point deadline, const std::atomic<bool>& stop);

  private:
    std::mutex mutex_;
    std::condition_variable changed_;
};

}  // namespace partshift::base
