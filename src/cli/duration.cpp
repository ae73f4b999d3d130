// duration: DURATION option parsing. No I/O.
#include "partshift/cli/duration.hpp"

#include <cctype>

#include "partshift/error.hpp"

namespace partshift::cli {

std::chrono::milliseconds parse_duration(const std::string& text, const std::string& option) {
    auto bad = [&] {
        return usage_error("--" + option + " takes a duration like 500ms, 30s, 10m or 1h, not '" +
                           text + "'");
    };
    if (text.empty()) throw bad();
    int64_t total_ms = 0;
    size_t i = 0;
    while (i < text.size()) {
        size_t start = i;
        while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
        if (i == start || i - start > 12) throw bad();
        int64_t number = std::stoll(text.substr(start, i - start));
        size_t unit_start = i;
        while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
        std::string unit = text.substr(unit_start, i - unit_start);
        int64_t scale = 0;
        if (unit == "ms")
            scale = 1;
        else if (unit == "s")
            scale = 1000;
        else if (unit == "m" || unit == "min")
            scale = 60'000;
        else if (unit == "h")
            scale = 3'600'000;
        else
            throw bad();
        total_ms += number * scale;
    }
    return std::chrono::milliseconds(total_ms);
}

std::string format_duration(std::chrono::milliseconds d) {
    const int64_t ms = d.count();
    if (ms != 0 && ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
    if (ms != 0 && ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
    if (ms != 0 && ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
    return std::to_string(ms) + "ms";
}

}  // namespace partshift::cli
