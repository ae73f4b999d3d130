// partshift abort: drop everything a job created. Wiring only.
#include "partshift/cli/commands.hpp"
#include "partshift/cli/common_options.hpp"
#include "partshift/cli/option_parsing.hpp"
#include "partshift/cli/plan_pipeline.hpp"
#include "partshift/error.hpp"
#include "partshift/state/run_lock.hpp"
#include "partshift/teardown/job_teardown.hpp"

namespace partshift::cli {

int command_abort(const arguments& args) {
    const auto parsed = parse_command("abort", args);
    if (!parsed) return 0;
    const auto& vm = *parsed;
    auto conn = connect(optional_string(vm, "dsn").value_or(""));
    auto job_name = resolve_job(conn, optional_string(vm, "job"));
    auto job = state::load_job(conn, job_name);
    if (!job) throw usage_error("no partshift job named " + job_name);
    // Held until abort ends: no run can start while its job is being removed.
    state::acquire_run_lock(conn, job_name);
    teardown::abort_job(conn, *job);
    return 0;
}

}  // namespace partshift::cli
