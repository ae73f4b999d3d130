// progress: the counters every role updates and status, the progress bar and the metrics read.
// One struct of atomics shared by reference (STYLE.md habit 8); no locking needed to read.
// A leaf of base/: it includes nothing of partshift outside base/, so the roles that count
// (copy, stream, apply, throttle) share it without depending on monitor/, which reads it.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "partshift/base/apply_lane_limit.hpp"
#include "partshift/base/commit_clock.hpp"
#include "partshift/base/progress_signal.hpp"
#include "partshift/base/throttle_status.hpp"

namespace partshift::base {

// cutover_stage: where a run that will cut over stands, for status ("waiting for cutover").
enum class cutover_stage : int {
    none,
    catching_up,
    waiting_for_request,
    postponed_by_flag_file,
    postponed_by_hook,
    cutting_over
};
const char* describe(cutover_stage stage);

struct progress {
    // copy
    std::atomic<int64_t> rows_estimate{0};
    std::atomic<int64_t> rows_copied{0};
    std::atomic<int64_t> chunks_total{0};
    std::atomic<int64_t> chunks_done{0};
    // Rows the running chunks have written and not committed yet: an estimate from the
    // target's growth (copier; monitor/estimates), so progress moves while a chunk runs.
    std::atomic<int64_t> rows_in_flight{0};
    std::atomic<int64_t> chunks_running{0};
    // The copy's rate (committed + in flight, rows/s over the last 30 s) and time left;
    // -1 = unknown. Set by the copier once a second, read by the bar, status and metrics.
    std::atomic<double> copy_rate{0};
    std::atomic<double> copy_seconds_left{-1};
    // index build (per-partition builds; the index builder counts them)
    std::atomic<int64_t> index_builds_total{0};
    std::atomic<int64_t> index_builds_done{0};
    std::atomic<double> index_seconds_left{-1};  // job monitor; -1 = unknown
    // stream
    std::atomic<uint64_t> received_lsn{0};        // latest WAL position the walsender reported
    std::atomic<uint64_t> spooled_lsn{0};         // durable position acknowledged to the slot
    std::atomic<uint64_t> spooled_commit_lsn{0};  // last commit end LSN fsynced to the spool
    // The stream is complete up to here: the walsender's position seen while nothing was open
    // or unflushed (every transaction before it is spooled). Ahead of spooled_lsn, which waits
    // for a durable position record before the slot may move; lag uses this one.
    std::atomic<uint64_t> complete_lsn{0};
    std::atomic<int64_t> changes_spooled{0};
    // apply
    std::atomic<uint64_t> applied_lsn{0};  // last commit end LSN committed on the target
    // Of applied_lsn, what the target has flushed to its WAL: the apply session commits
    // asynchronously, and a server crash may take its last commits back (with their applied
    // LSN, consistently). Spool segments are deleted only below this one.
    std::atomic<uint64_t> durable_applied_lsn{0};
    std::atomic<int64_t> changes_applied{0};
    // Changes the target has executed, committed or still in the open batch: the apply rate,
    // which must move during one huge source transaction too.
    std::atomic<int64_t> changes_written{0};
    std::atomic<int64_t> transactions_applied{0};
    std::atomic<int64_t> oldest_unapplied_commit_us{0};  // pg epoch µs; 0 = nothing pending
    std::atomic<bool> strict_mode{false};
    // Strict-mode updates looked up in the partition of their new values: found there, or
    // not (the partition key changed; then updated by key alone).
    std::atomic<int64_t> updates_in_partition{0};
    std::atomic<int64_t> updates_relocated{0};
    // Commit times of received, unapplied transactions (lag in seconds); not an atomic, but
    // locked inside.
    commit_clock commits;
    // lag as the job monitor last measured it (the cutover gate reads it): -1 = unknown yet.
    std::atomic<int64_t> lag_bytes{-1};
    std::atomic<int64_t> lag_micros{-1};
    // cutover: requested from another shell (read by the job monitor), and where it stands.
    std::atomic<bool> cutover_requested{false};
    std::atomic<cutover_stage> cutover{cutover_stage::none};
    std::atomic<int64_t> cutover_attempts{0};  // lock attempts made by this run
    // A revert window's reverse job: the window's end has passed or `partshift finish` asked
    // (read by the job monitor); the run then stops and the window is closed.
    std::atomic<bool> end_revert_window{false};
    std::atomic<double> last_lock_hold_ms{0};  // of the attempt that swapped

