// job_preparation: the steps before the run's loop. Prepare: a new job's rows, target tables,
// the foreign keys between a multi-table job's tables, the recorded partition tree,
// publication, slot and spool (a failed prepare leaves nothing behind; one interrupted is
// started over); a resumed job is checked to be the same job. Before every run (resumed or
// not): the spool belongs to the job and covers what the slot acknowledged, the slot is not
// lost, and the live controls (partshift set / pause) are settled.
// Must not: run on the event loop (it blocks), copy, stream or apply.
#pragma once

#include <vector>

#include "partshift/base/progress.hpp"
#include "partshift/migrate/control_session.hpp"
#include "partshift/migrate/job_records.hpp"
#include "partshift/migrate/migrator.hpp"
#include "partshift/spool/spool_writer.hpp"
#include "partshift/state/job_store.hpp"

namespace partshift::migrate {

// load_or_prepare: the job's row, prepared now if there is none (preflight first).
state::job_record load_or_prepare(const run_options& options, const job_inputs& inputs,
                                  const std::vector<table_ref>& tables, control_session& control);

// check_spool_belongs_to_job: the job's spool is where its row says, and its marker names
// this job on this cluster and database (an earlier version's marker is adopted), under a
// root only this user or root can change; first. Throws runtime_error / preflight_error.
void check_spool_belongs_to_job(const state::job_record& job, control_session& control);

// check_resumable: refuses a run whose spool or slot cannot give back what the slot
// acknowledged (runtime_error with the way out).
void check_resumable(const state::job_record& job, const spool::spool_writer& writer,
                     control_session& control);

// settle_controls: the live controls of this run into `progress` (the row's live figures
// reset), then the slot is checked not lost; returns the copy workers in effect.
int settle_controls(const run_options& options, const state::job_record& job,
                    base::progress& progress, control_session& control);

}  // namespace partshift::migrate
