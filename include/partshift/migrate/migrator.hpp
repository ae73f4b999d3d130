// migrator: the entry points of one migration job (DESIGN.md §1): run_job (prepare → copy ‖
// stream → index → replay → follow → cutover → after the swap → revert window), the finish of
// a job cut over earlier, and the revert window's follow and end. job_runner (job_runner.hpp)
// is the phase script; each phase is a file of its own in migrate/.
// Must not: be included by the roles it orders.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "partshift/catalog/table_model.hpp"
#include "partshift/cutover/cutover_settings.hpp"
#include "partshift/pg/connection.hpp"
#include "partshift/plan/group_plan.hpp"
#include "partshift/plan/planner.hpp"
#include "partshift/plan/preflight_check.hpp"
#include "partshift/plan/target_plan.hpp"
#include "partshift/throttle/throttle_limits.hpp"

namespace partshift::migrate {

struct run_options {
    std::string dsn;
    std::string job;
    bool dry_run = true;
    std::optional<std::chrono::milliseconds> dry_run_for;  // counted from entering follow
    int copy_workers = 2;
    bool copy_workers_given = false;  // on the command line: replaces the job row's value
    // --apply-workers: apply lanes (apply/lane_routing.hpp); kept in the job row for a
    // resume; nullopt: what the row holds (1 when nothing).
    std::optional<int> apply_workers;
    // --catch-up-pace: the share of time (percent) a catch-up over --max-lag streams and
    // applies (base/catch_up_pace.hpp); kept in the job row like --apply-workers; nullopt:
    // what the row holds (100, full speed, when nothing).
    std::optional<int> catch_up_pace;
    bool copy_through_partshift = false;  // --copy-method copy: every chunk piped, ceiling or not
    // --no-origin-filter: the stream does not skip partshift's own writes by origin
    // (stream/origin_filter.hpp); on a resumed job that filters, the filter is turned off.
    bool no_origin_filter = false;
    std::string spool_root;  // the job's spool: spool_root/<system id>-<database oid>-<job>
    std::string old_name;
    // --target-name as given (the plan's target otherwise); a resumed job refuses another.
    std::optional<std::string> target_name;
    std::chrono::seconds slot_timeout{120};
    // After the server went away mid-run, how long to keep waiting for it and resuming.
    std::chrono::seconds reconnect_for{600};
    // Cutover (without dry_run): the gate and the lock (DESIGN.md §1 step 7).
    bool postpone_cutover = false;
    // The run starts with a cutover request of its own (`partshift revert` without a running
    // process follows the window itself until its swap back).
    bool request_cutover = false;
    std::chrono::milliseconds max_lag{1000};
    cutover::cutover_settings cutover;  // also the swap back of a revert window
    bool verify = false;  // compare every key range before the swap; refuse on a mismatch
    // Given on the command line: replaces what the job's row holds (partshift set); without,
    // the row's value (or the default max_lag) is used.
    bool max_lag_given = false;
    std::optional<double> max_copy_rate;            // rows/s; 0 = no ceiling
    std::optional<std::string> postpone_flag_file;  // cut over only once this file is gone
    // Operability: throttling, the WAL-retention guard, metrics.
    throttle::throttle_limits throttle;
    std::optional<int64_t> slot_wal_limit;  // bytes; the guard's limit besides the server's
    std::string metrics_addr;               // HOST:PORT; empty = no metrics
    // After a job reached done, keep /metrics up until it has been scraped once more, at most
    // this long, so Prometheus sees `done` (--metrics-linger).
    std::chrono::milliseconds metrics_linger{5'000};
    // Hooks (--hooks-dir): executables run at the job's events; empty = none.
    std::string hooks_dir;
    std::chrono::milliseconds hooks_timeout{60'000};
    std::chrono::milliseconds status_hook_interval{600'000};  // on-status
    std::chrono::milliseconds before_cutover_retry{10'000};   // after a failed before-cutover
    bool partman = false;  // register the partitioned table with pg_partman after the cutover
    // --revert-window: after the cutover, keep NAME_old current from the partitioned table
    // for this long, so `partshift revert` can swap back (issue 10). `partshift cutover
    // --revert-window` replaces it through the job's row.
    std::optional<std::chrono::milliseconds> revert_window;
};

// member_inputs: one more table of a multi-table job (run --spec), planned like the first.
struct member_inputs {
    catalog::table_model table;
    plan::target_plan plan;
    std::vector<plan::preflight_check> checks;
    std::string old_name;  // empty: NAME_old
};

// What the planner produced for this run (recomputed on every run; a resumed job keeps its
// stored target and spec).
struct job_inputs {
    catalog::table_model table;
    plan::target_plan plan;
    std::vector<plan::preflight_check> checks;
    // A multi-table job (run --spec): the other tables in job-file order, and the foreign keys
    // between the partitioned tables (group indexes: 0 is this table, i + 1 is members[i]).
    // One slot, publication, spool and applier for all; one cutover transaction swaps them.
    std::vector<member_inputs> members;
    plan::group_plan group;
    // Until when the new table takes rows, and the warnings about it (plan::add_coverage_lines):
    // logged once the job is prepared or resumed, so a run that bad input stops prints its
    // one error line and nothing before it.
    plan::coverage_lines coverage;
};

// member_job_name: the row name of a multi-table job's other table: "<job>/<schema>.<table>".
std::string member_job_name(const std::string& job, const catalog::qualified_name& table);

// run_job runs or resumes the job until it is stopped (SIGINT/SIGTERM, --dry-run-for) or
// fails. Returns the exit code; throws partshift::error for failures.
int run_job(const run_options& options, const job_inputs& inputs);

// finish_cut_over_job completes the steps after a committed swap (drop slot and publication,
// remove the spool, report) for a job in phase done; a rerun after a crash during the
// cutover comes here. Idempotent. With `partman`, also the pg_partman registration (again, if
// it failed after the swap). Returns the exit code.
int finish_cut_over_job(const std::string& dsn, const std::string& job, bool partman = false);

// run_revert_window follows an open revert window of `job` (cut over with --revert-window):
// streams the partitioned table's changes into NAME_old until the window's end, `partshift
// finish` (then the reverse slot, publication and spool go and the window is closed), a
// revert asked with `partshift revert` (the swap back), or a signal (the checkpoint is kept;
// the next run resumes). `options` gives the connection, spool, lock and cutover settings.
int run_revert_window(const run_options& options, const std::string& job);

// finish_revert_window ends an open window now, without a revert, when no run follows it.
void finish_revert_window(const std::string& dsn, const std::string& job);

}  // namespace partshift::migrate
