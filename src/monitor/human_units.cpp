// human_units: formatting only.
#include "partshift/monitor/human_units.hpp"

#include <fmt/format.h>

#include <cmath>

#include "partshift/monitor/byte_size.hpp"

namespace partshift::monitor {

std::string human_duration(double seconds) {
    if (!std::isfinite(seconds) || seconds < 0) seconds = 0;
    if (seconds < 0.001) return "0 s";
    if (seconds < 1) return fmt::format("{} ms", static_cast<int64_t>(seconds * 1000 + 0.5));
    if (seconds < 9.95) return fmt::format("{:.1f} s", seconds);
    auto s = static_cast<int64_t>(seconds + 0.5);
    if (s < 60) return fmt::format("{} s", s);
    if (s < 3600) return fmt::format("{} min {} s", s / 60, s % 60);
    if (s < 86400) return fmt::format("{} h {:02} min", s / 3600, (s % 3600) / 60);
    return fmt::format("{} d {:02} h", s / 86400, (s % 86400) / 3600);
}

std::string human_count(int64_t n) {
    const bool negative = n < 0;
    // The magnitude as unsigned: -INT64_MIN does not fit an int64_t.
    const uint64_t magnitude = negative ? 0 - static_cast<uint64_t>(n) : static_cast<uint64_t>(n);
    const std::string digits = std::to_string(magnitude);
    std::string out;
    for (size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return negative ? "-" + out : out;
}

std::string human_rate(double per_second, const std::string& unit) {
    if (!std::isfinite(per_second) || per_second < 0) per_second = 0;
    if (per_second < 9.95 && per_second != 0) return fmt::format("{:.1f} {}/s", per_second, unit);
    return human_count(static_cast<int64_t>(per_second + 0.5)) + " " + unit + "/s";
}

std::string human_byte_rate(double bytes_per_second) {
    if (!std::isfinite(bytes_per_second) || bytes_per_second < 0) bytes_per_second = 0;
    return human_size(bytes_per_second) + "/s";
}

std::string human_eta(std::optional<double> seconds) {
    if (!seconds) return "";
    return "~" + human_duration(*seconds) + " left";
}

}  // namespace partshift::monitor
