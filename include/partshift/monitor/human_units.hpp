// human_units: how partshift prints durations, counts and rates to people (the progress line,
// the log, `status`), so every screen says "8.2 s" and "1,234,567 rows", never "8.22927 s".
// Sizes are byte_size's human_size. Pure; unit-tested.
// Must not: decide what is shown (callers do), or be used for machine output (JSON, metrics
// keep raw numbers in base units).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace partshift::monitor {

// human_duration: "0 s" below a millisecond, "36 ms" below a second, "8.2 s" below 10 s,
// "42 s", "1 min 12 s", "2 h 05 min", "3 d 04 h".
std::string human_duration(double seconds);

// human_count: 1234567 → "1,234,567".
std::string human_count(int64_t n);

// human_rate: "5,600 rows/s" (whole numbers from 10 up, one decimal below).
std::string human_rate(double per_second, const std::string& unit);

// human_byte_rate: "3.2 MB/s" (human_size per second).
std::string human_byte_rate(double bytes_per_second);

// human_eta: "~1 min 12 s left", or "" when unknown.
std::string human_eta(std::optional<double> seconds);

}  // namespace partshift::monitor
