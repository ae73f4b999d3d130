// plan_pipeline: the steps `plan` shows and `run` executes first — resolve the table name,
// inspect the table, validate the spec, gather data facts, make the plan, run preflight — in one
// read-only REPEATABLE READ transaction, so every step sees the same snapshot. Wiring only: the
// work is done by catalog:: and plan::.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "partshift/catalog/table_model.hpp"
#include "partshift/cli/job_file.hpp"
#include "partshift/pg/connection.hpp"
#include "partshift/plan/group_plan.hpp"
#include "partshift/plan/partition_spec.hpp"
#include "partshift/plan/planner.hpp"
#include "partshift/plan/preflight.hpp"
#include "partshift/plan/preflight_check.hpp"
#include "partshift/plan/size_estimate.hpp"
#include "partshift/plan/target_plan.hpp"

namespace partshift::cli {

struct planned_migration {
    catalog::table_model table;
    plan::data_facts facts;
    plan::target_plan plan;
    std::vector<plan::preflight_check> checks;
    plan::size_estimate estimate;  // disk and WAL (`plan` shows it)
};

// connect opens the connection for a command; a failure becomes a one-line runtime_error
// ("cannot connect to the database: ...", exit 1).
pg::connection connect(const std::string& dsn);

// plan_migration runs the pipeline for a table resolved once by the command
// (catalog::resolve_table_name). Throws usage_error (exit 2) for a spec that does not fit the
// table; preflight failures are returned in `checks`, not thrown. accepted: what the user
// accepted on the command line (--drop-unrepointable-fks, --trust-table-owner); preflight
// then passes or only warns about it.
planned_migration plan_migration(pg::connection& conn, const catalog::qualified_name& table,
                                 const plan::partition_spec& spec, const plan::plan_names& names,
                                 const plan::preflight_options& accepted = {});

// plan_migration for a table as SQL writes it: resolved, then planned (usage_error for a bad
// or unknown name).
planned_migration plan_migration(pg::connection& conn, const std::string& table_text,
                                 const plan::partition_spec& spec, const plan::plan_names& names,
                                 const plan::preflight_options& accepted = {});

// resolve_job_tables: the tables of a job file, resolved once, in file order.
std::vector<catalog::qualified_name> resolve_job_tables(pg::connection& conn, const job_file& file);

// planned_group: a multi-table job's tables (run --spec), each planned by plan_migration,
// then adjusted for the foreign keys between them (plan::plan_group).
struct planned_group {
    std::string job;
    std::vector<plan::group_member> members;  // in job-file order
    plan::group_plan group;
};

// plan_group_migration plans every table of the job file (`tables`: resolve_job_tables's)
// as job `job` (job_name.hpp). Throws like plan_migration.
planned_group plan_group_migration(pg::connection& conn, const job_file& file,
                                   const std::vector<catalog::qualified_name>& tables,
                                   const std::string& job,
                                   const plan::preflight_options& accepted = {});

}  // namespace partshift::cli
