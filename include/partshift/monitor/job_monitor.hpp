// job_monitor: once a second, turns the progress counters into lag, rate and time-left
// figures (the one lag measurement every screen shows), writes
// them to the job's row (so `partshift status` works from any shell), reads back the live
// controls (`partshift cutover`, `pause`, `set`) into progress, in a dry run prints the lag
// line the user watches before deciding to cut over, and logs the applier's checkpoint now
// and then (`checkpoint` events).
#pragma once

#include <utility>

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <deque>
#include <string>

#include "partshift/base/progress.hpp"
#include "partshift/monitor/apply_pace.hpp"
#include "partshift/monitor/estimates.hpp"
#include "partshift/monitor/lag.hpp"
#include "partshift/monitor/tail_estimate.hpp"
#include "partshift/pg/async_connection.hpp"

namespace partshift::monitor {

struct monitor_options {
    std::string dsn;
    std::string job;
    std::string slot_name;
    std::chrono::seconds report_interval{10};  // lag lines in follow (dry run)
    // `checkpoint` lines: at most this often, and when the phase changes.
    std::chrono::seconds checkpoint_interval{10};
};

class job_monitor {
  public:
    job_monitor(monitor_options options, base::progress& p, const std::atomic<bool>& stop);

    // phase the orchestrator is in; decides whether apply figures mean anything yet.
    void set_phase(std::string phase) { phase_ = std::move(phase); }
    const std::string& phase() const { return phase_; }

    boost::asio::awaitable<void> run();

  private:
    boost::asio::awaitable<void> report_once(pg::async_connection& conn, bool print);
    // take_controls: the live controls as the job's row holds them now, logged when changed.
    void take_controls(bool paused, double max_copy_rate, int64_t max_lag_ms);
    void take_copy_workers(int workers);
    // log_checkpoint: an info `checkpoint` line when the applier's durable checkpoint moved
    // (the position a rerun resumes from, flushed on the target), at most every
    // checkpoint_interval and on a phase change: one line per batch would flood the log.
    void log_checkpoint(std::chrono::steady_clock::time_point now, const lag_figures& lag,
                        bool lag_known);
    // estimate: the catch-up and index-build figures of this tick into progress.
    void estimate(std::chrono::steady_clock::time_point now, uint64_t source,
                  const lag_figures& lag, bool applying);

    monitor_options options_;
    base::progress& progress_;
    const std::atomic<bool>& stop_;
    std::string phase_;
    int64_t last_changes_ = 0;
    std::chrono::steady_clock::time_point last_time_{};
    double rate_ = 0;
    apply_pace pace_;
    catch_up_meter catch_up_;
    capacity_meter capacity_;  // the applier's pace with a backlog (the cutover's tail)
    rate_meter index_rate_{std::chrono::hours(24)};  // since the index phase began
    // The server's WAL insert LSN of the last two ticks, with the time each was read.
    std::deque<std::pair<uint64_t, std::chrono::steady_clock::time_point>> insert_positions_;
    // The last `checkpoint` line: its durable position, when, and in which phase.
    uint64_t logged_checkpoint_ = 0;
    std::chrono::steady_clock::time_point checkpoint_logged_at_{};
    std::string checkpoint_phase_;
};

}  // namespace partshift::monitor
