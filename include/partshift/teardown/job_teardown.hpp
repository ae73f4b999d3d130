// job_teardown: removes everything a job created — slot, publication, target table, spool and
// job state — leaving the source exactly as it was (invariant 4). Every step is idempotent,
// so an interrupted abort can simply be run again.
#pragma once

#include <string>

#include "partshift/pg/connection.hpp"
#include "partshift/state/job_store.hpp"

namespace partshift::teardown {

// abort_job refuses (runtime_error) when a run is active or the job was already cut over.
void abort_job(pg::connection& conn, const state::job_record& job);

// remove_server_objects drops the slot, publication and target, and a multi-table job's
// other targets (used by abort and by a restart of an interrupted prepare).
void remove_server_objects(pg::connection& conn, const state::job_record& job);

// drop_reverse_stream removes a revert window's reverse slot (ending a walsender still on it:
// only the job's own run holds it), publication and spool, where they exist. For a cutover
// that did not happen after all, an abort, a cutover without a window after a run that had
// prepared one, and the window's end.
void drop_reverse_stream(pg::connection& conn, const state::job_record& reverse);

// reverse_stream_of: the reverse job's names for `job` (its slot, publication and spool),
// whether or not a window was opened.
state::job_record reverse_stream_of(pg::connection& conn, const state::job_record& job);

}  // namespace partshift::teardown
