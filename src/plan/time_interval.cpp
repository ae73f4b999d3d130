// time_interval: interval parsing and calendar alignment (see the header). Uses the C++20
// calendar types so month lengths and leap years come from the standard library, not from
// hand-written tables. Must not know about time zones: callers pass wall-clock values.
#include "partshift/plan/time_interval.hpp"

#include <cctype>
#include <charconv>

#include "partshift/error.hpp"

namespace partshift::plan {
namespace {

using namespace std::chrono;

// floor_div: division rounding toward negative infinity (dates before 2000 align correctly).
long long floor_div(long long a, long long b) {
    long long q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
    return q;
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

bool parse_unit(const std::string& word, time_interval& out) {
    struct spelling {
        const char* word;
        interval_unit unit;
        int multiplier;
    };
    static constexpr spelling spellings[] = {
        {"year", interval_unit::year, 1},      {"years", interval_unit::year, 1},
        {"yr", interval_unit::year, 1},        {"yrs", interval_unit::year, 1},
        {"y", interval_unit::year, 1},         {"quarter", interval_unit::month, 3},
        {"quarters", interval_unit::month, 3}, {"month", interval_unit::month, 1},
        {"months", interval_unit::month, 1},   {"mon", interval_unit::month, 1},
        {"mons", interval_unit::month, 1},     {"week", interval_unit::week, 1},
        {"weeks", interval_unit::week, 1},     {"w", interval_unit::week, 1},
        {"day", interval_unit::day, 1},        {"days", interval_unit::day, 1},
        {"d", interval_unit::day, 1},          {"hour", interval_unit::hour, 1},
        {"hours", interval_unit::hour, 1},     {"hr", interval_unit::hour, 1},
        {"hrs", interval_unit::hour, 1},       {"h", interval_unit::hour, 1},
    };
    for (const auto& s : spellings) {
        if (word == s.word) {
            out.unit = s.unit;
            out.count *= s.multiplier;
            return true;
        }
    }
    return false;
}

}  // namespace

time_interval parse_interval(std::string_view text) {
    const std::string original(text);
    std::string s = lower(text);
    // PostgreSQL's verbose output style starts with '@' ("@ 1 mon"); accept it.
    std::size_t pos = s.find_first_not_of(" \t");
    if (pos != std::string::npos && s[pos] == '@') ++pos;
    pos = s.find_first_not_of(" \t", pos);
    if (pos == std::string::npos) throw usage_error("--interval: empty interval");

    time_interval out;
    std::size_t digits_end = pos;
    while (digits_end < s.size() && std::isdigit(static_cast<unsigned char>(s[digits_end])))
        ++digits_end;
    if (digits_end > pos) {
        long long n = 0;
        auto [end, ec] = std::from_chars(s.data() + pos, s.data() + digits_end, n);
        if (ec != std::errc() || end != s.data() + digits_end || n < 1 || n > 10000)
            throw usage_error("--interval '" + original + "': the count must be from 1 to 10000");
        out.count = static_cast<int>(n);
        pos = s.find_first_not_of(" \t", digits_end);
    }
    const std::size_t word_end = pos == std::string::npos ? pos : s.find_first_of(" \t", pos);
    const std::string word = pos == std::string::npos ? "" : s.substr(pos, word_end - pos);
    if (word.empty() || !parse_unit(word, out))
        throw usage_error("--interval '" + original +
                          "' is not supported: use N year(s), month(s), week(s), day(s) or "
                          "hour(s), e.g. '1 month', '7 days'");
    if (word_end != std::string::npos && s.find_first_not_of(" \t", word_end) != std::string::npos)
        throw usage_error("--interval '" + original +
                          "': only one unit is supported (e.g. '1 month', '36 hours')");
    if (out.count > 10000) throw usage_error("--interval '" + original + "' is too large");
    return out;
}

std::string to_string(const time_interval& interval) {
    const char* unit = "";
    switch (interval.unit) {
        case interval_unit::year:
            unit = "year";
            break;
        case interval_unit::month:
            unit = "month";
            break;
        case interval_unit::week:
            unit = "week";
            break;
        case interval_unit::day:
            unit = "day";
            break;
        case interval_unit::hour:
            unit = "hour";
            break;
    }
    return std::to_string(interval.count) + " " + unit + (interval.count == 1 ? "" : "s");
}

civil_time align_down(civil_time t, const time_interval& interval) {
    const sys_days day = floor<days>(t);
    const year_month_day ymd{day};
    const long long n = interval.count;
    switch (interval.unit) {
        case interval_unit::year: {
            const long long y = floor_div(static_cast<int>(ymd.year()), n) * n;
            return sys_days{year{static_cast<int>(y)} / January / 1};
        }
        case interval_unit::month: {
            const long long index = static_cast<long long>(static_cast<int>(ymd.year())) * 12 +
                                    (static_cast<unsigned>(ymd.month()) - 1);
            const long long aligned = floor_div(index, n) * n;
            const long long y = floor_div(aligned, 12);
            const unsigned m = static_cast<unsigned>(aligned - y * 12 + 1);
            return sys_days{year{static_cast<int>(y)} / month{m} / 1};
        }
        case interval_unit::week: {
            constexpr sys_days epoch_monday = sys_days{year{2000} / January / 3};
            const long long d = (day - epoch_monday).count();
            return epoch_monday + days{floor_div(d, 7 * n) * 7 * n};
        }
        case interval_unit::day: {
            constexpr sys_days epoch = sys_days{year{2000} / January / 1};
            const long long d = (day - epoch).count();
            return epoch + days{floor_div(d, n) * n};
        }
        case interval_unit::hour: {
            constexpr sys_seconds epoch = sys_days{year{2000} / January / 1};
            const long long h = duration_cast<hours>(floor<hours>(t) - epoch).count();
            return epoch + hours{floor_div(h, n) * n};
        }
    }
    return t;
}

civil_time advance(civil_time boundary, const time_interval& interval) {
    const sys_days day = floor<days>(boundary);
    switch (interval.unit) {
        case interval_unit::year:
            return sys_days{year_month_day{day} + years{interval.count}};
        case interval_unit::month:
            // Boundaries are always the first of a month, so adding months never lands on an
            // invalid day like February 30.
            return sys_days{year_month_day{day} + months{interval.count}};
        case interval_unit::week:
            return boundary + days{7 * interval.count};
        case interval_unit::day:
            return boundary + days{interval.count};
        case interval_unit::hour:
            return boundary + hours{interval.count};
    }
    return boundary;
}

}  // namespace partshift::plan
