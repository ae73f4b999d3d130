// job_preparation: prepare a new job, check a resumed one (see the header).
#include "partshift/migrate/job_preparation.hpp"

#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <filesystem>
#include <map>

#include "partshift/catalog/table_name.hpp"
#include "partshift/cutover/cutover_settings.hpp"
#include "partshift/error.hpp"
#include "partshift/migrate/index_phase.hpp"
#include "partshift/migrate/old_name_check.hpp"
#include "partshift/monitor/human_units.hpp"
#include "partshift/monitor/log_event.hpp"
#include "partshift/plan/plan_renderer.hpp"
#include "partshift/plan/preflight.hpp"
#include "partshift/spool/job_marker.hpp"
#include "partshift/spool/segment_chain.hpp"
#include "partshift/spool/trusted_path.hpp"
#include "partshift/state/cluster_identity.hpp"
#include "partshift/state/job_controls.hpp"
#include "partshift/state/schema_prints.hpp"
#include "partshift/state/setting_sources.hpp"
#include "partshift/state/source_partitions.hpp"
#include "partshift/stream/origin_filter.hpp"
#include "partshift/stream/slot_manager.hpp"
#include "partshift/teardown/job_teardown.hpp"
#include "partshift/throttle/throttle_limits.hpp"
#include "partshift/throttle/throttler.hpp"

