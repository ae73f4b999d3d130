// partshift run: plan, then run or resume the job (copy ‖ stream → index → replay → follow).
// Wiring only: options (run_options_reader) → plan pipeline → migrator. The table is resolved
// once, here, and named by the one job-name rule (job_name.hpp).
#include <spdlog/spdlog.h>

#include "partshift/catalog/table_name.hpp"
#include "partshift/cli/commands.hpp"
#include "partshift/cli/job_file.hpp"
#include "partshift/cli/job_name.hpp"
#include "partshift/cli/option_parsing.hpp"
#include "partshift/cli/plan_pipeline.hpp"
#include "partshift/cli/run_options_reader.hpp"
#include "partshift/error.hpp"
#include "partshift/hooks/hook_runner.hpp"
#include "partshift/migrate/job_records.hpp"
#include "partshift/migrate/migrator.hpp"
#include "partshift/partman/partman_handoff.hpp"
#include "partshift/plan/revert_window_check.hpp"
#include "partshift/state/job_store.hpp"
#include "partshift/state/revert_window.hpp"
#include "partshift/throttle/throttler.hpp"

namespace partshift::cli {
namespace {

// run_group: run --spec, a multi-table job: every table planned, then one job for them all.
int run_group(pg::connection& conn, const job_file& file,
              const std::vector<catalog::qualified_name>& tables, run_request& request) {
    auto& run = request.run;
    auto planned = plan_group_migration(conn, file, tables, run.job, request.accepted);
    for (const auto& m : planned.members)
        if (m.table.relkind == 'p')
            throw usage_error("--spec takes plain tables; " + catalog::qualified(m.table.name) +
                              " is partitioned: re-partition it in a job of its own (--table)");
    if (file.tables.front().old_name) run.old_name = *file.tables.front().old_name;
    auto& first = planned.members.front();
    migrate::job_inputs inputs{std::move(first.table), std::move(first.plan),
                               std::move(first.checks)};
    for (size_t i = 1; i < planned.members.size(); ++i) {
        auto& m = planned.members[i];
        inputs.members.push_back({std::move(m.table), std::move(m.plan), std::move(m.checks),
                                  file.tables[i].old_name.value_or("")});
    }
    inputs.group = std::move(planned.group);
    return migrate::run_job(run, inputs);
}

// run_table: run --table: the one table planned, then its job.
int run_table(pg::connection& conn, const catalog::qualified_name& table,
              const run_request& request) {
    const auto& run = request.run;
    auto planned = plan_migration(conn, table, request.spec, request.names, request.accepted);
    // Before anything is made, and before the plan's lines: its one line is all stderr holds.
    if (run.revert_window)
        if (auto refusal = plan::revert_window_refusal(planned.table, request.spec))
            throw usage_error(*refusal);
    // Until when the new table takes rows (plan shows the same); the run logs it once the job
    // is prepared or resumed, after every check that could refuse it.
    auto coverage = plan::add_coverage_lines(planned.plan, run.partman);
    if (run.revert_window && planned.table.relkind == 'p')
        throw usage_error(
            "--revert-window is not available when re-partitioning a partitioned "
            "table; cut over without it (the old tree is kept as " +
            (run.old_name.empty() ? std::string("NAME_old") : run.old_name) + ")");
    if (run.partman) {
        // Checked on every run, a resumed one too: the registration comes after the cutover,
        // when refusing would be too late.
        auto check = partman::partman_preflight(
            partman::find_partman(conn), planned.plan.source.schema, planned.plan.final_name);
        if (!check.ok) throw preflight_error("preflight failed: " + check.message);
    }
    migrate::job_inputs inputs{std::move(planned.table), std::move(planned.plan),
                               std::move(planned.checks)};
    inputs.coverage = std::move(coverage);
    return migrate::run_job(run, inputs);
}

// finish_done_job: a job already cut over: the table is partitioned now and cannot be planned
// again. A rerun after a crash during the cutover finishes its last steps here; with a revert
// window open, it follows the window again from its checkpoint. nullopt: not done. `table` and
// `asked`: the (first) table and spec this run was given.
std::optional<int> finish_done_job(pg::connection& conn, const migrate::run_options& run,
                                   const catalog::qualified_name& table,
                                   const plan::partition_spec& asked) {
    auto job = state::load_job(conn, run.job);
    if (!job || job->phase != state::phase::done) return std::nullopt;
    // Only the same table with the same options is "already done"; anything else was a new
    // migration asked for under a finished job's name (issue 20 item 3).
    std::optional<catalog::qualified_name> kept;
    if (auto reverse = state::load_job(conn, state::reverse_job_name(run.job)))
        kept = catalog::qualified_name{reverse->source_schema, reverse->old_name};
    const bool reverted = job->revert_state == std::string(state::revert_state::reverted);
    if (!reverted) migrate::check_done_job_asked_again(*job, table, asked, kept);
    const int code = migrate::finish_cut_over_job(run.dsn, run.job, run.partman);
    // A reverted job: its leftovers are finished above; then there is nothing to do, so say
    // how to try again rather than exit 0 having done nothing.
    if (reverted) migrate::check_done_job_asked_again(*job, table, asked, kept);
    if (job->revert_state == std::string(state::revert_state::open))
        return migrate::run_revert_window(run, run.job);
    if (run.revert_window && !job->revert_state)
        spdlog::warn(
            "job {} was cut over without a revert window; --revert-window applies "
            "only to a cutover still to come",
            run.job);
    return code;
}

}  // namespace

int command_run(const arguments& args) {
    const auto vm = parse_command("run", args);
    if (!vm) return 0;
    auto request = read_run_options(*vm);
    if (!request.run.hooks_dir.empty()) hooks::check_hooks_dir(request.run.hooks_dir);
    const auto file =
        request.spec_file ? std::optional(read_job_file(*request.spec_file)) : std::nullopt;
    auto conn = connect(request.run.dsn);
    // Once here, so a typo is bad input rather than a copy that waits forever.
    if (request.run.throttle.throttle_query)
        throttle::check_throttle_query(conn, *request.run.throttle.throttle_query);
    const auto tables = file ? resolve_job_tables(conn, *file)
                             : std::vector{catalog::resolve_table_name(conn, *request.table)};
    request.run.job = job_name(request.job, file ? file->job : std::nullopt, tables.front());
    const auto& asked = file ? file->tables.front().spec : request.spec;
    if (auto code = finish_done_job(conn, request.run, tables.front(), asked)) return *code;
    if (file) return run_group(conn, *file, tables, request);
    return run_table(conn, tables.front(), request);
}

}  // namespace partshift::cli
