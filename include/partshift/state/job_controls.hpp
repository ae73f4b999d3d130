// job_controls: the live settings of a job kept in its partshift.jobs row: copy paused, the
// --max-copy-rate ceiling, the cutover gate's --max-lag, the copy workers, the apply lanes and
// the --catch-up-pace. `partshift pause|resume|set`
// write them from any shell; the running job reads them once a second (job_monitor); a new
// run starts from them, except where its own flags say otherwise.
// Must not hold any other job state (job_store does).
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "partshift/pg/connection.hpp"

namespace partshift::state {

struct run_controls {
    bool copy_paused = false;
    double max_copy_rate = 0;  // rows/s; 0 = no ceiling
    std::chrono::milliseconds max_lag{1000};
    int copy_workers = 2;
    int apply_workers = 1;
    int catch_up_pace = 100;  // percent; 100 = full speed
};

// upgrade_schema adds the columns newer versions keep in partshift.jobs to a schema an older
// version created; nothing when they are there (or when there is no schema yet).
void upgrade_schema(pg::connection& conn);

// settle_run_controls, at the start of a run: a flag given on the command line replaces what
// the row holds (it was set by an earlier run or by `partshift set`), the others keep it;
// `default_max_lag` applies when neither says. Records `throttle_limits` (for status) and
// returns what is in effect.
run_controls settle_run_controls(
    pg::connection& conn, const std::string& job, std::optional<double> max_copy_rate,
    std::optional<std::chrono::milliseconds> max_lag, std::chrono::milliseconds default_max_lag,
    const std::string& throttle_limits, std::optional<int> copy_workers = std::nullopt,
    int default_copy_workers = 2, std::optional<int> apply_workers = std::nullopt,
    std::optional<int> catch_up_pace = std::nullopt);

// The control commands; each throws usage_error for an unknown job or one already cut over.
void set_copy_paused(pg::connection& conn, const std::string& job, bool paused);
void set_max_copy_rate(pg::connection& conn, const std::string& job, double rows_per_second);
void set_max_lag(pg::connection& conn, const std::string& job, std::chrono::milliseconds max_lag);
void set_copy_workers(pg::connection& conn, const std::string& job, int workers);
// set_apply_workers: the apply lanes of the job (run --apply-workers, `partshift set`): a
// running run changes to them between two source transactions, a later run starts with them.
void set_apply_workers(pg::connection& conn, const std::string& job, int workers);
// set_catch_up_pace: the job's --catch-up-pace in percent (100 = full speed): a running run
// paces by it from its next second on, a later run starts with it.
void set_catch_up_pace(pg::connection& conn, const std::string& job, int percent);

}  // namespace partshift::state