namespace partshift::migrate {

namespace {

// create_tables: every table's target with its partitions (indexes come after the copy),
// then a multi-table job's keys between its partitioned tables (plan::group_plan), made
// while the tables are empty: the referenced tables' primary keys first, then the keys.
void create_tables(const run_options& options, const job_inputs& inputs,
                   const std::vector<table_ref>& tables, pg::connection& conn) {
    {
        pg::transaction tx(conn);
        for (const auto& t : tables)
            for (const auto& statement : plan::sql_statements(*t.plan, /*with_indexes=*/false))
                conn.exec(statement);
        tx.commit();
    }
    const auto& group = inputs.group;
    if (group.fks.empty()) return;
    build_primary_keys_now(options.dsn, tables, group.primary_key_first);
    pg::transaction tx(conn);
    for (const auto& fk : group.fks) conn.exec(fk.sql);
    tx.commit();
    spdlog::info("prepared: {} foreign key(s) between the partitioned tables", group.fks.size());
}

// log_origin_filter: the one line that says whether the job's stream skips partshift's own
// writes, and why not.
void log_origin_filter(const std::optional<std::string>& recorded) {
    if (stream::origin_filter_enabled(recorded))
        spdlog::info(
            "origin filter on: the slot skips partshift's own copy and apply writes before "
            "decoding them (--no-origin-filter turns it off)");
    else
        spdlog::info("origin filter off ({}): the walsender decodes partshift's own writes too",
                     recorded ? recorded->substr(recorded->rfind("off: ", 0) == 0 ? 5 : 0)
                              : "the job was started by an earlier partshift");
}

// create_stream: publication of every source, then the slot (its consistent point is L0),
// read with the origin filter when it is safe (chosen here, before the slot, once per job).
void create_stream(const run_options& options, const std::vector<table_ref>& tables,
                   const state::job_record& rec, pg::connection& conn) {
    if (const auto dropped = stream::drop_orphaned_origins(conn); !dropped.empty())
        spdlog::info(
            "dropped {} replication origin(s) left by partshift jobs whose slot is gone: {}",
            dropped.size(), fmt::join(dropped, ", "));
    const auto filter =
        stream::origin_filter_record(stream::choose_origin_filter(conn, options.no_origin_filter));
    state::set_origin_filter(conn, rec.job, filter);
    log_origin_filter(filter);
    std::string published;
    for (const auto& t : tables)
        published += (published.empty() ? "" : ", ") + catalog::qualified(t.plan->source);
    stream::create_publication(conn, rec.publication_name, published);
    boost::asio::io_context io;  // before the run's loop exists
    auto future = boost::asio::co_spawn(
        io, stream::create_slot(options.dsn, rec.slot_name, options.slot_timeout),
        boost::asio::use_future);
    io.run();
    auto slot = future.get();
    state::set_l0(conn, rec.job, slot.consistent_point);
    state::set_phase(conn, rec.job, state::phase::copy);
    monitor::log_event(spdlog::level::info,
                       {.job = rec.job, .phase = state::phase::copy, .event = "prepared"},
                       "prepared: target {}.{}, publication and slot {} at {}", rec.target_schema,
                       rec.target_table, rec.slot_name, stream::format_lsn(slot.consistent_point));
}

// record_schema_prints: what the swap relies on, as the plan saw it (issue 20 item 1): from
// here on, schema_watch and the cutover compare the sources with it. After the publication:
// partshift's own is left out of the print.
void record_schema_prints(const std::vector<table_ref>& tables, const state::job_record& rec,
                          pg::connection& conn) {
    for (const auto& t : tables)
        state::record_schema_print(conn, t.job, t.table->oid, rec.publication_name);
}

// log_coverage: until when the new table takes rows, and how soon that is (the plan's own
// lines), once nothing is left that could refuse the run.
void log_coverage(const plan::coverage_lines& coverage) {
    if (!coverage.note.empty()) spdlog::info("plan: {}", coverage.note);
    for (const auto& w : coverage.warnings) spdlog::warn("plan: {}", w);
}

void prepare(const run_options& options, const job_inputs& inputs,
             const std::vector<table_ref>& tables, pg::connection& conn) {
    // First, before the server has anything to clean up: the spool root, and the job's
    // spool in it (named and marked by cluster, database and job, so the same job name on
    // another server or database sharing the root never lands here).
    spool::check_spool_root(options.spool_root);
    const auto identity = state::cluster_identity(conn);
    const auto rows = new_job_records(
        options, inputs, conn.exec("SELECT pg_catalog.current_database()").get(0, 0), identity);
    check_old_names_free(conn, rows);
    log_coverage(inputs.coverage);
    const auto& rec = rows.front();
    spool::replace_job_spool(rec.spool_dir, rec.job, rec.slot_name, identity);
    state::ensure_schema(conn);
    for (const auto& r : rows) state::insert_job(conn, r);
    create_tables(options, inputs, tables, conn);
    // Re-partitioning: the tree as it is before the slot exists; from here on a change of
    // it stops the job (partition_watch, and the cutover under its lock).
    state::record_source_partitions(conn, rec.job, inputs.table.partitions);
    create_stream(options, tables, rec, conn);
    record_schema_prints(tables, rec, conn);
}

// remove_half_prepared: a failed prepare (e.g. the slot was blocked) leaves nothing behind.
void remove_half_prepared(const std::string& job, pg::connection& conn) {
    try {
        if (auto half = state::load_job(conn, job)) {
            teardown::remove_server_objects(conn, *half);
            spool::remove_job_spool(half->spool_dir, half->job, half->slot_name,
                                    state::cluster_identity(conn));
            state::delete_job(conn, half->job);
        }
    } catch (const std::exception& e) {
        spdlog::warn(
            "could not clean up after the failed prepare: {}; run "
            "'partshift abort' to finish",
            e.what());
    }
}

// throw_if_failed: every fatal preflight failure of the job's tables at once, one line each,
// as `plan` lists them (a multi-table job: one verdict for all its tables, the other tables'
// lines named); resumed: only the checks a resumed job meets too.
void throw_if_failed(const job_inputs& inputs, bool resumed) {
    auto lines = plan::fatal_failure_lines(inputs.checks, resumed);
    for (const auto& m : inputs.members) {
        auto more =
            plan::fatal_failure_lines(m.checks, resumed, catalog::qualified(m.table.name) + ": ");
        lines.insert(lines.end(), more.begin(), more.end());
    }
    if (lines.empty()) return;
    // The CLI prints each line of the message as a line of its own.
    std::string message;
    for (const auto& l : lines) message += (message.empty() ? "" : "\n") + l;
    throw preflight_error(message);
}

}  // namespace

state::job_record load_or_prepare(const run_options& options, const job_inputs& inputs,
                                  const std::vector<table_ref>& tables, control_session& control) {
    auto& conn = control.connection();
    auto existing = state::load_job(conn, options.job);
    if (existing && existing->phase == state::phase::preparing) {
        // Interrupted while preparing: nothing was copied yet; start that step over.
        spdlog::warn("job {} was interrupted while preparing; preparing again", existing->job);
        teardown::remove_server_objects(conn, *existing);
        state::delete_job(conn, existing->job);
        existing.reset();
    }
    if (existing) {
        check_same_job(*existing, inputs);
        check_same_target_name(*existing, options.target_name);
        // Judged afresh on every run (the table owner's code): the verdict of the run that
        // started the job is not carried over.
        throw_if_failed(inputs, /*resumed=*/true);
        check_same_members(*existing, state::load_group(conn, existing->job), inputs);
        // A job started by an older partshift: tables and columns added since (e.g.
        // partshift.skipped_keys) must exist before the roles use them.
        state::ensure_schema(conn);
        // A change the swap cannot follow, made while no run watched (or the one the last run
        // stopped on), is named with what to do before anything replays (issue 21 item 5):
        // otherwise the applier meets it as a failed statement ("column ... does not exist").
        if (!existing->reverse_of)
            for (const auto& t : tables)
                state::check_schema_print(conn, t.job, t.table->oid,
                                          catalog::qualified(t.table->name),
                                          existing->publication_name);
        // A job prepared by an earlier partshift has no print: from now on, at least.
        if (!existing->reverse_of && !state::schema_print_recorded(conn, existing->job)) {
            spdlog::warn(
                "job {} was prepared by an earlier partshift: schema changes made "
                "before this run cannot be told apart; recording the schema now",
                existing->job);
            record_schema_prints(tables, *existing, conn);
        }
        // A reverse job's old name is the revert's --keep-as, checked by `revert` itself.
        if (!existing->reverse_of) adopt_old_names(conn, options, inputs, *existing);
        // The origin filter is kept as the job chose it, except that --no-origin-filter turns
        // it off: the unfiltered stream holds everything the filtered one does (partshift's
        // own writes are not published). Never turned on later: the backlog since the last
        // acknowledgement may hold changes of an origin that is gone by now.
        if (options.no_origin_filter && stream::origin_filter_enabled(existing->origin_filter)) {
            existing->origin_filter = "off: turned off by --no-origin-filter on a resumed run";
            state::set_origin_filter(conn, existing->job, *existing->origin_filter);
        }
        log_origin_filter(existing->origin_filter);
        log_coverage(inputs.coverage);
        return *existing;
    }
    throw_if_failed(inputs, /*resumed=*/false);
    try {
        prepare(options, inputs, tables, conn);
    } catch (...) {
        remove_half_prepared(options.job, conn);
        throw;
    }
    return *state::load_job(conn, options.job);
}

// The slot acknowledges what the spool holds, so running a resumed job against a missing
// or foreign spool would silently lose changes: refuse instead. A spool made by a
// partshift from before spool identities (its marker names the job and slot only) is
// still this job's: its marker gains the cluster and database. Its root must still be one
// only this user (or root) can change.
void check_spool_belongs_to_job(const state::job_record& job, control_session& control) {
    const auto identity =
        control.with([](pg::connection& c) { return state::cluster_identity(c); });
    const auto check = spool::check_job_marker(job.spool_dir, job.job, job.slot_name, identity);
    if (check.state == spool::marker_state::missing)
        throw runtime_error("the spool of job " + job.job + " is not in " + job.spool_dir +
                            " (moved, deleted, or another host?); changes already "
                            "acknowledged to the slot live only there. Run partshift where "
                            "the spool is, or 'partshift abort' and start again");
    if (check.state == spool::marker_state::foreign)
        throw runtime_error("the spool directory " + job.spool_dir + " of job " + job.job +
                            " belongs to someone else: its JOB marker says '" + check.found +
                            "', not this job on cluster " + identity.system_identifier +
                            ", database " + identity.database_oid +
                            "; this job's changes are not there. 'partshift abort' and start "
                            "again (abort leaves that directory alone)");
    spool::check_trusted_directory(std::filesystem::path(job.spool_dir).parent_path().string(),
                                   "the spool root of job " + job.job, /*sticky_ok=*/true);
    if (check.state == spool::marker_state::earlier_version) {
        spool::adopt_job_spool(job.spool_dir, job.job, job.slot_name, identity);
        spdlog::info(
            "spool {} was made by an earlier partshift; its JOB marker now names "
            "cluster {} and database {}",
            job.spool_dir, identity.system_identifier, identity.database_oid);
    }
}

namespace {

// check_spool_covers_acknowledged: everything the slot acknowledged must be applied on the
// target or held by the spool (the server never sends it again). Recovery cuts a damaged
// tail off the spool and a deleted last segment takes its records with it: refuse to go
// on with such a hole (issue 8 item 3).
void check_spool_covers_acknowledged(const state::job_record& job,
                                     const spool::spool_writer& writer, control_session& control) {
    auto r = control.with([&](pg::connection& c) {
        return c.query(
            "SELECT (confirmed_flush_lsn - '0/0'::pg_lsn)::numeric(20,0)::text "
            "FROM pg_replication_slots WHERE slot_name = $1 AND confirmed_flush_lsn IS NOT NULL",
            job.slot_name);
    });
    if (r.rows() == 0) return;  // no slot: the streamer says so, with the way out
    const stream::lsn_t acknowledged = std::stoull(r.get(0, 0));
    const stream::lsn_t applied = job.applied_lsn.value_or(0);
    const stream::lsn_t spooled = writer.durable_position_lsn();
    if (acknowledged <= std::max(applied, spooled)) return;
    throw runtime_error(
        "the slot of job " + job.job + " acknowledged changes up to " +
        stream::format_lsn(acknowledged) + ", but the target holds them up to " +
        stream::format_lsn(applied) + " and the spool in " + job.spool_dir + " only up to " +
        stream::format_lsn(spooled) +
        ": the changes in between were damaged or deleted from "
        "the spool and the server will not send them again. Run 'partshift abort' and start "
        "the job again");
}

}  // namespace

void check_resumable(const state::job_record& job, const spool::spool_writer& writer,
                     control_session& control) {
    check_spool_covers_acknowledged(job, writer, control);
    // And nothing in between is missing or damaged: segments in the middle of the spool.
    spool::check_segment_chain(job.spool_dir, job.applied_lsn.value_or(0));
}

namespace {

// run_only_settings: the settings that are this run's alone (not kept in the row for the
// next run), as status shows them beside the live ones.
std::vector<state::run_setting> run_only_settings(const run_options& options) {
    const cutover::cutover_settings defaults;
    const auto limits = throttle::describe(options.throttle);
    std::vector<state::run_setting> out{
        {"max_lock_hold",
         monitor::human_duration(static_cast<double>(options.cutover.max_lock_hold.count()) /
                                 1000.0),
         options.cutover.max_lock_hold != defaults.max_lock_hold},
        {"throttle_limits", limits.empty() ? "none" : limits, !limits.empty()},
        {"revert_window",
         options.revert_window
             ? monitor::human_duration(static_cast<double>(options.revert_window->count()) / 1000.0)
             : "none",
         options.revert_window.has_value()}};
    return out;
}

// say_kept: one line for each live setting a run keeps from an earlier one without its flag
// (issue 21: a rerun kept an earlier --max-copy-rate without a word), with how to change it.
void say_kept(const std::string& job, const std::map<std::string, state::setting_source>& kept,
              const state::run_controls& controls) {
    for (const auto& s : state::live_settings()) {
        const auto it = kept.find(std::string(s.key));
        if (it == kept.end()) continue;
        std::string value;
        if (s.key == "copy_workers")
            value = std::to_string(controls.copy_workers);
        else if (s.key == "apply_workers")
            value = std::to_string(controls.apply_workers);
        else if (s.key == "catch_up_pace")
            value = std::to_string(controls.catch_up_pace) + "%";
        else if (s.key == "max_copy_rate")
            value = controls.max_copy_rate > 0 ? monitor::human_rate(controls.max_copy_rate, "rows")
                                               : "none (no ceiling)";
        else
            value = monitor::human_duration(static_cast<double>(controls.max_lag.count()) / 1000.0);
        monitor::log_event(spdlog::level::info, {.job = job, .event = "setting_kept"},
                           "{} {}: {}; {} on the command line or 'partshift set {}' changes it",
                           s.name, value, state::describe_source(it->second), s.flag, s.flag);
    }
}

}  // namespace

int settle_controls(const run_options& options, const state::job_record& job,
                    base::progress& progress, control_session& control) {
    control.with([&](pg::connection& c) { state::reset_live_figures(c, job.job); });
    // Live controls: this run's flags, else what the row kept (partshift set / pause).
    std::map<std::string, state::setting_source> kept;
    const auto controls = control.with([&](pg::connection& c) {
        state::upgrade_schema(c);
        // Before the values settle: whether the row held one decides "kept" or "default".
        std::vector<std::string> given;
        if (options.copy_workers_given) given.push_back("copy_workers");
        if (options.max_copy_rate) given.push_back("max_copy_rate");
        if (options.max_lag_given) given.push_back("max_lag");
        if (options.apply_workers) given.push_back("apply_workers");
        if (options.catch_up_pace) given.push_back("catch_up_pace");
        kept = state::record_run_sources(c, job.job, given, run_only_settings(options));
        return state::settle_run_controls(
            c, job.job, options.max_copy_rate,
            options.max_lag_given ? std::optional(options.max_lag) : std::nullopt, options.max_lag,
            throttle::describe(options.throttle),
            options.copy_workers_given ? std::optional(options.copy_workers) : std::nullopt,
            options.copy_workers, options.apply_workers, options.catch_up_pace);
    });
    say_kept(job.job, kept, controls);
    progress.copy_paused = controls.copy_paused;
    progress.copy_workers = controls.copy_workers;
    progress.max_copy_rate = controls.max_copy_rate;
    progress.catch_up_pace_percent = controls.catch_up_pace;
    progress.max_lag_micros =
        std::chrono::duration_cast<std::chrono::microseconds>(controls.max_lag).count();
    if (controls.copy_paused)
        spdlog::info("the copy is paused ('partshift resume --job {}' lets it go on)", job.job);
    // A slot the server invalidated cannot be resumed from: say so before anything else.
    control.with(
        [&](pg::connection& c) { throttle::check_slot_not_lost(c, job.slot_name, job.job); });
    return controls.copy_workers;
}

}  // namespace partshift::migrate
