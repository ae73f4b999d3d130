// duration: parses DURATION arguments ("500ms", "30s", "10m", "1h", "1h30m") as DESIGN.md §5
// defines them, and writes a default back the same way for --help. The one duration parser of
// the CLI. Pure; throws usage_error naming the option on bad input.
#pragma once

#include <chrono>
#include <string>

namespace partshift::cli {

std::chrono::milliseconds parse_duration(const std::string& text, const std::string& option);

// format_duration: the shortest DURATION text that parses back to `d` ("2s", "50ms", "10m").
std::string format_duration(std::chrono::milliseconds d);

}  // namespace partshift::cli
