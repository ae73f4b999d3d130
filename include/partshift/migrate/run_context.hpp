// run_context: what one run of the phase script shares with its phase files: the options
// and plan, the job's tables, the control session, the task group that starts and stops
// everything, the live counters, the spool writer, the hooks, and where the cutover's outcome
// is left for the steps after the loop. Built by job_runner::run_phases; lives as long as the
// run's event loop.
// Must not: own anything (job_runner does), or grow behaviour of its own beyond helpers that
// every phase uses the same way.
#pragma once

#include <utility>  // before Asio's coroutine headers (GCC 12 + Boost 1.74)

#include <boost/asio/awaitable.hpp>
#include <optional>
#include <string>
#include <vector>

#include "partshift/base/progress.hpp"
#include "partshift/cutover/after_swap.hpp"
#include "partshift/cutover/cutover_runner.hpp"
#include "partshift/metrics/metrics_exporter.hpp"
#include "partshift/migrate/control_session.hpp"
#include "partshift/migrate/job_hooks.hpp"
#include "partshift/migrate/job_records.hpp"
#include "partshift/migrate/migrator.hpp"
#include "partshift/migrate/spool_signal.hpp"
#include "partshift/monitor/job_monitor.hpp"
#include "partshift/spool/spool_writer.hpp"
#include "partshift/task/task_group.hpp"

namespace partshift::migrate {

// cutover_report: how the cutover ended, for the steps after the loop.
struct cutover_report {
    std::optional<cutover::cutover_result> result;  // set once a cutover ran
    cutover::swap_figures figures;                  // for finish_after_swap's summary
    std::optional<std::string> gave_up;             // every attempt failed: exit 4 with this
    bool swapped() const { return result && result->swapped; }
};

struct run_context {
    const run_options& options;
    const job_inputs& inputs;
    std::vector<table_ref> tables;
    control_session& control;
    task::task_group& tasks;
    base::progress& progress;
    monitor::job_monitor& monitor;
    spool::spool_writer& writer;
    const job_hooks& hooks;
    metrics::metrics_exporter* exporter;  // null without --metrics-addr
    int copy_workers;                     // --copy-workers, or what `partshift set` kept
    cutover_report& cutover;
    spool_signal& spool_published;  // the streamer's sink → the applier's feed

    bool multi_table() const { return !inputs.members.empty(); }
    bool stopping() const { return tasks.stop_requested(); }
    void count_error() const {
        if (exporter) exporter->count_error(options.job);
    }

    // control: `body(connection)` over the control session, on the task group's pool: the
    // loop (streamer keepalives, the applier's commits) runs on meanwhile.
    template <typename F>
    auto control_async(F& body)
        -> boost::asio::awaitable<std::invoke_result_t<F&, pg::connection&>> {
        co_return co_await tasks.run_blocking([this, &body] { return control.with(body); });
    }

    // set_phase: the job's phase in its row, the monitor and the log.
    boost::asio::awaitable<void> set_phase(state::job_record& job, const char* phase);
};

// test_pause: a fault-injection hook for the crash tests: a pause at the start of each phase
// widens the window in which a test can kill partshift in that phase. Off unless
// PARTSHIFT_TEST_PHASE_PAUSE_MS is set.
boost::asio::awaitable<void> test_pause(task::task_group& tasks);

}  // namespace partshift::migrate
