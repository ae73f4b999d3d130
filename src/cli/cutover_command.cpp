// partshift cutover: asks the running process of a job (started with --postpone-cutover) to cut
// over now, then waits for the outcome. Wiring only: the running process does the cutover.
#include <iostream>

#include "partshift/catalog/inspector.hpp"
#include "partshift/cli/commands.hpp"
#include "partshift/cli/common_options.hpp"
#include "partshift/cli/option_parsing.hpp"
#include "partshift/cli/plan_pipeline.hpp"
#include "partshift/cli/run_options_reader.hpp"
#include "partshift/cli/swap_wait.hpp"
#include "partshift/cutover/swap_catalog.hpp"
#include "partshift/error.hpp"
#include "partshift/monitor/human_units.hpp"
#include "partshift/plan/revert_window_check.hpp"
#include "partshift/state/cutover_request.hpp"
#include "partshift/state/job_controls.hpp"
#include "partshift/state/job_spec_codec.hpp"
#include "partshift/state/job_store.hpp"
#include "partshift/state/revert_window.hpp"
#include "partshift/state/run_lock.hpp"
#include "partshift/state/setting_sources.hpp"

namespace partshift::cli {

int command_cutover(const arguments& args) {
    const auto parsed = parse_command("cutover", args);
    if (!parsed) return 0;
    const auto& vm = *parsed;
    auto conn = connect(optional_string(vm, "dsn").value_or(""));
    auto name = resolve_whole_job(conn, optional_string(vm, "job"));
    auto job = state::load_job(conn, name);
    if (!job) throw usage_error("no partshift job named " + name);
    if (job->phase == state::phase::done)
        throw usage_error("job " + name + " was already cut over");
    // The request goes to the run that holds the job now, and to that run alone: a dry run
    // is refused, and a request that run does not carry out ends with it.
    const auto run_id = running_swap_run(
        conn, name, "cutover",
        "start one ('partshift run ... --postpone-cutover' follows until asked; without it, run "
        "cuts over by itself)");
    if (auto ms = read_revert_window(vm)) {
        if (job->is_group_lead())
            throw usage_error("--revert-window is not available for a multi-table job");
        if (cutover::relkind_of(conn, {job->source_schema, job->source_table}) == 'p')
            throw usage_error(
                "--revert-window is not available when re-partitioning a "
                "partitioned table; cut over without it");
        // The same precondition as run --revert-window, judged on the table as it is now.
        proto::job_spec stored;
        stored.ParseFromString(job->spec);
        const auto table = catalog::inspect_table(conn, {job->source_schema, job->source_table},
                                                  catalog::row_estimate::catalog_only);
        if (auto refusal = plan::revert_window_refusal(table, state::from_proto(stored)))
            throw usage_error(*refusal);
        state::upgrade_schema(conn);
        state::set_revert_window(conn, name, *ms);
        // What status shows of the window: this one, given now, not the run's.
        state::record_cutover_revert_window(
            conn, name, monitor::human_duration(static_cast<double>(ms->count()) / 1000.0));
    }
    return request_swap(conn, name, run_id,
                        "cutover of job " + name + " requested from the run (" +
                            state::registered_run(conn, name)->holder + ")",
                        flag(vm, "no-wait"), "cut over");
}

}  // namespace partshift::cli
