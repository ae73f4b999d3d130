// bounds: the partitions of one partitioning level — their FOR VALUES clauses and name labels —
// computed from the level spec, the key column's type and facts about the data (min/max,
// distinct values, now). Pure: text in, text out; partition names are finished by the planner.
// Must not quote identifiers or know the table: bound values are rendered as literals only.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "partshift/plan/partition_spec.hpp"
#include "partshift/plan/spec_validation.hpp"

namespace partshift::plan {

// max_partitions: plans above this many partitions (all levels together) are refused; planning
// time, locks at cutover and catalog bloat grow with it.
inline constexpr std::size_t max_partitions = 10000;

// level_bound: one partition of one level.
struct level_bound {
    std::string label;      // name part: "p2025_01", "pm1000", "h03", "mathematics", "default"
    std::string bound_sql;  // "FOR VALUES FROM ('2025-01-01') TO ('2025-02-01')", "DEFAULT", ...
    bool is_default = false;
};

// level_facts: the data facts for one level (data_facts is per level 1/2) plus plan settings.
struct level_facts {
    std::optional<std::string> min;  // server text output of min(key); nullopt: empty table
    std::optional<std::string> max;
    std::vector<std::string> values;  // distinct key values, for LIST without explicit values
    std::string now;                  // now() as text (timestamptz output, ISO DateStyle)
    std::string timezone;             // zone name written into timestamptz bounds
    int premake = 0;
    bool with_default = false;  // add a DEFAULT partition (never for HASH)
};

// plan_level_bounds computes the partitions of one level, DEFAULT last. Throws usage_error for
// values it cannot plan (infinity, BC dates, out-of-range integers, more than max_partitions,
// duplicate list values, an empty list).
//  RANGE with --interval: aligned boundaries (time_interval::align_down) from min to
//    max(max, now), then `premake` more; an empty table starts at now. Bounds are rendered
//    'YYYY-MM-DD' (date), 'YYYY-MM-DD HH:MM:SS' (timestamp) or 'YYYY-MM-DD HH:MM:SS ZONE'
//    (timestamptz), except hourly timestamptz partitions, which are aligned in UTC and written
//    with '+00' so daylight-saving transitions cannot create empty or overlapping ranges.
//  RANGE with --step: multiples of step from floor(min) to max, then `premake` more; bounds
//    beyond the column type's range become MINVALUE / MAXVALUE. An empty table starts at 0.
//  LIST: one partition per value; HASH: one per remainder.
std::vector<level_bound> plan_level_bounds(const level_spec& level, key_type type,
                                           const level_facts& facts);

// range_reach: how far a RANGE level's partitions (as plan_level_bounds plans them) reach.
struct range_reach {
    // until: the last partition's upper bound as its FOR VALUES clause writes it
    // ("'2027-05-01'", "40000", "MAXVALUE"): rows with a key at or past it have no partition
    // (but a DEFAULT one).
    std::string until;
    // Time keys with a known now: whole days from now to `until`, and how many partitions
    // begin at or after premake_edge and not after the newest row: made only because the data
    // reaches that far ahead.
    std::optional<int64_t> days_left;
    int partitions_for_the_data = 0;
    // premake_edge: the upper bound (literal) of the last partition premake plans after now's;
    // partitions beyond it are there only because the data reaches past it. Time keys only.
    std::optional<std::string> premake_edge;
};

// plan_range_reach: the reach of a RANGE level (--interval or --step); same inputs and
// errors as plan_level_bounds.
range_reach plan_range_reach(const level_spec& level, key_type type, const level_facts& facts);

}  // namespace partshift::plan