    // Throttling: the copier waits between chunks while copy_throttled (the throttler sets
    // both, once a second); the applier never looks at these.
    // The copy or an index build is running: what the throttler judges (index builds wait on
    // the copy's throttles too).
    std::atomic<bool> copy_active{false};
    // The throttler has judged the copy at least once: no chunk starts before that, so a
    // signal over its limit from the start holds back even the first chunk.
    std::atomic<bool> copy_throttle_checked{false};
    std::atomic<bool> copy_throttled{false};
    throttle_status throttle;
    // Live control (partshift pause / set), read from the job's row once a second by the job
    // monitor, so a change from another shell takes effect within a second.
    std::atomic<bool> copy_paused{false};
    std::atomic<double> max_copy_rate{0};            // rows/s; 0 = no ceiling
    std::atomic<int64_t> max_lag_micros{1'000'000};  // the cutover gate's --max-lag
    std::atomic<int> copy_workers{2};                // parallel chunk copies wanted now
    std::atomic<int> apply_workers{0};  // apply lanes wanted now; 0: what the run started with
    // The lanes the applier runs now, and each one's applied position (lane i at
    // lane_applied_lsn[i]; with one lane, applied_lsn): for the metrics and the advice when the
    // lag does not converge.
    std::atomic<int> apply_lanes{1};
    std::array<std::atomic<uint64_t>, max_apply_lanes> lane_applied_lsn{};

    // Large transactions the server streams before their commit (pgoutput protocol 2) and
    // the streamer stages until it: how many are open now, and their staged bytes on disk.
    std::atomic<int64_t> streamed_open{0};
    std::atomic<int64_t> streamed_staged_bytes{0};

    // Figures the job monitor measures once a second, for metrics.
    std::atomic<uint64_t> source_lsn{0};            // the server's WAL insert position
    std::atomic<double> apply_rate{0};              // changes/s, smoothed
    std::atomic<bool> apply_falling_behind{false};  // lag keeps growing (monitor/apply_pace)
    // Catch-up (monitor/estimates): a catch_up_state, the time left while converging (-1 =
    // unknown), and the WAL rates behind it, bytes/s.
    std::atomic<int> catch_up{0};
    std::atomic<double> catch_up_seconds_left{-1};
    std::atomic<double> applied_wal_rate{0};
    std::atomic<double> incoming_wal_rate{0};
    // --catch-up-pace: the share of time (percent) a catch-up streams and applies, 100 = full
    // speed; and whether it is paced now (the monitor's catch_up_pacer; the streamer and the
    // applier wait out the rest of each slice, base/catch_up_pace.hpp).
    std::atomic<int> catch_up_pace_percent{100};
    std::atomic<bool> catch_up_paced{false};
    // The cutover's tail (monitor/tail_estimate): the applier's pace while it has a backlog
    // (bytes/s of source WAL; 0 = unknown) and the seconds the lock would wait for what is
    // unapplied now (-1 = unknown); --cutover-when tail-fits opens the gate on it.
    std::atomic<double> apply_capacity{0};
    std::atomic<double> tail_seconds{-1};
    std::atomic<int64_t> slot_retained_bytes{-1};  // WAL the slot pins; -1 = unknown
    std::atomic<int64_t> slot_safe_wal_bytes{
        -1};  // before the server may invalidate it; -1 = no limit
    // Errors the run met: connections lost and resumed, and the one it stopped on.
    std::atomic<int64_t> errors{0};

    // Wakes the threads that wait on these counters (the cutover, verify): notified after the
    // applier commits, the streamer flushes the spool, the job monitor measures, and a stop.
    progress_signal changed;
};

}  // namespace partshift::base
