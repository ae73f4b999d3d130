// side_roles: the roles beside the phase script (see the header).
#include "partshift/migrate/side_roles.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdlib>

#include "partshift/catalog/table_name.hpp"
#include "partshift/migrate/origin_watch.hpp"
#include "partshift/migrate/partition_watch.hpp"
#include "partshift/migrate/schema_watch.hpp"
#include "partshift/stream/origin_filter.hpp"

namespace partshift::migrate {

namespace asio = boost::asio;

namespace {

// best_effort: a task whose failure ends only itself (status, metrics, status hooks).
asio::awaitable<void> best_effort(asio::awaitable<void> task, const char* what) {
    try {
        co_await std::move(task);
    } catch (const std::exception& e) {
        if (what) spdlog::warn("{}", what);
        spdlog::debug("{}", e.what());
    }
}

// cutover_started: the watches stop looking once the cutover's own checks take over.
std::function<bool()> cutover_started(const base::progress& progress) {
    return [&progress] { return progress.cutover.load() == base::cutover_stage::cutting_over; };
}

// schema_watch_for: every table of the job, checked every few seconds until the cutover starts.
schema_watch_options schema_watch_for(run_context& ctx, const state::job_record& job) {
    schema_watch_options watch;
    watch.dsn = ctx.options.dsn;
    for (const auto& t : ctx.tables)
        watch.tables.push_back({t.job, t.table->oid, catalog::qualified(t.table->name)});
    watch.skip_publication = job.publication_name;
    // Test hook: a long interval leaves a change to the cutover's own check.
    if (const char* ms = std::getenv("PARTSHIFT_TEST_SCHEMA_CHECK_MS"))
        watch.interval = std::chrono::milliseconds(std::atoi(ms));
    watch.cutover_started = cutover_started(ctx.progress);
    return watch;
}

}  // namespace

// start_side_roles: status first, then what this run has of the watches, metrics and hooks.
void start_side_roles(run_context& ctx, const state::job_record& job) {
    ctx.tasks.spawn("status", best_effort(ctx.monitor.run(), "status updates stopped"));
    // Re-partitioning only: a reverse job (revert window) also reads a partitioned table,
    // the one partshift built.
    if (ctx.inputs.table.relkind == 'p' && !job.reverse_of) {
        partition_watch_options watch{ctx.options.dsn, job.job, ctx.inputs.table.oid,
                                      catalog::qualified(ctx.inputs.table.name)};
        // Test hook: a long interval leaves a change to the cutover's own check.
        if (const char* ms = std::getenv("PARTSHIFT_TEST_PARTITION_CHECK_MS"))
            watch.interval = std::chrono::milliseconds(std::atoi(ms));
        ctx.tasks.spawn("partition watch", watch_partitions(std::move(watch), ctx.tasks));
    }
    // A stream that skips changes carrying an origin must not meet a foreign one.
    if (stream::origin_filter_enabled(job.origin_filter)) {
        origin_watch_options watch{ctx.options.dsn, job.job};
        // Test hook: a long interval leaves a new origin to the cutover's own check.
        if (const char* ms = std::getenv("PARTSHIFT_TEST_ORIGIN_CHECK_MS"))
            watch.interval = std::chrono::milliseconds(std::atoi(ms));
        watch.cutover_started = cutover_started(ctx.progress);
        ctx.tasks.spawn("origin watch", watch_origins(std::move(watch), ctx.tasks));
    }
    // A reverse job (revert window) reads the table partshift built: nothing was recorded.
    if (!job.reverse_of)
        ctx.tasks.spawn("schema watch", watch_schema(schema_watch_for(ctx, job), ctx.tasks));
    if (ctx.exporter) {
        // Right after each measurement as well as on the exporter's own tick: otherwise a
        // scrape could show the measurement before the one status shows.
        ctx.monitor.after_each_tick(
            [&exporter = *ctx.exporter, name = job.job, &progress = ctx.progress,
             &monitor = ctx.monitor] { exporter.update(name, progress, monitor.phase()); });
        ctx.tasks.spawn("metrics",
                        best_effort(metrics::publish_metrics(
                                        *ctx.exporter, job.job, ctx.progress,
                                        [&monitor = ctx.monitor] { return monitor.phase(); },
                                        ctx.tasks.stop_flag()),
                                    nullptr));
    }
    if (ctx.hooks.enabled())
        ctx.tasks.spawn("status hooks", best_effort(ctx.hooks.status_hooks(
                                                        ctx.tasks, job, ctx.progress, ctx.monitor,
                                                        ctx.options.status_hook_interval),
                                                    nullptr));
}

}  // namespace partshift::migrate
