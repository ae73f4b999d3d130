// estimates: trailing-window rates and time-left arithmetic. No clock, no I/O.
#include "partshift/monitor/estimates.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "partshift/monitor/byte_size.hpp"
#include "partshift/monitor/human_units.hpp"

namespace partshift::monitor {

void rate_meter::add(estimate_clock::time_point at, double value) {
    samples_.emplace_back(at, value);
    // Keep one sample older than the window, so the rate always spans the whole window.
    while (samples_.size() > 2 && at - samples_[1].first >= window_) samples_.pop_front();
}

std::optional<double> rate_meter::per_second() const {
    if (samples_.size() < 2) return std::nullopt;
    const auto& first = samples_.front();
    const auto& last = samples_.back();
    const double span = std::chrono::duration<double>(last.first - first.first).count();
    if (span < 1) return std::nullopt;
    return std::max(0.0, (last.second - first.second) / span);
}

std::optional<double> seconds_left(double remaining, std::optional<double> rate) {
    if (remaining <= 0) return 0.0;
    if (!rate || *rate <= 0 || !std::isfinite(*rate)) return std::nullopt;
    return remaining / *rate;
}

int64_t rows_in_flight_estimate(int64_t target_bytes, int64_t target_bytes_at_start,
                                double bytes_per_row, int64_t rows_committed_since_start,
                                int64_t cap) {
    if (bytes_per_row <= 0 || cap <= 0) return 0;
    const double landed =
        static_cast<double>(std::max<int64_t>(0, target_bytes - target_bytes_at_start)) /
        bytes_per_row;
    const double in_flight = landed - static_cast<double>(rows_committed_since_start);
    return std::clamp<int64_t>(static_cast<int64_t>(in_flight), 0, cap);
}

const char* describe(catch_up_state state) {
    switch (state) {
        case catch_up_state::unknown:
            return "";
        case catch_up_state::caught_up:
            return "caught up";
        case catch_up_state::converging:
            return "converging";
        case catch_up_state::not_converging:
            return "not converging";
    }
    return "";
}

void catch_up_meter::add(estimate_clock::time_point at, uint64_t source_position,
                         uint64_t applied_position) {
    samples_.push_back({at, source_position, applied_position});
    while (samples_.size() > 2 && at - samples_[1].at >= options_.window) samples_.pop_front();
}

catch_up_estimate catch_up_meter::estimate(double lag_seconds, double max_lag_seconds) const {
    catch_up_estimate e;
    if (!samples_.empty() && lag_seconds <= max_lag_seconds) {
        e.state = catch_up_state::caught_up;
        e.seconds_left = 0.0;
    }
    if (samples_.size() < 2) return e;
    const auto& first = samples_.front();
    const auto& last = samples_.back();
    e.window_seconds = std::chrono::duration<double>(last.at - first.at).count();
    if (e.window_seconds < static_cast<double>(options_.minimum.count())) return e;
    auto gained = [](uint64_t from, uint64_t to) {
        return to > from ? static_cast<double>(to - from) : 0.0;
    };
    e.incoming_bytes_per_second = gained(first.source, last.source) / e.window_seconds;
    e.applied_bytes_per_second = gained(first.applied, last.applied) / e.window_seconds;
    auto lag = [](const sample& s) {
        return s.source > s.applied ? static_cast<int64_t>(s.source - s.applied) : int64_t{0};
    };
    e.lag_growth_bytes = lag(last) - lag(first);
    if (e.state == catch_up_state::caught_up) return e;
    const double net = e.applied_bytes_per_second - e.incoming_bytes_per_second;
    if (net > 0 && e.lag_growth_bytes <= 0) {
        e.state = catch_up_state::converging;
        e.seconds_left = static_cast<double>(lag(last)) / net;
    } else {
        e.state = catch_up_state::not_converging;
    }
    return e;
}

std::string describe_catch_up(const catch_up_estimate& e) {
    const std::string rates = e.window_seconds > 0
                                  ? fmt::format("applying {} of WAL, {} incoming",
                                                human_byte_rate(e.applied_bytes_per_second),
                                                human_byte_rate(e.incoming_bytes_per_second))
                                  : "";
    switch (e.state) {
        case catch_up_state::unknown:
            return "";
        case catch_up_state::caught_up:
            return "caught up (lag within the cutover's --max-lag)";
        case catch_up_state::converging:
            return human_eta(e.seconds_left) + " (" + rates + ")";
        case catch_up_state::not_converging:
            return fmt::format(
                "not converging: the lag grew by {} over the last {} ({})",
                human_size(static_cast<double>(std::max<int64_t>(0, e.lag_growth_bytes))),
                human_duration(e.window_seconds), rates);
    }
    return "";
}

}  // namespace partshift::monitor
