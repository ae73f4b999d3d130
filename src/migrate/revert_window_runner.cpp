// revert_window_runner: follow and close a revert window (see the header).
#include "partshift/migrate/revert_window_runner.hpp"

#include <spdlog/spdlog.h>

#include "partshift/apply/divergence_error.hpp"
#include "partshift/catalog/inspector.hpp"
#include "partshift/error.hpp"
#include "partshift/migrate/job_runner.hpp"
#include "partshift/pg/pg_error.hpp"
#include "partshift/state/job_controls.hpp"
#include "partshift/state/revert_window.hpp"
#include "partshift/state/run_lock.hpp"
#include "partshift/teardown/job_teardown.hpp"

namespace partshift::migrate {

using namespace std::chrono_literals;

bool revert_window_open(pg::connection& conn, const std::string& job) {
    state::upgrade_schema(conn);
    auto rec = state::load_job(conn, job);
    return rec && rec->revert_state == std::string(state::revert_state::open);
}

namespace {

// end_revert_window: the reverse slot, publication and spool go; the window is closed. False
// (and nothing dropped) when it was reverted or closed meanwhile. The caller holds the reverse
// job's run lock, so no swap back is under way.
bool end_revert_window(pg::connection& conn, const state::job_record& job) {
    auto now = state::load_job(conn, job.job);
    const std::string st = now ? now->revert_state.value_or("") : "";
    if (st != state::revert_state::open && st != state::revert_state::broken) return false;
    teardown::drop_reverse_stream(conn, teardown::reverse_stream_of(conn, job));
    if (!state::close_revert_window(conn, job.job, state::reverse_job_name(job.job))) return false;
    spdlog::info(
        "revert window of job {} closed: its slot and publication are dropped; {}.{} "
        "is kept as it was at the window's end",
        job.job, job.source_schema, job.old_name);
    return true;
}

// refused_by_the_original: the reverse stream stopped because NAME_old refuses what the
// partitioned table took (a divergence in strict replay, or an integrity error of the apply):
// resuming would stop at the same row again.
bool refused_by_the_original(const std::exception& e) {
    if (dynamic_cast<const apply::divergence_error*>(&e)) return true;
    const auto* pg = dynamic_cast<const pg::pg_error*>(&e);
    return pg && pg->sqlstate().rfind("23", 0) == 0;
}

// break_revert_window: the window cannot be swapped back without losing writes any more. Its
// slot is dropped now (no process would guard the WAL it pins once this run exits), the
// window is marked broken with the reason, and `partshift finish` closes it.
[[noreturn]] void break_revert_window(const std::string& dsn, const state::job_record& job,
                                      const std::exception& e) {
    const std::string why = e.what();
    const auto reverse_name = state::reverse_job_name(job.job);
    try {
        pg::connection conn(dsn, state::run_application_name());
        state::acquire_run_lock(conn, reverse_name, 10s);
        state::mark_window_broken(conn, job.job, reverse_name, why);
        teardown::drop_reverse_stream(conn, teardown::reverse_stream_of(conn, job));
    } catch (const std::exception& cleanup) {
        spdlog::warn("could not mark the revert window of job {} broken or drop its slot ({})",
                     job.job, cleanup.what());
    }
    throw runtime_error("the revert window of job " + job.job + " is broken: " + job.source_schema +
                        "." + job.old_name + " refused a row of " + job.source_schema + "." +
                        job.final_name + " (" + why +
                        "); it no longer follows, so 'partshift revert' cannot swap back; "
                        "its slot is dropped; 'partshift finish' closes the window");
}

// reverse_options: the reverse job's run: the swap back only when asked (partshift revert).
run_options reverse_options(const run_options& base, const std::string& reverse_name) {
    run_options o = base;
    o.job = reverse_name;
    o.dry_run = false;
    o.dry_run_for.reset();
    o.postpone_cutover = true;  // the swap back only when asked: partshift revert
    o.postpone_flag_file.reset();
    // The forward run's names are not the reverse job's (its row keeps its own: NAME_old is
    // its target, the partitioned table's keep-as name its old name).
    o.old_name.clear();
    o.target_name.reset();
    o.verify = false;
    o.revert_window.reset();
    o.throttle = {};  // there is no copy to throttle
    // Hooks and pg_partman belong to the migration, not to the stream back: a failing
    // before-cutover hook must not hold up 'partshift revert', and partman never takes
    // over NAME_old.
    o.hooks_dir.clear();
    o.partman = false;
    return o;
}

// reverse_inputs: the reverse job's table as the stream names it.
job_inputs reverse_inputs(pg::connection& conn, const state::job_record& reverse) {
    job_inputs inputs;
    inputs.table = catalog::inspect_table(conn, {reverse.source_schema, reverse.source_table},
                                          catalog::row_estimate::catalog_only);
    // Rows are identified as NAME_old identifies them: by the original's key, not by the
    // partitioned table's (that one adds the partition key, so a row whose partition key
    // changes would look like a different row, and set-based runs could reorder its delete
    // and insert). The partitioned key contains the original's, so every old tuple carries
    // it. The oid and columns stay the partitioned table's: the stream's relation.
    inputs.table.indexes =
        catalog::inspect_table(conn, {reverse.target_schema, reverse.target_table},
                               catalog::row_estimate::catalog_only)
            .indexes;
    return inputs;
}

}  // namespace

int follow_revert_window(const run_options& base, const std::string& name,
                         metrics::metrics_exporter* exporter) {
    pg::connection conn(base.dsn, state::run_application_name());
    state::upgrade_schema(conn);
    auto job = state::load_job(conn, name);
    if (!job || job->revert_state != std::string(state::revert_state::open))
        throw usage_error(window_not_open(conn, name));
    const auto reverse_name = state::reverse_job_name(name);
    auto reverse = state::load_job(conn, reverse_name);
    if (!reverse)
        throw runtime_error("the revert window of job " + name +
                            " is open but its reverse job is missing; 'partshift finish --job " +
                            name + "' closes it");
    if (reverse->phase == state::phase::done) {
        // Reverted, and the run died before the steps after the swap: finish them.
        return finish_cut_over_job(base.dsn, reverse_name);
    }
    // Over while nobody followed it: close it now.
    auto over = [&] {
        return state::window_expired(conn, name) || state::finish_requested(conn, reverse_name);
    };
    if (!over()) {
        spdlog::info("revert window of job {}: following {}.{} into {}.{}", name,
                     reverse->source_schema, reverse->source_table, reverse->target_schema,
                     reverse->target_table);
        const auto o = reverse_options(base, reverse_name);
        const auto inputs = reverse_inputs(conn, *reverse);
        int code = 0;
        try {
            // Inside the try: the runner (and the run lock its session holds) is gone by the
            // time the handler marks the window broken.
            job_runner runner(o, inputs, exporter);
            code = runner.run();
        } catch (const std::exception& e) {
            if (!refused_by_the_original(e)) throw;
            break_revert_window(base.dsn, *job, e);
        }
        // The runner rides out a server restart on connections of its own; this one may not
        // have survived it.
        conn = pg::connection(base.dsn, state::run_application_name());
        job = state::load_job(conn, name);
        if (!job || job->revert_state != std::string(state::revert_state::open)) return code;
        if (!over()) return code;  // stopped by a signal: the next run resumes
    }
    // The runner's own session held the lock until a moment ago.
    state::acquire_run_lock(conn, reverse_name, 10s);
    end_revert_window(conn, *job);
    return 0;
}

int run_revert_window(const run_options& options, const std::string& job) {
    std::optional<metrics::metrics_exporter> exporter;
    if (!options.metrics_addr.empty()) {
        exporter.emplace(options.metrics_addr);
        spdlog::info("serving Prometheus metrics on {}/metrics", options.metrics_addr);
    }
    const int code = follow_revert_window(options, job, exporter ? &*exporter : nullptr);
    if (exporter) exporter->linger(options.metrics_linger);
    return code;
}

void finish_revert_window(const std::string& dsn, const std::string& name) {
    pg::connection conn(dsn, state::run_application_name());
    state::upgrade_schema(conn);
    const auto reverse_name = state::reverse_job_name(name);
    // The lock first, then the state: a revert holds it through its swap back.
    state::acquire_run_lock(conn, reverse_name, 10s);
    auto job = state::load_job(conn, name);
    if (!job || !end_revert_window(conn, *job)) throw usage_error(window_not_open(conn, name));
}

std::string window_not_open(pg::connection& conn, const std::string& name) {
    auto job = state::load_job(conn, name);
    const std::string st = job ? job->revert_state.value_or("") : "";
    if (st == state::revert_state::reverted)
        return "the revert window of job " + name + " was already reverted: " + job->source_schema +
               "." + job->final_name + " is the original table again; nothing to close";
    if (st == state::revert_state::finished)
        return "the revert window of job " + name + " was already closed: " + job->source_schema +
               "." + job->final_name + " stays partitioned";
    return "job " + name + " has no open revert window";
}

}  // namespace partshift::migrate
