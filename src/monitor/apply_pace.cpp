// apply_pace: the trailing window and the verdict.
#include "partshift/monitor/apply_pace.hpp"

#include <fmt/format.h>

#include "partshift/monitor/byte_size.hpp"

namespace partshift::monitor {

void apply_pace::add(clock::time_point at, double lag_seconds, int64_t lag_bytes, double rate) {
    samples_.push_back({at, lag_seconds, lag_bytes, rate});
    while (!samples_.empty() && at - samples_.front().at > options_.window) samples_.pop_front();
}

std::optional<std::string> apply_pace::behind() const {
    if (samples_.size() < 2) return std::nullopt;
    const auto& first = samples_.front();
    const auto& last = samples_.back();
    const double span = std::chrono::duration<double>(last.at - first.at).count();
    if (span < static_cast<double>(options_.minimum.count())) return std::nullopt;
    if (last.lag_seconds < options_.min_lag_seconds) return std::nullopt;
    // Growing in time and in bytes: a backlog being drained shrinks in bytes even while its
    // oldest change ages.
    if (last.lag_seconds - first.lag_seconds < options_.growth_per_second * span)
        return std::nullopt;
    if (last.lag_bytes <= first.lag_bytes) return std::nullopt;
    return fmt::format(
        "the applier is not keeping up: lag grew from {:.0f} s ({}) to {:.0f} s ({}) over the "
        "last {:.0f} s while applying {:.0f} changes/s; the source writes faster than partshift "
        "applies, so the cutover gate cannot open until the load drops",
        first.lag_seconds, human_size(static_cast<double>(first.lag_bytes)), last.lag_seconds,
        human_size(static_cast<double>(last.lag_bytes)), span, last.rate);
}

}  // namespace partshift::monitor
