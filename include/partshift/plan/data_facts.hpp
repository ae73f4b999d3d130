// data_facts: gathers what the planner needs to know about the data for a partition spec
// (plan::data_facts): min/max of RANGE keys, the distinct values of LIST keys given without
// --values, the server's now() and TimeZone. Read-only queries; never changes anything.
// In plan/ beside preflight's read_server_facts: catalog/ reads tables and knows no plan.
#pragma once

#include <cstddef>

#include "partshift/catalog/table_model.hpp"
#include "partshift/pg/connection.hpp"
#include "partshift/plan/partition_spec.hpp"
#include "partshift/plan/target_plan.hpp"

namespace partshift::plan {

// max_discovered_values: a LIST level without --values gets one partition per distinct value;
// beyond this many the plan would be unmanageable, and HASH or an explicit list fits better.
inline constexpr std::size_t max_discovered_values = 1000;

// gather_data_facts reads the facts for every level of `spec` from `table`. Values are the
// server's text output, so the caller should have set DateStyle to ISO on the session (the
// planner parses ISO timestamps). Throws usage_error when a LIST key has more than
// max_discovered_values distinct values (suggesting --values or hash).
data_facts gather_data_facts(pg::connection& conn, const catalog::table_model& table,
                             const partition_spec& spec);

// check_explicit_values: every --values/--subvalues item and every --step/--substep must be a
// value of its key column's type, or `plan` prints a script that fails when applied and `run`
// fails after creating objects. The server's own input function decides (domain constraints
// included), so '01' passes for an integer and 'x' does not. Throws usage_error naming the
// option and the value. A failed cast aborts the caller's transaction, which is then only fit
// for rolling back: call it inside the plan's read-only transaction.
void check_explicit_values(pg::connection& conn, const catalog::table_model& table,
                           const partition_spec& spec);

}  // namespace partshift::plan
