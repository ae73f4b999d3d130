// bounds: partition bounds for one level (see the header). Date arithmetic goes through
// time_interval (std::chrono calendar types); integer arithmetic through __int128 with explicit
// range checks. Must not produce identifiers: names are finished in the planner.
#include "partshift/plan/bounds.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <set>

#include "partshift/error.hpp"
#include "partshift/pg/quote.hpp"
#include "partshift/plan/partition_naming.hpp"
#include "partshift/plan/time_interval.hpp"

namespace partshift::plan {

using pg::quote_literal;

namespace {

using namespace std::chrono;
using int128 = __int128;

[[noreturn]] void too_many(const std::string& what) {
    throw usage_error("the plan would create more than " + std::to_string(max_partitions) +
                      " partitions (" + what + "); choose a larger interval, step or modulus");
}

// ---- time ranges ----

int parse_digits(std::string_view s, std::size_t& pos, std::size_t min_len, std::size_t max_len,
                 const std::string& whole) {
    std::size_t end = pos;
    while (end < s.size() && end - pos < max_len &&
           std::isdigit(static_cast<unsigned char>(s[end])))
        ++end;
    if (end - pos < min_len)
        throw usage_error("cannot read the date/time value '" + whole +
                          "' (the server must use DateStyle ISO)");
    int v = 0;
    std::from_chars(s.data() + pos, s.data() + end, v);
    pos = end;
    return v;
}

void expect(std::string_view s, std::size_t& pos, char c, const std::string& whole) {
    if (pos >= s.size() || s[pos] != c)
        throw usage_error("cannot read the date/time value '" + whole +
                          "' (the server must use DateStyle ISO)");
    ++pos;
}

// parse_time_text reads ISO server output: "YYYY-MM-DD[ HH:MM:SS[.ffffff]][+HH[:MM[:SS]]]".
// Returns the wall-clock value; when to_utc is set and an offset is present, the UTC value.
civil_time parse_time_text(const std::string& text, bool to_utc) {
    if (text.find("infinity") != std::string::npos)
        throw usage_error("the partition key holds '" + text +
                          "', which no range partition can hold except a DEFAULT partition; "
                          "clean the data or use --default-partition");
    if (text.find("BC") != std::string::npos)
        throw usage_error("the partition key holds a BC date ('" + text + "'); not supported");
    std::string_view s = text;
    std::size_t pos = 0;
    const int y = parse_digits(s, pos, 4, 6, text);
    expect(s, pos, '-', text);
    const int mo = parse_digits(s, pos, 2, 2, text);
    expect(s, pos, '-', text);
    const int d = parse_digits(s, pos, 2, 2, text);
    const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)},
                             day{static_cast<unsigned>(d)}};
    if (!ymd.ok()) throw usage_error("invalid date in '" + text + "'");
    civil_time t = sys_days{ymd};
    if (pos < s.size() && (s[pos] == ' ' || s[pos] == 'T')) {
        ++pos;
        const int hh = parse_digits(s, pos, 2, 2, text);
        expect(s, pos, ':', text);
        const int mi = parse_digits(s, pos, 2, 2, text);
        int ss = 0;
        if (pos < s.size() && s[pos] == ':') {
            ++pos;
            ss = parse_digits(s, pos, 2, 2, text);
        }
        if (pos < s.size() && s[pos] == '.') {
            ++pos;
            parse_digits(s, pos, 1, 9, text);  // fractions never move a value across a boundary
        }
        t += hours{hh} + minutes{mi} + seconds{ss};
    }
    if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
        const int sign = s[pos] == '-' ? -1 : 1;
        ++pos;
        const int oh = parse_digits(s, pos, 2, 2, text);
        int om = 0, os = 0;
        if (pos < s.size() && s[pos] == ':') {
            ++pos;
            om = parse_digits(s, pos, 2, 2, text);
            if (pos < s.size() && s[pos] == ':') {
                ++pos;
                os = parse_digits(s, pos, 2, 2, text);
            }
        }
        // Wall clock = UTC + offset, so UTC = wall clock - offset.
        if (to_utc) t -= seconds{sign * (oh * 3600 + om * 60 + os)};
    }
    if (pos != s.size()) throw usage_error("cannot read the date/time value '" + text + "'");
    return t;
}

