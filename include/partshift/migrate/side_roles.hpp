// side_roles: the roles a run starts beside the phase script, in its task group: the status
// updates (job monitor), and those only some runs have: the partition watch (re-partitioning),
// the origin watch (origin filter), the schema watch (not for a reverse job), the metrics and
// the status hooks. Status, metrics and status hooks are best effort: their failure ends only
// themselves; a watch's failure stops the run.
// Must not: start the streamer, the throttler or the script (job_runner::run_phases does), or
// decide anything about the job.
#pragma once

#include "partshift/migrate/run_context.hpp"
#include "partshift/state/job_store.hpp"

namespace partshift::migrate {

// start_side_roles spawns them in ctx.tasks. On the loop's thread, before it runs.
void start_side_roles(run_context& ctx, const state::job_record& job);

}  // namespace partshift::migrate
