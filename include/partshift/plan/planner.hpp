// planner: make_plan() turns (table model, partition spec, data facts, names) into the target
// plan — CREATE TABLE for the partitioned parent, its partitions, indexes, constraints, comments,
// and the warnings and notes a user must read before migrating. Pure function: no I/O, no
// clock (now comes in data_facts); the same inputs always give the same plan.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "partshift/catalog/table_model.hpp"
#include "partshift/plan/partition_spec.hpp"
#include "partshift/plan/target_plan.hpp"

namespace partshift::plan {

// plan_names: --target-name and the name after cutover.
struct plan_names {
    std::optional<std::string> target_name;  // default: NAME_new (fitted to 63 bytes)
    std::optional<std::string> final_name;   // default: the source's name
};

// default_target_name: "NAME_new", cut with a hash when NAME is long.
std::string default_target_name(const std::string& source_name);

// make_plan validates the spec against the table (usage_error on mismatch) and plans the
// target in the source's schema.
target_plan make_plan(const catalog::table_model& table, const partition_spec& spec,
                      const data_facts& facts, const plan_names& names = {});

// stray_partitions: a time RANGE plan that makes more than this many partitions beyond
// premake's for the data's newest rows gets a warning naming the newest value (a stray
// far-future row); a year of monthly partitions ahead is not flagged.
inline constexpr int stray_partitions = 12;

// short_coverage_days: a plan whose RANGE partitions end sooner than this after now is warned
// about (no DEFAULT partition, no pg_partman to make more).
inline constexpr int64_t short_coverage_days = 31;

// add_coverage_lines: adds to the plan the note saying until when the new table takes rows, the
// warning when that is under short_coverage_days away with neither a DEFAULT partition nor
// pg_partman (`partman`: run/plan --partman) to make more, and the stray-row warning. Returns
// what it added (run logs it). Nothing for plans without a RANGE level.
struct coverage_lines {
    std::string note;
    std::vector<std::string> warnings;
};
coverage_lines add_coverage_lines(target_plan& plan, bool partman);

}  // namespace partshift::plan
