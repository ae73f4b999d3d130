// cutover_settings: how a swap takes its lock and when it gives up, with the defaults written
// once. `run` (the cutover), `revert` (the swap back, when no run follows the window) and the
// CLI's help read these defaults; nothing else writes them.
// Must not: hold anything a swap learns at run time (the job, the connection).
#pragma once

#include <chrono>
#include <optional>

namespace partshift::cutover {

struct cutover_settings {
    // Per attempt: how long the LOCK waits (application statements queue behind it at most
    // this long), and the longest the source may stay locked before the attempt rolls back.
    std::chrono::milliseconds lock_timeout{50};
    std::chrono::milliseconds max_lock_hold{2000};
    int attempts = 30;  // lock attempts before giving up (exit 4)
    // --cutover-when tail-fits: the gate also opens while the lag is over --max-lag, once the
    // tail the lock would wait for (monitor/tail_estimate, at the applier's measured pace)
    // fits under max_lock_hold with a safety factor: under the lock the writers wait, so the
    // tail is finite. For a source the applier cannot catch up with; each attempt is capped
    // and rolled back like any other.
    bool when_tail_fits = false;
    // Inbound foreign keys that cannot reference the new table are dropped instead of refused.
    bool drop_unrepointable_fks = false;
    // --cutover-terminate-blockers-after: terminate sessions that have blocked the lock this
    // long (lock_blockers.hpp says which ones never); unset = never.
    std::optional<std::chrono::milliseconds> terminate_blockers_after;
};

}  // namespace partshift::cutover
