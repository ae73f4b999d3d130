// planner: make_plan() turns (table model, partition spec, data facts, names) into the target
// plan — CREATE TABLE for the partitioned parent, its partitions, indexes, constraints, comments,
// and the warnings and notes a user must read before migrating. Pure function: no I/O, no
// clock (now comes in data_facts); the same inputs always give the same plan.
#pragma once

#include <optional>
#include <string>

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

}  // namespace partshift::plan
