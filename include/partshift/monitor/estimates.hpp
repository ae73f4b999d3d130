// estimates: the rates and time-left figures a person plans by — copy, index build and
// catch-up — computed once (copier and job monitor) and shown the same by the progress line,
// `status` and the metrics. Pure: fed timestamps and counts, no clock or I/O; unit-tested.
// Must not: format for people (human_units) or read counters itself.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>

namespace partshift::monitor {

using estimate_clock = std::chrono::steady_clock;

// rate_meter: the rate of a growing count over a trailing window (a rate since the start
// would hide a pause, a throttle or a changed worker count for the rest of the run).
class rate_meter {
  public:
    explicit rate_meter(std::chrono::seconds window = std::chrono::seconds(30)) : window_(window) {}
    void add(estimate_clock::time_point at, double value);
    void reset() { samples_.clear(); }
    // per_second: nullopt until the samples span at least a second. A count that went back
    // (a rolled-back chunk's estimate) is taken as it is: the rate may be lower for a while.
    std::optional<double> per_second() const;

  private:
    std::chrono::seconds window_;
    std::deque<std::pair<estimate_clock::time_point, double>> samples_;
};

// seconds_left: remaining / rate; nullopt when the rate is unknown or zero (no ETA is better
// than an infinite one), 0 when nothing remains.
std::optional<double> seconds_left(double remaining, std::optional<double> rate);

// rows_in_flight_estimate: rows written by running chunks and not committed yet, measured by
// the target's growth: (target_bytes - target_bytes_at_start) / bytes_per_row, less the rows
// committed since the start, between 0 and `cap` (the running chunks' planned rows). 0 when
// bytes_per_row is unknown (<= 0). An INSERT … SELECT reports no rows until it ends, and
// PostgreSQL has no progress view for it: the table's size is what the server does show.
int64_t rows_in_flight_estimate(int64_t target_bytes, int64_t target_bytes_at_start,
                                double bytes_per_row, int64_t rows_committed_since_start,
                                int64_t cap);

// catch_up: whether the applier gains on the source and when it will have caught up.
enum class catch_up_state : int { unknown, caught_up, converging, not_converging };
const char* describe(catch_up_state state);  // "", "caught up", "converging", "not converging"

struct catch_up_estimate {
    catch_up_state state = catch_up_state::unknown;
    std::optional<double> seconds_left;    // converging only
    double applied_bytes_per_second = 0;   // WAL the applier gets through
    double incoming_bytes_per_second = 0;  // WAL the source writes
    int64_t lag_growth_bytes = 0;          // over the window (not converging: > 0)
    double window_seconds = 0;
};

// catch_up_meter: fed the source position and the applied position (lag.hpp's definitions,
// bytes from 0/0) once a second while the applier runs. The ETA is the lag divided by how
// much faster the applier goes than the source writes; when it goes no faster, the lag does
// not shrink and the job is "not converging".
class catch_up_meter {
  public:
    struct options {
        std::chrono::seconds window{30};  // rates over this much history...
        std::chrono::seconds minimum{5};  // ...once at least this much is there
    };
    catch_up_meter() : catch_up_meter(options{}) {}
    explicit catch_up_meter(options o) : options_(o) {}

    void add(estimate_clock::time_point at, uint64_t source_position, uint64_t applied_position);
    void reset() { samples_.clear(); }
    // estimate: caught_up when the lag is within the cutover gate (lag_seconds <= max_lag).
    catch_up_estimate estimate(double lag_seconds, double max_lag_seconds) const;

  private:
    struct sample {
        estimate_clock::time_point at;
        uint64_t source;
        uint64_t applied;
    };
    options options_;
    std::deque<sample> samples_;
};

// describe_catch_up: "caught up (lag within the cutover's --max-lag)", "~40 s left (applying
// 12.0 MB/s of WAL, 3.0 MB/s incoming)", "not converging: the lag grew by 5.0 MB over the
// last 30 s (applying …)"; "" when unknown.
std::string describe_catch_up(const catch_up_estimate& e);

}  // namespace partshift::monitor
