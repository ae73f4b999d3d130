// after_swap: what follows a committed swap (DESIGN.md §1 step 8): validate re-pointed
// foreign keys, drop the slot and the publication, remove the spool, keep NAME_old, and
// write the summary the user reads. Idempotent, so a rerun after a crash right after the
// commit finishes the same steps.
// Must not: touch either table's data.
#pragma once

#include <string>

#include "partshift/cutover/table_swap.hpp"
#include "partshift/pg/connection.hpp"
#include "partshift/state/job_store.hpp"

namespace partshift::cutover {

struct swap_figures {
    int attempts = 0;
    double lock_hold_ms = 0;
    double tail_apply_ms = 0;
    double lag_seconds = 0;  // when the gate opened
};

// finish_after_swap runs the after-commit steps of `outcome` (nullptr after a crash: then the
// ones the swap saved in the job row with its commit), removes the job's
// replication objects and spool, records the figures, and returns the summary text.
std::string finish_after_swap(pg::connection& conn, const state::job_record& job,
                              const swap_outcome* outcome, const swap_figures& figures);

}  // namespace partshift::cutover
