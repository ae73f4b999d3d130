// swap_wait: what `partshift cutover` and `partshift revert` do to have a running process
// swap: find the run the request goes to (registered in the job's row, not a dry run), record
// the request for that run alone, wait for the outcome in the job's row and say it; SIGINT or
// SIGTERM while waiting withdraws the request unless the run has taken it already.
// Must not: swap or lock anything itself.
#pragma once

#include <string>

#include "partshift/pg/connection.hpp"

namespace partshift::cli {

// running_swap_run: the run id of the process running `job` now, once it has registered
// (a run still preparing is waited for). Throws runtime_error when no run holds the job
// (`no_run_hint` says how to start one), usage_error when it is a dry run (`what`: "cutover").
std::string running_swap_run(pg::connection& conn, const std::string& job, const std::string& what,
                             const std::string& no_run_hint);

// request_swap records the request for run `run_id` (throws runtime_error when that run ended
// or was replaced meanwhile), says `requested` on stderr, and unless `no_wait` waits for the
// outcome: polls the row of `job` (the job for a cutover, the reverse job for a revert) until
// its phase is 'done' with a summary (prints `done_word`: summary, returns 0), or until run
// `run_id` no longer runs it (throws cutover_error: exit 4, nothing swapped). SIGINT or SIGTERM
// from before the request is recorded withdraws it (cutover_error) unless the run took it:
// then it waits for the outcome.
int request_swap(pg::connection& conn, const std::string& job, const std::string& run_id,
                 const std::string& requested, bool no_wait, const std::string& done_word);

}  // namespace partshift::cli
