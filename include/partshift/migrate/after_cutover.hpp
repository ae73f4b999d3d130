// after_cutover: the steps after the run's loop: a committed swap is finished (slot,
// publication and spool dropped, the summary, run --partman's registration, the
// after-cutover hook); a cutover that gave up every attempt answers `partshift cutover`'s
// request (no) and ends with exit 4; anything else was a stop, resumed by the next run. Also
// finish_cut_over_job (migrator.hpp): the same steps for a run that died after its swap.
// Must not: swap or revert (the cutover did), or run while the run's loop runs.
#pragma once

#include "partshift/base/progress.hpp"
#include "partshift/migrate/control_session.hpp"
#include "partshift/migrate/job_hooks.hpp"
#include "partshift/migrate/migrator.hpp"
#include "partshift/migrate/run_context.hpp"
#include "partshift/state/job_store.hpp"

namespace partshift::migrate {

// finish_run returns the run's exit code (0), or throws cutover_error (exit 4).
int finish_run(const run_options& options, control_session& control, const job_hooks& hooks,
               const state::job_record& job, const base::progress& progress,
               const cutover_report& cutover);

}  // namespace partshift::migrate
