// apply_pace: the trailing window, the verdict with its hysteresis, and the sentence.
#include "partshift/monitor/apply_pace.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "partshift/base/apply_lane_limit.hpp"
#include "partshift/monitor/byte_size.hpp"
#include "partshift/monitor/human_units.hpp"

namespace partshift::monitor {
namespace {

// more_lanes: the advice on apply lanes. They help where the target's apply backend is what
// limits the pace (BENCHMARKS.md: 3.3x with 4 lanes there), not where the server's cores are
// all busy, so the sentence says which.
std::string more_lanes(int lanes) {
    if (lanes >= base::max_apply_lanes)
        return fmt::format("partshift already applies in {} lanes, the most it has", lanes);
    return fmt::format(
        "give partshift more apply lanes ('partshift set --apply-workers {}'; it runs {} now), "
        "which helps while the target's apply backend is what limits it, not when the "
        "server's cores are all busy",
        std::min(base::max_apply_lanes, std::max(2, 2 * lanes)), lanes);
}

int64_t lag_of(const apply_pace::reading& r) {
    return r.source_position > r.applied_position
               ? static_cast<int64_t>(r.source_position - r.applied_position)
               : int64_t{0};
}

double gained(uint64_t from, uint64_t to) {
    return to > from ? static_cast<double>(to - from) : 0.0;
}

}  // namespace

apply_pace::change apply_pace::add(const reading& r) {
    samples_.push_back(r);
    while (samples_.size() > 2 && r.at - samples_.front().at > options_.window)
        samples_.pop_front();
    const auto f = current();
    if (!f) return change::none;
    const bool within_gate = f->lag_seconds <= f->max_lag_seconds;
    // The dead band between the two thresholds keeps the verdict: a lag that wobbles around
    // the applier's pace neither warns nor clears a warning.
    const double threshold =
        std::max(static_cast<double>(options_.min_change_bytes),
                 options_.share * f->incoming_bytes_per_second * f->window_seconds);
    const bool growing = !within_gate && static_cast<double>(f->lag_growth_bytes) > threshold;
    if (behind_) peak_lag_ = std::max(peak_lag_, f->lag_bytes);
    // Shrunk over the window and below its peak since the verdict: the window's first sample
    // alone (a spike about to leave it) does not make a recovery. The lag's age must have
    // shrunk too: the source position is the server's, so another database's burst of WAL
    // swells and then shrinks the lag in bytes while partshift falls further behind in time
    // (seen in ApplyPaceTest with the suite's other tests writing beside it).
    const bool shrinking =
        within_gate ||
        (static_cast<double>(-f->lag_growth_bytes) > threshold &&
         static_cast<double>(peak_lag_ - f->lag_bytes) > threshold && f->lag_seconds_growth < 0);
    if (!behind_ && growing) {
        behind_ = true;
        peak_lag_ = f->lag_bytes;
        return change::fell_behind;
    }
    if (behind_ && shrinking) {
        behind_ = false;
        return change::caught_up;
    }
    return change::none;
}

std::optional<apply_pace::figures> apply_pace::current() const {
    if (samples_.size() < 2) return std::nullopt;
    const auto& first = samples_.front();
    const auto& last = samples_.back();
    figures f;
    f.window_seconds = std::chrono::duration<double>(last.at - first.at).count();
    if (f.window_seconds < static_cast<double>(options_.minimum.count())) return std::nullopt;
    f.incoming_bytes_per_second =
        gained(first.source_position, last.source_position) / f.window_seconds;
    f.applied_bytes_per_second =
        gained(first.applied_position, last.applied_position) / f.window_seconds;
    f.applied_changes_per_second =
        static_cast<double>(std::max<int64_t>(0, last.changes_applied - first.changes_applied)) /
        f.window_seconds;
    if (f.applied_bytes_per_second > 0 && f.applied_changes_per_second > 0)
        f.incoming_changes_per_second = f.incoming_bytes_per_second *
                                        (f.applied_changes_per_second / f.applied_bytes_per_second);
    f.lag_growth_bytes = lag_of(last) - lag_of(first);
    f.lag_bytes = lag_of(last);
    f.lag_seconds = last.lag_seconds;
    f.lag_seconds_growth = last.lag_seconds - first.lag_seconds;
    f.max_lag_seconds = last.max_lag_seconds;
    f.apply_lanes = last.apply_lanes;
    return f;
}

std::optional<std::string> apply_pace::why() const {
    if (!behind_) return std::nullopt;
    const auto f = current();
    if (!f) return std::nullopt;
    return describe_behind(*f);
}

std::string describe_behind(const apply_pace::figures& f) {
    const std::string incoming_changes =
        f.incoming_changes_per_second ? "~" + human_rate(*f.incoming_changes_per_second, "changes")
                                      : "changes/s unknown";
    return fmt::format(
        "the applier is not keeping up: the source writes {} of WAL ({}), partshift applies {} "
        "({}); the lag grew by {} over the last {} to {} ({}), so the cutover gate (lag <= {}) "
        "cannot open. To converge: {}; throttle the application's writes to this table, or "
        "wait for a quieter hour; or let the cutover go once the tail fits under "
        "--max-lock-hold (run --cutover-when tail-fits: writers wait while it is applied under "
        "the lock)",
        human_byte_rate(f.incoming_bytes_per_second), incoming_changes,
        human_byte_rate(f.applied_bytes_per_second),
        human_rate(f.applied_changes_per_second, "changes"),
        human_size(static_cast<double>(std::max<int64_t>(0, f.lag_growth_bytes))),
        human_duration(f.window_seconds), human_size(static_cast<double>(f.lag_bytes)),
        human_duration(f.lag_seconds), human_duration(f.max_lag_seconds),
        more_lanes(f.apply_lanes));
}

}  // namespace partshift::monitor
