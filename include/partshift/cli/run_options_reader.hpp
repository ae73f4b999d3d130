// run_options_reader: `partshift run`'s parsed options → what the run needs (migrate::run_options
// and the table, job file, partition spec and preflight acceptances), with every check that
// needs nothing but the options themselves: option conflicts, durations, sizes, counts, the
// partition spec. Pure (no server, no files); unit-tested. Defaults come from the structs
// that hold them (migrate::run_options, cutover::cutover_settings), so an option not given
// keeps the struct's value.
#pragma once

#include <boost/program_options/variables_map.hpp>
#include <optional>
#include <string>

#include "partshift/cutover/cutover_settings.hpp"
#include "partshift/migrate/migrator.hpp"
#include "partshift/plan/partition_spec.hpp"
#include "partshift/plan/planner.hpp"
#include "partshift/plan/preflight.hpp"

namespace partshift::cli {

// Defaults the CLI owns (no struct below it has one): shown by --help through option_table.
inline constexpr const char* default_spool_dir = "partshift-spool";
inline constexpr const char* default_copy_method = "insert";

struct run_request {
    migrate::run_options run;  // run.job is empty: the job name needs the table (job_name.hpp)
    std::optional<std::string> job;        // --job
    std::optional<std::string> table;      // --table, as SQL writes it
    std::optional<std::string> spec_file;  // --spec FILE (then no table, no spec)
    plan::partition_spec spec;
    plan::plan_names names;
    // --drop-unrepointable-fks, --trust-table-owner, --allow-uncarried-dependents
    plan::preflight_options accepted;
};

// read_run_options: throws usage_error (exit 2) with one line for anything wrong in the options
// alone. Relative paths (--postpone-cutover-flag, --hooks-dir) are made absolute against the
// current directory, since the run stores them with the job.
run_request read_run_options(const boost::program_options::variables_map& vm);

// read_cutover_settings: --lock-timeout, --max-lock-hold, --cutover-attempts,
// --cutover-terminate-blockers-after, --drop-unrepointable-fks over cutover_settings'
// defaults (run, and revert's swap back). usage_error for a bad value or one below its floor.
cutover::cutover_settings read_cutover_settings(const boost::program_options::variables_map& vm);

// read_revert_window: --revert-window (run, cutover), at least 1s.
std::optional<std::chrono::milliseconds> read_revert_window(
    const boost::program_options::variables_map& vm);

}  // namespace partshift::cli
