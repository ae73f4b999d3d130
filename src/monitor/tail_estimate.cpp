// tail_estimate: the capacity meter and the tail arithmetic. No clock, no I/O.
#include "partshift/monitor/tail_estimate.hpp"

#include <algorithm>

namespace partshift::monitor {

void capacity_meter::add(clock::time_point at, uint64_t applied_position, int64_t lag_bytes) {
    if (last_at_ && at > *last_at_ && last_lag_ >= options_.min_backlog) {
        const double bytes = applied_position > last_applied_
                                 ? static_cast<double>(applied_position - last_applied_)
                                 : 0.0;
        busy_.push_back({at, std::chrono::duration<double>(at - *last_at_).count(), bytes});
    }
    last_at_ = at;
    last_applied_ = applied_position;
    last_lag_ = lag_bytes;
    while (!busy_.empty() && at - busy_.front().at > options_.window) busy_.pop_front();
}

void capacity_meter::reset() {
    last_at_.reset();
    busy_.clear();
}

std::optional<double> capacity_meter::bytes_per_second() const {
    double seconds = 0, bytes = 0;
    for (const auto& b : busy_) {
        seconds += b.seconds;
        bytes += b.bytes;
    }
    if (seconds < static_cast<double>(options_.minimum_busy.count()) || bytes <= 0)
        return std::nullopt;
    return bytes / seconds;
}

std::optional<double> tail_seconds(const tail_inputs& in) {
    if (!in.capacity_bytes_per_second || *in.capacity_bytes_per_second <= 0) return std::nullopt;
    const double incoming = std::max(0.0, in.incoming_bytes_per_second);
    const double source_now =
        std::max(static_cast<double>(in.received_position),
                 static_cast<double>(in.insert_position) + incoming * in.insert_age_seconds);
    const double backlog = std::max(0.0, source_now - static_cast<double>(in.applied_position));
    return (backlog + incoming * in.lead_seconds) / *in.capacity_bytes_per_second;
}

bool tail_fits(double tail_seconds, std::chrono::milliseconds max_lock_hold) {
    if (tail_seconds < 0) return false;
    return tail_seconds * tail_safety_factor * 1000.0 <= static_cast<double>(max_lock_hold.count());
}

}  // namespace partshift::monitor
