// reverse_stream: sets up the reverse direction of a revert window (issue 10) just before the
// cutover's first attempt: a publication of the partitioned target that publishes through its
// root (so changes arrive as NAME, whatever partition holds the row), a slot, and the spool
// with its marker. The slot must exist before the swap (it cannot be created inside the swap's
// transaction, and it must see the swap's commit); the reverse job's row, with the swap's
// position, is written by the swap itself (state::open_revert_window).
// Must not: write job state.
#pragma once

#include <chrono>
#include <string>

#include "partshift/pg/connection.hpp"
#include "partshift/state/job_store.hpp"

namespace partshift::migrate {

// prepare_reverse_stream replaces stale leftovers (a run that died before its swap), creates
// the publication, the slot and the spool, and returns the reverse job's row to insert at the
// swap. Blocking (runs on the cutover thread).
state::job_record prepare_reverse_stream(const std::string& dsn, pg::connection& conn,
                                         const state::job_record& job,
                                         std::chrono::seconds slot_timeout);

// empty_spec_bytes: the serialized spec a reverse job carries (it partitions nothing).
std::string empty_spec_bytes();

}  // namespace partshift::migrate
