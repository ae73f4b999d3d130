// apply_pace: tells whether the lag converges (issue 9 item 1, issue 22 item 4): fed the
// source and applied WAL positions once a second while replaying or following, it says when
// the source writes faster than partshift applies, so the lag grows and the cutover gate
// (lag <= --max-lag) cannot open. Judged over a trailing window (a minute; a verdict once half
// of it is there) with hysteresis, so a load that hovers at the applier's pace does not flap:
// the lag must grow by a share of what the source wrote to fall behind, and shrink by as much
// (or come within --max-lag) to be keeping up again, be younger than at the window's start, and be
// below the highest lag seen since it fell behind (a lag spike leaving the window, such as the
// copy's WAL decoded at the start of the replay, is no recovery); between the two the verdict
// stays. The sentence names the measured incoming and apply rates (changes/s and bytes/s) and what
// would make the lag converge. Pure: no clock, no I/O, no logging; unit-tested.
// Must not: decide the cutover (follow_watcher does) or format machine output.
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
        // The lag must grow (to fall behind) or shrink (to recover) by this share of the WAL
        // the source wrote over the window, and by at least min_change_bytes: the applied
        // position moves by whole batches, and an idle source writes a little WAL too.
        double share = 0.05;
        int64_t min_change_bytes = 64 * 1024;
    };

    // One measurement: positions are bytes from 0/0 (monitor/lag's definitions);
    // changes_applied counts the changes the target has executed so far.
    struct reading {
        clock::time_point at;
        uint64_t source_position = 0;
        uint64_t applied_position = 0;
        double lag_seconds = 0;
        int64_t changes_applied = 0;
        double max_lag_seconds = 1;  // the cutover gate's --max-lag now
        int apply_lanes = 1;         // the applier's lanes now (--apply-workers)
    };

    // The rates behind a verdict, over the window.
    struct figures {
        double window_seconds = 0;
        double incoming_bytes_per_second = 0;
        double applied_bytes_per_second = 0;
        double applied_changes_per_second = 0;
        // The source's changes/s, estimated from its WAL rate and the changes per WAL byte
        // the applier saw; nullopt when nothing was applied (no ratio to go by).
        std::optional<double> incoming_changes_per_second;
        int64_t lag_growth_bytes = 0;   // over the window; > 0 grew
        int64_t lag_bytes = 0;          // now
        double lag_seconds = 0;         // now
        double lag_seconds_growth = 0;  // over the window; > 0 older
        double max_lag_seconds = 1;
        int apply_lanes = 1;  // now
    };

    enum class change { none, fell_behind, caught_up };

    apply_pace() : apply_pace(options{}) {}
    explicit apply_pace(options o) : options_(o) {}

    // add: one measurement; returns how the verdict changed with it (to log it once).
    change add(const reading& r);
    // reset: lag unknown (a reconnect, a phase without apply): history and verdict forgotten.
    void reset() {
        samples_.clear();
        behind_ = false;
        peak_lag_ = 0;
    }

    bool behind() const { return behind_; }
    // why: the sentence for status and the log while behind, with the current rates; nullopt
    // when keeping up (or too early to tell).
    std::optional<std::string> why() const;
    // current: the window's figures, nullopt before `minimum` of history.
    std::optional<figures> current() const;

  private:
    options options_;
    std::deque<reading> samples_;
    bool behind_ = false;
    int64_t peak_lag_ = 0;  // the highest lag (bytes) since it fell behind
};

// describe_behind: "the applier is not keeping up: the source writes 1.5 MB/s of WAL
// (~3,000 changes/s), partshift applies 1.0 MB/s (2,000 changes/s); ..." with what would
// make it converge: more apply lanes (while below the most), a throttle, a quieter hour, or a
// cutover once the tail fits.
std::string describe_behind(const apply_pace::figures& f);

}  // namespace partshift::monitor
