// job_monitor: once a second, turns the progress counters into lag, rate and time-left
// figures (the one lag measurement every screen shows), writes
// them to the job's row (so `partshift status` works from any shell), reads back the live
// controls (`partshift cutover`, `pause`, `set`) into progress, and in a dry run prints the
// lag line the user watches before deciding to cut over.
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
};

}  // namespace partshift::monitor
