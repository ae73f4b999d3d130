// throttler: the role that decides, once a second, whether the copy must wait (gh-ost's
// throttler): it reads the standbys' lag, the server's load and the user's throttle query
// while the copy runs, and the slot's retained WAL all the time (the WAL-retention guard);
// sets progress.copy_throttled and the reason, and logs each change. The guard warns, then
// throttles, then stops the run (wal_guard_error, exit 5) before the server would invalidate
// the slot, and reports a slot already lost as "start over" (runtime_error, exit 1).
// A run that starts with the slot over the stop level (resumed after the guard stopped it)
// is given the time to drain it: no stop until its stream has acknowledged the position the
// server was at when the run began, and drain_grace after that (the slot's restart point
// moves only at the next running-transactions record, logged every 15 s).
// Must not pause the copy itself (copy_gate does) or ever hold back the applier.
#pragma once

#include <utility>  // before Asio's coroutine headers (GCC 12 + Boost 1.74)

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <optional>
#include <string>

#include "partshift/base/progress.hpp"
#include "partshift/pg/async_connection.hpp"
#include "partshift/pg/connection.hpp"
#include "partshift/throttle/throttle_decision.hpp"
#include "partshift/throttle/throttle_limits.hpp"
#include "partshift/throttle/wal_guard.hpp"

namespace partshift::throttle {

struct throttler_options {
    std::string dsn;
    std::string job;
    std::string slot_name;
    throttle_limits limits;
    std::optional<int64_t> slot_wal_limit;  // run --slot-wal-limit
    wal_guard_thresholds thresholds;
    std::chrono::milliseconds interval{1000};
    std::chrono::milliseconds drain_grace{20000};
};

class throttler {
  public:
    throttler(throttler_options options, base::progress& progress, const std::atomic<bool>& stop);

    // run checks every interval until stop. Throws wal_guard_error or runtime_error when the
    // guard ends the run; connection trouble only skips a tick (logged at debug level).
    boost::asio::awaitable<void> run();

  private:
    boost::asio::awaitable<server_signals> read_signals(pg::async_connection& conn);
    // act_on_guard logs and throws as the verdict says; returns it, a stop during the drain
    // grace turned into a throttle.
    wal_guard_verdict act_on_guard(wal_guard_verdict verdict, uint64_t server_lsn);
    void publish(const base::throttle_reason& reason);

    throttler_options options_;
    base::progress& progress_;
    const std::atomic<bool>& stop_;
    base::throttle_reason current_;
    std::chrono::steady_clock::time_point throttled_since_{};
    wal_guard_level last_guard_level_ = wal_guard_level::ok;
    std::chrono::steady_clock::time_point last_guard_log_{};
    std::optional<uint64_t> start_lsn_;  // the server's WAL position at the first check
    std::optional<std::chrono::steady_clock::time_point> drained_at_;
};

// check_slot_not_lost, before a run starts its roles: a slot the server invalidated means
// start over (runtime_error naming the reason); a missing slot is left to the streamer.
void check_slot_not_lost(pg::connection& conn, const std::string& slot_name,
                         const std::string& job);

// check_throttle_query runs the query once before a run starts, so a typo is bad input
// (usage_error, exit 2) and not a copy that waits forever; returns its value.
double check_throttle_query(pg::connection& conn, const std::string& query);

}  // namespace partshift::throttle
