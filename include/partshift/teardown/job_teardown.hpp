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

// remove_server_objects drops the slot, publication and target (used by abort and by a
// restart of an interrupted prepare).
void remove_server_objects(pg::connection& conn, const state::job_record& job);

}  // namespace partshift::teardown
