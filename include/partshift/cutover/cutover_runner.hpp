// cutover_runner: the lock, the fence, the swap and the retries (DESIGN.md §1 step 7). Blocking
// libpq on a thread of its own while the streamer and the applier keep running on the event
// loop: the applier must apply the tail up to the fence while this thread holds the lock.
// Per attempt: wait until the applier is current (catch up before the lock, not under it);
// BEGIN; SET LOCAL lock_timeout; LOCK source IN ACCESS EXCLUSIVE MODE; a second session
// commits the fence message; wait until the applier has applied it; swap; mark the job done in
// the same transaction; COMMIT. A lock not granted, or a hold about to pass --max-lock-hold,
// rolls back (source untouched, invariant 5), backs off with jitter and tries again; the
// sessions and prepared transactions in its way are named (cutover/lock_blockers), and an
// autovacuum among them is cancelled so the next attempt can follow at once.
// Must not: apply changes itself, or hold the lock while waiting for a backlog (with
// --cutover-when tail-fits the gate lets an attempt start with a tail estimated to fit under
// the hold; the hold's cap is the same).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "partshift/base/progress_signal.hpp"
#include "partshift/cutover/cutover_settings.hpp"
#include "partshift/cutover/table_swap.hpp"
#include "partshift/state/job_store.hpp"

namespace partshift::cutover {

// The settings (lock timeout, hold, attempts, ...) are the user's, from cutover_settings;
// the rest is what the run knows.
struct cutover_options : cutover_settings {
    std::string dsn;
    state::job_record job;
    // A multi-table job's other tables (their rows): locked with the job's own table in one
    // fixed order (by name, so two jobs can never deadlock on each other's tables), behind
    // one fence, swapped in the same transaction. A lock not granted on any of them rolls
    // everything back.
    std::vector<state::job_record> members;
    // The swap back of a revert window (swap_request::reverting); the job is the reverse job.
    bool reverting = false;
};

struct cutover_result;

// What the cutover needs from the running job, all safe to call from another thread.
struct cutover_hooks {
    // An attempt may start: the lag is small (or, --cutover-when tail-fits, the tail fits).
    std::function<bool()> applier_current;
    std::function<uint64_t()> applied_fence_lsn;  // highest fence LSN committed on the target
    // The run's stop (SIGINT/SIGTERM or a failed role), and the signal the waits sleep on:
    // notified after each applier commit (the fence, the applied position), each lag
    // measurement (applier_current) and the stop, or a wait sleeps through them. Required.
    const std::atomic<bool>* stop = nullptr;
    base::progress_signal* changed = nullptr;
    // after each attempt, with the result so far (for metrics); optional
    std::function<void(const cutover_result&)> attempt_finished;
    // Inside the swap's transaction, after state::mark_cut_over: more state that must commit
    // with the swap or not at all (the revert window's reverse job); optional.
    std::function<void(pg::connection&)> in_swap_transaction;
    // The applier's applied position (bytes from 0/0), and the words for a tail that was not
    // applied within the hold: given the tail up to the fence and how much of it was applied
    // (bytes); optional, both or neither.
    std::function<uint64_t()> applied_position;
    std::function<std::string(uint64_t tail_bytes, uint64_t applied_bytes)> describe_undrained_tail;
};

struct cutover_result {
    bool swapped = false;
    bool stopped = false;  // the stop came before a swap
    int attempts = 0;
    double lock_hold_ms = 0;   // lock granted → COMMIT of the successful attempt
    double tail_apply_ms = 0;  // lock granted → fence applied, of that attempt
    double swap_ms = 0;        // the swap's statements (target lock, renames, moves, mark)
    double commit_ms = 0;      // the COMMIT itself (a WAL flush)
    std::string last_failure;  // why the last attempt did not swap
    swap_outcome swap;
};

// run_cutover tries up to options.attempts times. Throws cutover_error (exit 4) when a
// statement of the swap itself fails (rolled back, source untouched); returns swapped=false
// when no attempt got and kept the lock.
cutover_result run_cutover(const cutover_options& options, const cutover_hooks& hooks);

}  // namespace partshift::cutover
