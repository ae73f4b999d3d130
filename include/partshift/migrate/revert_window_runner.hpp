// revert_window_runner: the revert window after a cutover (issue 10): the reverse job (the
// partitioned table's changes into NAME_old) runs as a job_runner of its own until the
// window's end, `partshift finish`, a revert (its swap back) or a signal; then the window is
// closed (reverse slot, publication and spool gone) unless a signal stopped it. Also the
// window's end without a run (finish_revert_window) and run_revert_window (migrator.hpp).
// Must not: swap (the reverse job's cutover does), or touch the forward job's stream.
#pragma once

#include <string>

#include "partshift/metrics/metrics_exporter.hpp"
#include "partshift/migrate/migrator.hpp"
#include "partshift/pg/connection.hpp"

namespace partshift::migrate {

// revert_window_open: `job` was cut over with a window that is still open.
bool revert_window_open(pg::connection& conn, const std::string& job);

// follow_revert_window: follows the open window of `job`; the exit code. A reverse stream
// stopped by a row NAME_old refuses breaks the window (state broken, its slot dropped) and
// throws runtime_error saying so.
int follow_revert_window(const run_options& base, const std::string& job,
                         metrics::metrics_exporter* exporter);

// window_not_open: the one line for a window that is not open (any more): already reverted,
// already closed, or none.
std::string window_not_open(pg::connection& conn, const std::string& job);

}  // namespace partshift::migrate
