// migrator: run_job, the entry point of one run of a job (see the header): the metrics
// endpoint, the job_runner with its phase script (job_runner.cpp), and the revert window this
// process follows after a cutover. Must not: run a phase itself.
#include "partshift/migrate/migrator.hpp"

#include <spdlog/spdlog.h>

#include <optional>

#include "partshift/job_error.hpp"
#include "partshift/metrics/metrics_exporter.hpp"
#include "partshift/migrate/job_runner.hpp"
#include "partshift/migrate/revert_window_runner.hpp"
#include "partshift/pg/connection.hpp"
#include "partshift/state/run_lock.hpp"

namespace partshift::migrate {

int run_job(const run_options& options, const job_inputs& inputs) {
    // Listening first: a taken port is bad input, before anything is created.
    std::optional<metrics::metrics_exporter> exporter;
    if (!options.metrics_addr.empty()) {
        exporter.emplace(options.metrics_addr);
        spdlog::info("serving Prometheus metrics on {}/metrics", options.metrics_addr);
    }
    job_runner runner(options, inputs, exporter ? &*exporter : nullptr);
    int code = 0;
    try {
        code = runner.run();
    } catch (const std::exception& e) {
        // The line the run ends with names the job and the phase it failed in.
        throw job_error::of(e, options.job, runner.failed_phase());
    }
    // Cut over with a revert window: this process follows it (the job's own lock stays held).
    if (code == 0 && !options.dry_run) {
        pg::connection conn(options.dsn, state::run_application_name());
        if (revert_window_open(conn, options.job))
            code = follow_revert_window(options, options.job, exporter ? &*exporter : nullptr);
    }
    // Prometheus scrapes every few seconds: without a wait the endpoint would be gone before
    // it ever read `done` (--metrics-linger).
    if (exporter) exporter->linger(options.metrics_linger);
    return code;
}

}  // namespace partshift::migrate
