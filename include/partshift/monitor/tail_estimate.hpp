// tail_estimate: how long the cutover's lock would be held to apply the tail (issue 22 item 4),
// for `--cutover-when tail-fits`: once the lock is granted no source write can commit, so the
// tail is what is unapplied then, and the applier gets through it at its own pace. The pace is
// the applier's capacity: WAL bytes it got through per second during the seconds it had a
// backlog to work on (a rate over idle seconds would say nothing about how fast it drains).
// Pure: fed figures, no clock or I/O; unit-tested.
// Must not: open the gate (follow_watcher does) or take the lock (cutover_runner does).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>

namespace partshift::monitor {

// capacity_meter: the applier's WAL bytes per second over the busy seconds of a trailing
// window. A second counts as busy when the lag at its start was at least min_backlog: the
// applier had work waiting all along (a second that drained everything still counts, and
// understates the capacity: the safe side).
class capacity_meter {
  public:
    using clock = std::chrono::steady_clock;
    struct options {
        std::chrono::seconds window{30};
        std::chrono::seconds minimum_busy{3};  // no figure before this much busy time
        int64_t min_backlog = 64 * 1024;
    };
    capacity_meter() : capacity_meter(options{}) {}
    explicit capacity_meter(options o) : options_(o) {}

    // add: the applied position now and the lag (bytes) measured now.
    void add(clock::time_point at, uint64_t applied_position, int64_t lag_bytes);
    void reset();
    // bytes_per_second: nullopt until minimum_busy of busy seconds are in the window.
    std::optional<double> bytes_per_second() const;

  private:
    struct busy_second {
        clock::time_point at;
        double seconds;
        double bytes;
    };
    options options_;
    std::optional<clock::time_point> last_at_;
    uint64_t last_applied_ = 0;
    int64_t last_lag_ = 0;
    std::deque<busy_second> busy_;
};

// The tail the lock would wait for: what is unapplied now, plus what the source writes until
// the lock is granted (lead_seconds at the incoming rate), at the applier's capacity. "Now"
// is the further of the walsender's position (current) and the server's WAL insert position
// read age_seconds ago, moved on by what the source wrote since.
struct tail_inputs {
    uint64_t applied_position = 0;
    uint64_t received_position = 0;  // the walsender's latest
    uint64_t insert_position = 0;    // the server's WAL insert position...
    double insert_age_seconds = 0;   // ...read this long ago
    double incoming_bytes_per_second = 0;
    std::optional<double> capacity_bytes_per_second;
    double lead_seconds = 0.5;  // gate open -> lock granted (connections, SHARE lock, catalog)
};

// tail_seconds: the estimated time to apply the tail under the lock; nullopt while the
// capacity is unknown.
std::optional<double> tail_seconds(const tail_inputs& in);

// The estimate may be off (the rate moves, the swap itself takes time under the same cap):
// the gate opens only when the estimate times this factor fits under --max-lock-hold.
constexpr double tail_safety_factor = 2.0;

// tail_fits: the estimate (seconds; < 0 unknown) times tail_safety_factor is within the hold.
bool tail_fits(double tail_seconds, std::chrono::milliseconds max_lock_hold);

}  // namespace partshift::monitor
