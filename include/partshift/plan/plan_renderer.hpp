// plan_renderer: a target_plan as text — an executable psql script for `plan`, the ordered
// statement list `run` executes, and JSON for `plan --json`. Pure formatting: must not change
// or re-derive the plan, and must not execute anything.
#pragma once

#include <string>
#include <vector>

#include "partshift/plan/group_plan.hpp"
#include "partshift/plan/preflight_check.hpp"
#include "partshift/plan/target_plan.hpp"

namespace partshift::plan {

// sql_statements: every statement that creates the target, in executable order: CREATE TABLE,
// partitions (parents first), constraint_sql (column settings, CHECKs, FKs, comments), then
// indexes and their comments when with_indexes (run's prepare phase builds indexes later).
std::vector<std::string> sql_statements(const target_plan& plan, bool with_indexes = true);

// render_sql: a psql script — a header, preflight results ("-- preflight ok: ..." /
// "-- PREFLIGHT FAILED: ..."), warnings ("-- WARNING: ...") and notes ("-- NOTE: ..."), then the
// statements between BEGIN; and COMMIT;. Line breaks inside messages are flattened so no text
// can leave its comment.
std::string render_sql(const target_plan& plan, const std::vector<preflight_check>& checks = {});

// render_json: the plan as a partshift.proto.target_plan message in JSON (proto field names).
std::string render_json(const target_plan& plan, const std::vector<preflight_check>& checks = {});

// render_group_sql / render_group_json: a multi-table job's plan (run --spec): every table's
// plan as above, then the foreign keys between their partitioned tables.
std::string render_group_sql(const std::string& job, const std::vector<group_member>& members,
                             const group_plan& group);
std::string render_group_json(const std::string& job, const std::vector<group_member>& members,
                              const group_plan& group);

}  // namespace partshift::plan
