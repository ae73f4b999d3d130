// duration: parses DURATION arguments ("500ms", "30s", "10m", "1h", "1h30m") as DESIGN.md §5
// defines them. Pure; throws usage_error naming the option on bad input.
#pragma once

#include <chrono>
#include <string>

namespace partshift::cli {

std::chrono::milliseconds parse_duration(const std::string& text, const std::string& option);

}  // namespace partshift::cli
