// apply_pace: tells whether the applier keeps up with the source (issue 9 item 1: "when the
// applier itself cannot keep up, status says so"). Fed the lag once a second while replaying
// or following; over a trailing window, lag that keeps growing (by at least half a second
// per second, past a floor) means the source writes faster than partshift applies, and such a
// job would never reach its cutover gate. A draining backlog, or a steady small lag, is not
// falling behind. Pure; unit-tested.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>

namespace partshift::monitor {

class apply_pace {
  public:
    using clock = std::chrono::steady_clock;

    struct options {
        std::chrono::seconds window{60};   // judged over this much history...
        std::chrono::seconds minimum{30};  // ...once at least this much is there
        double min_lag_seconds = 10;       // below this lag, never "behind"
        double growth_per_second = 0.5;    // lag seconds gained per second of window
    };

    apply_pace() : apply_pace(options{}) {}
    explicit apply_pace(options o) : options_(o) {}

    // add: one measurement; `rate` is the apply rate (changes/s) for the message.
    void add(clock::time_point at, double lag_seconds, int64_t lag_bytes, double rate);
    // reset: lag unknown (a reconnect, a phase without apply): start over.
    void reset() { samples_.clear(); }

    // behind: why the applier is not keeping up, or nullopt when it is (or it is too early).
    std::optional<std::string> behind() const;

  private:
    struct sample {
        clock::time_point at;
        double lag_seconds;
        int64_t lag_bytes;
        double rate;
    };
    options options_;
    std::deque<sample> samples_;
};

}  // namespace partshift::monitor
