// job_runner: one run of one job (run_job, and the reverse job of a revert window): the run
// lock, prepare or resume, the phase script on one event loop with one task group, and the
// retry from the checkpoint after the server went away. The phases are files of their own
// (job_preparation, copy_phase, index_phase, follow_phase, cutover_launcher, after_cutover).
// Must not: do a phase's work itself, or keep a failure anywhere but in its task group.
#pragma once

#include <utility>  // before Asio's coroutine headers (GCC 12 + Boost 1.74)

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "partshift/metrics/metrics_exporter.hpp"
#include "partshift/migrate/control_session.hpp"
#include "partshift/migrate/job_hooks.hpp"
#include "partshift/migrate/job_records.hpp"
#include "partshift/migrate/migrator.hpp"
#include "partshift/migrate/run_context.hpp"
#include "partshift/state/job_store.hpp"

namespace partshift::migrate {

class job_runner {
  public:
    job_runner(const run_options& options, const job_inputs& inputs,
               metrics::metrics_exporter* exporter);

    // run runs or resumes the job until it stops or fails; the exit code (throws for a
    // failure, kept in the job's row and told to the on-failure hook).
    int run();
    // failed_phase: the phase the job was in when run() failed (empty before a failure).
    const std::string& failed_phase() const { return failed_phase_; }

  private:
    int run_phases(state::job_record job);
    boost::asio::awaitable<void> phase_script(run_context& ctx, state::job_record job);
    void remember_targets(const state::job_record& job);
    void record_failure(const state::job_record& job, const std::exception& e);
    std::vector<table_ref> tables() const { return job_tables(options_.job, inputs_, targets_); }

    const run_options& options_;
    const job_inputs& inputs_;
    metrics::metrics_exporter* exporter_;                     // null without --metrics-addr
    job_hooks hooks_;                                         // without --hooks-dir: none
    std::map<std::string, catalog::qualified_name> targets_;  // row → its stored target
    control_session control_;
    cutover_report cutover_;
    std::string failed_phase_;
};

}  // namespace partshift::migrate
