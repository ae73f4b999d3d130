// partition_spec: the partitioning the user asked for (DESIGN.md §5 PARTITION-OPTIONS), as
// parsed from the command line and stored with a job. Plain data; validated by
// validate_spec() against the table model (plan/spec_validation).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace partshift::plan {

enum class partition_method { range, list, hash };

// method_name: "range", "list" or "hash", as the options and the stored spec spell it.
inline const char* method_name(partition_method m) {
    switch (m) {
        case partition_method::range:
            return "range";
        case partition_method::list:
            return "list";
        case partition_method::hash:
            return "hash";
    }
    return "?";
}

// method_from_name: the inverse; nullopt for anything else.
inline std::optional<partition_method> method_from_name(std::string_view name) {
    for (auto m : {partition_method::range, partition_method::list, partition_method::hash})
        if (name == method_name(m)) return m;
    return std::nullopt;
}

// level_spec: one level of partitioning.
struct level_spec {
    partition_method method = partition_method::range;
    std::string key;                      // column name as stored in the catalog (unquoted)
    std::optional<std::string> interval;  // range on date/time: a PostgreSQL interval, "1 month"
    std::optional<std::string> step;      // range on numbers: "1000000"
    std::vector<std::string> values;      // list: explicit values (empty = discover from data)
    int modulus = 0;                      // hash
};

// default_premake: range partitions planned after the one that holds now (or the data's
// newest row) when --premake is not given — pg_partman's default premake, so a new table does
// not run out of partitions within the first interval.
inline constexpr int default_premake = 4;

struct partition_spec {
    level_spec level1;
    std::optional<level_spec> level2;
    int premake = 0;  // future range partitions beyond the data
    // default_partition: nullopt = the planner's choice (LIST gets one, RANGE/HASH do not).
    std::optional<bool> default_partition;
};

}  // namespace partshift::plan
