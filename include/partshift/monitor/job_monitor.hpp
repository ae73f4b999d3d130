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
#include <functional>
#include <string>

#include "partshift/base/progress.hpp"
#include "partshift/monitor/apply_pace.hpp"
#include "partshift/monitor/catch_up_pacer.hpp"
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
    // set_phase: the job's phase now. Entering replay or follow starts a paced catch-up at once
    // (--catch-up-pace), not a tick later.
    void set_phase(std::string phase);
    const std::string& phase() const { return phase_; }

    boost::asio::awaitable<void> run();
    // after_each_tick: called once each tick's figures are in progress and in the job's row,
    // so what reads progress then (the metrics) shows the measurement status shows.
    void after_each_tick(std::function<void()> f) { after_tick_ = std::move(f); }

  private:
    // One tick: measure the lag, estimate, log a checkpoint, rate and pace, write the row,
    // take the controls it returns, and (print) the lag line.
    boost::asio::awaitable<void> report_once(pg::async_connection& conn, bool print);

    // This tick's lag against the source position it was measured from.
    struct measurement {
        uint64_t source = 0;  // the server's WAL position the walsender is known to have passed
        lag_figures lag;
        bool known = false;  // two source positions read (before that: unknown, not 0)
    };
    // measure_lag: the one lag figure of this tick, into progress when known.
    measurement measure_lag(std::chrono::steady_clock::time_point now, bool applying);
    // update_apply_rate: changes written per second, smoothed; the changes written so far.
    int64_t update_apply_rate(std::chrono::steady_clock::time_point now);
    // judge_pace: whether the applier falls behind (logged when that changes).
    void judge_pace(std::chrono::steady_clock::time_point now, const measurement& m,
                    int64_t changes, bool applying);
    // judge_catch_up_pace: whether the catch-up is paced now (--catch-up-pace), into
    // progress.catch_up_paced; logged when that changes.
    void judge_catch_up_pace(const measurement& m, bool applying);
    bool applying() const;  // replay or follow: the applier runs
    // write_row: this tick's figures into the job's row; returns the slot's retained WAL, its
    // wal_status, the server's WAL insert position and the live controls.
    boost::asio::awaitable<pg::result> write_row(pg::async_connection& conn, const measurement& m,
                                                 const std::string& behind);
    // take_row: the positions and controls write_row returned, into progress.
    void take_row(const pg::result& r, std::chrono::steady_clock::time_point now);
    // log_lag_line: the dry run's `lag` line.
    void log_lag_line(const lag_figures& lag, const pg::result& r);
    // take_controls: the live controls as the job's row holds them now, logged when changed.
    void take_controls(bool paused, double max_copy_rate, int64_t max_lag_ms);
    void take_copy_workers(int workers);
    void take_apply_workers(int workers);
    void take_catch_up_pace(int percent);
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
    std::function<void()> after_tick_;
    int64_t last_changes_ = 0;
    std::chrono::steady_clock::time_point last_time_{};
    double rate_ = 0;
    apply_pace pace_;
    catch_up_meter catch_up_;
    catch_up_pacer catch_up_pacer_;
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