std::string format_time(civil_time t, const char* pattern_kind) {
    const sys_days day = floor<days>(t);
    const year_month_day ymd{day};
    const hh_mm_ss<seconds> hms{t - day};
    char buf[64];
    const int y = static_cast<int>(ymd.year());
    const unsigned m = static_cast<unsigned>(ymd.month());
    const unsigned d = static_cast<unsigned>(ymd.day());
    const auto h = static_cast<int>(hms.hours().count());
    const std::string kind = pattern_kind;
    if (kind == "date")
        std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", y, m, d);
    else if (kind == "timestamp")
        std::snprintf(buf, sizeof buf, "%04d-%02u-%02u %02d:%02d:%02d", y, m, d, h,
                      static_cast<int>(hms.minutes().count()),
                      static_cast<int>(hms.seconds().count()));
    else if (kind == "year")
        std::snprintf(buf, sizeof buf, "p%04d", y);
    else if (kind == "month")
        std::snprintf(buf, sizeof buf, "p%04d_%02u", y, m);
    else if (kind == "day")
        std::snprintf(buf, sizeof buf, "p%04d_%02u_%02u", y, m, d);
    else
        std::snprintf(buf, sizeof buf, "p%04d_%02u_%02u_%02d", y, m, d, h);
    return buf;
}

const char* label_kind(interval_unit unit) {
    switch (unit) {
        case interval_unit::year:
            return "year";
        case interval_unit::month:
            return "month";
        case interval_unit::week:
        case interval_unit::day:
            return "day";
        case interval_unit::hour:
            return "hour";
    }
    return "day";
}

// time_frame: what a time RANGE level is planned from (see the header): the first and last
// instants to cover, now, and how bound values are written.
struct time_frame {
    time_interval interval;
    bool utc = false;
    std::string zone;
    std::optional<civil_time> now;
    civil_time first, last;
    key_type type = key_type::timestamp;

    std::string literal(civil_time t) const {
        switch (type) {
            case key_type::date:
                return quote_literal(format_time(t, "date"));
            case key_type::timestamptz:
                return quote_literal(format_time(t, "timestamp") + (utc ? "+00" : " " + zone));
            default:
                return quote_literal(format_time(t, "timestamp"));
        }
    }
};

time_frame read_time_frame(const level_spec& level, key_type type, const level_facts& f) {
    time_frame tf;
    tf.interval = parse_interval(*level.interval);
    tf.type = type;
    if (tf.interval.unit == interval_unit::hour && type == key_type::date)
        throw usage_error("--interval '" + *level.interval + "' is finer than a day, but \"" +
                          level.key + "\" is a date column");
    // Hourly timestamptz partitions are planned in UTC (see the header); everything else in the
    // wall-clock time of the session that produced the facts.
    tf.utc = type == key_type::timestamptz && tf.interval.unit == interval_unit::hour;
    tf.zone = f.timezone.empty() ? std::string("UTC") : f.timezone;
    if (!f.now.empty()) tf.now = parse_time_text(f.now, tf.utc);
    std::optional<civil_time> lo, hi;
    if (f.min) lo = parse_time_text(*f.min, tf.utc);
    if (f.max) hi = parse_time_text(*f.max, tf.utc);
    if (!lo && !tf.now)
        throw usage_error(
            "cannot plan range partitions for an empty table without the server's now()");
    tf.first = lo ? *lo : *tf.now;
    tf.last = hi ? *hi : tf.first;
    if (tf.now && *tf.now > tf.last) tf.last = *tf.now;
    return tf;
}

// walk_time_bounds calls visit(lower, upper) for each partition, in order.
template <typename Visit>
void walk_time_bounds(const time_frame& tf, int premake, Visit visit) {
    civil_time lower = align_down(tf.first, tf.interval);
    int extra = 0;
    std::size_t n = 0;
    while (lower <= tf.last || extra < premake) {
        if (lower > tf.last) ++extra;
        const civil_time upper = advance(lower, tf.interval);
        if (n++ >= max_partitions)
            too_many(to_string(tf.interval) + " from " +
                     format_time(align_down(tf.first, tf.interval), "date"));
        visit(lower, upper);
        lower = upper;
    }
}

