// time_interval: the INTERVAL of --interval ("1 month", "7 days", "1 mon", "6 hours") parsed into
// a count and a unit, and calendar arithmetic on it: aligning a civil time down to a partition
// boundary and stepping to the next one. Civil times are std::chrono::sys_seconds read as wall
// clock values (no time zone is applied here). Must not render SQL or names.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace partshift::plan {

enum class interval_unit { year, month, week, day, hour };

struct time_interval {
    int count = 1;
    interval_unit unit = interval_unit::month;
    bool operator==(const time_interval&) const = default;
};

// parse_interval accepts "N unit" with N from 1 to 10000 (N may be omitted: "month") and units
// year(s)/yr(s)/y, quarter(s), month(s)/mon(s), week(s)/w, day(s)/d, hour(s)/hr(s)/h, in any case.
// Mixed intervals ("1 mon 2 days") and smaller units are a usage_error.
time_interval parse_interval(std::string_view text);

// to_string renders the interval as PostgreSQL would accept it: "3 months", "1 day".
std::string to_string(const time_interval& interval);

using civil_time = std::chrono::sys_seconds;

// align_down returns the partition boundary at or before t:
//   years  → January 1 of a year that is a multiple of N;
//   months → the first of a month; N months counted from January of year 0, so divisors of 12
//            stay inside the year (3 months = quarters, 6 = halves);
//   weeks  → a Monday (ISO week start); N weeks counted from Monday 2000-01-03;
//   days   → midnight; N days counted from 2000-01-01;
//   hours  → a full hour; N hours counted from 2000-01-01 00:00 (divisors of 24 stay in the day).
civil_time align_down(civil_time t, const time_interval& interval);

// advance returns the boundary one interval after an aligned boundary.
civil_time advance(civil_time boundary, const time_interval& interval);

}  // namespace partshift::plan
