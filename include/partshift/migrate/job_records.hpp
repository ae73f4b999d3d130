// job_records: the pure rules of a job's rows and tables: the rows a new job inserts (its own
// and a multi-table job's other tables), whether a stored job is the one this run asks for,
// the job's tables as the roles take them, and which indexes each phase builds.
// Must not: talk to the server, touch the spool, or log: callers do the I/O and decide.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "partshift/catalog/table_model.hpp"
#include "partshift/copy/index_builder.hpp"
#include "partshift/migrate/migrator.hpp"
#include "partshift/plan/partition_spec.hpp"
#include "partshift/plan/target_plan.hpp"
#include "partshift/spool/job_marker.hpp"
#include "partshift/state/job_store.hpp"

namespace partshift::migrate {

// serialized_spec: the spec as the job's row keeps it (the comparison of a resumed job).
std::string serialized_spec(const plan::partition_spec& spec);

// new_job_records: the rows of a new job in phase preparing, the job's own first, then a
// multi-table job's other tables (group_position 1, 2, …) sharing its slot, publication and
// spool. `database` names the slot (slots are per cluster, jobs per database); `identity`
// (cluster and database) and the job name the spool directory in --spool-dir.
std::vector<state::job_record> new_job_records(const run_options& options, const job_inputs& inputs,
                                               const std::string& database,
                                               const spool::spool_identity& identity);

// check_same_job throws usage_error unless `job` (stored) is the job these inputs describe:
// not done, the same source table, the same spec.
void check_same_job(const state::job_record& job, const job_inputs& inputs);

// check_same_target_name throws usage_error when this run names the target (--target-name)
// otherwise than the stored job does: its partitioned table exists under the stored name.
void check_same_target_name(const state::job_record& job,
                            const std::optional<std::string>& target_name);

// check_done_job_asked_again: `run` on a job that is done. Throws usage_error naming the job
// and the way out (another --job, or forgetting the finished job's rows) when this run asks
// for another table or other partition options (a finished job's name must not silently
// swallow a new migration), and when the job was reverted (`kept`: the partitioned table the
// revert kept): nothing is left to do under that name. Returns for the same table and spec
// ("already done").
void check_done_job_asked_again(const state::job_record& job, const catalog::qualified_name& table,
                                const plan::partition_spec& spec,
                                const std::optional<catalog::qualified_name>& kept);

// forget_job_sql: the statement that deletes a finished job's rows (its reverse job's and a
// multi-table job's other tables' too), for messages that tell the user how.
std::string forget_job_sql(const std::string& job);

// check_same_members throws usage_error unless the stored group (`group`: the job's rows as
// state::load_group returns them) has the tables and specs of inputs.members, in order.
void check_same_members(const state::job_record& job, const std::vector<state::job_record>& group,
                        const job_inputs& inputs);

// table_ref: one table of the job as the roles need it; job_tables()[0] is the job's own row,
// the others are a multi-table job's (run --spec) rows in job-file order.
struct table_ref {
    std::string job;  // its row in partshift.jobs
    const catalog::table_model* table;
    const plan::target_plan* plan;
    catalog::qualified_name target;  // as the row keeps it (a resumed job's own)
};

// job_tables: the job's tables; `stored_targets` (row → target) wins over the plan's target.
std::vector<table_ref> job_tables(const std::string& job, const job_inputs& inputs,
                                  const std::map<std::string, catalog::qualified_name>& stored);

// indexes_to_build: the plan's indexes in the form the index builder takes. The primary
// key's columns are the source key plus the partition keys (DESIGN.md step 4).
std::vector<copy::index_to_build> indexes_to_build(const catalog::table_model& table,
                                                   const plan::target_plan& plan);

// has_unique_indexes: some table of the job has a secondary UNIQUE index, built during follow.
bool has_unique_indexes(const std::vector<table_ref>& tables);

}  // namespace partshift::migrate