std::vector<level_bound> time_bounds(const level_spec& level, key_type type, const level_facts& f) {
    const time_frame tf = read_time_frame(level, type, f);
    std::vector<level_bound> out;
    walk_time_bounds(tf, f.premake, [&](civil_time lower, civil_time upper) {
        out.push_back(
            {format_time(lower, label_kind(tf.interval.unit)),
             "FOR VALUES FROM (" + tf.literal(lower) + ") TO (" + tf.literal(upper) + ")"});
    });
    return out;
}

range_reach time_reach(const level_spec& level, key_type type, const level_facts& f) {
    const time_frame tf = read_time_frame(level, type, f);
    range_reach out;
    std::optional<civil_time> edge;
    if (tf.now) {
        edge = advance(align_down(*tf.now, tf.interval), tf.interval);
        for (int i = 0; i < f.premake; ++i) *edge = advance(*edge, tf.interval);
        out.premake_edge = tf.literal(*edge);
    }
    // The newest row, or nothing when the table is empty (then only premake reaches ahead).
    std::optional<civil_time> newest;
    if (f.max) newest = parse_time_text(*f.max, tf.utc);
    civil_time end = tf.first;
    walk_time_bounds(tf, f.premake, [&](civil_time lower, civil_time upper) {
        end = upper;
        if (edge && newest && lower >= *edge && lower <= *newest) ++out.partitions_for_the_data;
    });
    out.until = tf.literal(end);
    if (tf.now) out.days_left = std::chrono::floor<days>(end - *tf.now).count();
    return out;
}

// ---- integer ranges ----

int128 floor_div128(int128 a, int128 b) {
    int128 q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
    return q;
}

std::string to_string128(int128 v) {
    if (v == 0) return "0";
    const bool negative = v < 0;
    std::string out;
    while (v != 0) {
        const int digit = static_cast<int>(v % 10);
        out += static_cast<char>('0' + (digit < 0 ? -digit : digit));
        v /= 10;
    }
    if (negative) out += '-';
    std::reverse(out.begin(), out.end());
    return out;
}

// parse_number_floor reads integer or numeric server output ("-12", "1234.50") and returns
// floor(value). Values beyond ±10^30 are refused: no int64 bound could hold them anyway.
int128 parse_number_floor(const std::string& text) {
    std::size_t pos = 0;
    const bool negative = !text.empty() && text[0] == '-';
    if (negative || (!text.empty() && text[0] == '+')) ++pos;
    int128 v = 0;
    std::size_t digits = 0;
    for (; pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]));
         ++pos, ++digits) {
        if (digits >= 30)
            throw usage_error("partition key value " + text + " is too large for --step");
        v = v * 10 + (text[pos] - '0');
    }
    bool fraction = false;
    if (pos < text.size() && text[pos] == '.') {
        for (++pos; pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos])); ++pos)
            if (text[pos] != '0') fraction = true;
    }
    if (digits == 0 || pos != text.size())
        throw usage_error("cannot read the partition key value '" + text + "' as a number");
    if (negative) v = -v - (fraction ? 1 : 0);
    return v;
}

std::string number_label(int128 v) {
    return v < 0 ? "pm" + to_string128(-v) : "p" + to_string128(v);
}

