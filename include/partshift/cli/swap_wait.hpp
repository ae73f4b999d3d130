// swap_wait: what `partshift cutover` and `partshift revert` do after asking a running process
// to swap: wait for the outcome in the job's row, and say it.
#pragma once

#include <string>

#include "partshift/pg/connection.hpp"

namespace partshift::cli {

// wait_for_swap polls the row of `job` (the job for a cutover, the reverse job for a revert)
// until its phase is 'done' with a summary (prints `done_word`: summary, returns 0), or until no
// process holds its run lock any more (throws cutover_error: exit 4, nothing swapped).
int wait_for_swap(pg::connection& conn, const std::string& job, const std::string& done_word);

}  // namespace partshift::cli