std::vector<level_bound> step_bounds(const level_spec& level, key_type type, const level_facts& f) {
    int128 type_min = INT64_MIN, type_max = INT64_MAX;
    if (type == key_type::int16) type_min = INT16_MIN, type_max = INT16_MAX;
    if (type == key_type::int32) type_min = INT32_MIN, type_max = INT32_MAX;
    const bool bounded_type = type != key_type::numeric;

    const int128 step = parse_number_floor(*level.step);
    if (step <= 0) throw usage_error("--step must be positive");
    const int128 lo = f.min ? parse_number_floor(*f.min) : 0;
    const int128 hi = f.max ? parse_number_floor(*f.max) : lo;

    auto literal = [&](int128 v, bool is_lower) -> std::string {
        if (bounded_type && v <= type_min && is_lower) return "MINVALUE";
        if (bounded_type && v > type_max) return "MAXVALUE";
        // numeric keys: bounds must still be int64 so the plan stays representable in JSON and
        // in the job state.
        if (v < INT64_MIN || v > INT64_MAX)
            throw usage_error("partition bound " + to_string128(v) +
                              " overflows a 64-bit integer; "
                              "choose a smaller --step");
        return to_string128(v);
    };

    std::vector<level_bound> out;
    int128 lower = floor_div128(lo, step) * step;
    int extra = 0;
    while (lower <= hi || extra < f.premake) {
        if (lower > hi) ++extra;
        const int128 upper = lower + step;
        if (out.size() >= max_partitions)
            too_many("step " + to_string128(step) + " from " + to_string128(lo) + " to " +
                     to_string128(hi));
        const std::string to = literal(upper, false);
        out.push_back({number_label(lower),
                       "FOR VALUES FROM (" + literal(lower, true) + ") TO (" + to + ")"});
        if (to == "MAXVALUE") break;  // nothing beyond the type's range
        lower = upper;
    }
    return out;
}

// ---- list and hash ----

std::vector<level_bound> list_bounds(const level_spec& level, const level_facts& f) {
    const std::vector<std::string>& values = level.values.empty() ? f.values : level.values;
    if (values.size() > max_partitions) too_many(std::to_string(values.size()) + " list values");
    if (values.empty() && !f.with_default)
        throw usage_error("list partitioning on \"" + level.key +
                          "\": no values (the table is empty); pass --values or allow the "
                          "default partition");
    std::set<std::string> seen;
    std::vector<level_bound> out;
    for (const auto& v : values) {
        if (!seen.insert(v).second) throw usage_error("list value '" + v + "' is given twice");
        // Every value is a quoted literal, whatever the column type: PostgreSQL coerces it to
        // the key's type, and nothing from the data can reach the SQL unquoted.
        out.push_back({label_for_value(v), "FOR VALUES IN (" + quote_literal(v) + ")"});
    }
    return out;
}

std::vector<level_bound> hash_bounds(const level_spec& level) {
    if (level.modulus <= 0) throw usage_error("--modulus must be positive");
    if (static_cast<std::size_t>(level.modulus) > max_partitions)
        too_many("modulus " + std::to_string(level.modulus));
    const int width = static_cast<int>(std::to_string(level.modulus - 1).size());
    std::vector<level_bound> out;
    for (int r = 0; r < level.modulus; ++r) {
        char label[32];
        std::snprintf(label, sizeof label, "h%0*d", width, r);
        out.push_back({label, "FOR VALUES WITH (MODULUS " + std::to_string(level.modulus) +
                                  ", REMAINDER " + std::to_string(r) + ")"});
    }
    return out;
}

}  // namespace

range_reach plan_range_reach(const level_spec& level, key_type type, const level_facts& facts) {
    if (level.method != partition_method::range)
        throw usage_error("the reach of partitions is asked of a range level only");
    if (level.interval) {
        if (!is_time_type(type)) throw usage_error("--interval needs a date or timestamp key");
        return time_reach(level, type, facts);
    }
    if (!level.step) throw usage_error("range partitioning needs --interval or --step");
    range_reach out;
    // --step: the last partition's TO value; numbers have no "now" to measure from.
    const auto bounds = step_bounds(level, type, facts);
    const std::string& last = bounds.back().bound_sql;
    const auto to = last.rfind(" TO (");
    out.until = last.substr(to + 5, last.size() - to - 6);
    return out;
}

std::vector<level_bound> plan_level_bounds(const level_spec& level, key_type type,
                                           const level_facts& facts) {
    std::vector<level_bound> out;
    switch (level.method) {
        case partition_method::range:
            if (level.interval) {
                if (!is_time_type(type))
                    throw usage_error("--interval needs a date or timestamp key");
                out = time_bounds(level, type, facts);
            } else if (level.step) {
                out = step_bounds(level, type, facts);
            } else {
                throw usage_error("range partitioning needs --interval or --step");
            }
            break;
        case partition_method::list:
            out = list_bounds(level, facts);
            break;
        case partition_method::hash:
            return hash_bounds(level);
    }
    if (facts.with_default) out.push_back({"default", "DEFAULT", true});
    return out;
}

}  // namespace partshift::plan
