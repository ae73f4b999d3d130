// migrator: the phase script. Wiring of roles, phase changes in partshift.jobs, one stop
// flag, one place that collects the first failure. No SQL of the roles' own here.
#include "partshift/migrate/migrator.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "partshift/apply/applier.hpp"
#include "partshift/catalog/inspector.hpp"
#include "partshift/catalog/table_name.hpp"
#include "partshift/copy/copier.hpp"
#include "partshift/copy/copy_spec.hpp"
#include "partshift/copy/index_builder.hpp"
#include "partshift/cutover/after_swap.hpp"
#include "partshift/cutover/cutover_runner.hpp"
#include "partshift/error.hpp"
#include "partshift/hooks/async_hook.hpp"
#include "partshift/hooks/hook_runner.hpp"
#include "partshift/metrics/metrics_exporter.hpp"
#include "partshift/migrate/follow_watcher.hpp"
#include "partshift/migrate/partition_watch.hpp"
#include "partshift/migrate/reverse_stream.hpp"
#include "partshift/migrate/spool_feed.hpp"
#include "partshift/migrate/spool_sink.hpp"
#include "partshift/monitor/job_monitor.hpp"
#include "partshift/monitor/lag.hpp"
#include "partshift/monitor/progress_bar.hpp"
#include "partshift/partman/partman_handoff.hpp"
#include "partshift/pg/pg_error.hpp"
#include "partshift/pg/quote.hpp"
#include "partshift/plan/plan_renderer.hpp"
#include "partshift/plan/preflight.hpp"
#include "partshift/pg/conninfo.hpp"
#include "partshift/spool/job_marker.hpp"
#include "partshift/spool/trusted_path.hpp"
#include "partshift/state/cluster_identity.hpp"
#include "partshift/spool/segment_chain.hpp"
#include "partshift/spool/segment_cleanup.hpp"
#include "partshift/state/job_controls.hpp"
#include "partshift/state/job_names.hpp"
#include "partshift/state/job_spec_codec.hpp"
#include "partshift/state/job_store.hpp"
#include "partshift/state/revert_window.hpp"
#include "partshift/state/run_lock.hpp"
#include "partshift/state/source_partitions.hpp"
#include "partshift/stream/pg_clock.hpp"
#include "partshift/stream/slot_manager.hpp"
#include "partshift/stream/streamer.hpp"
#include "partshift/teardown/job_teardown.hpp"
#include "partshift/throttle/copy_gate.hpp"
#include "partshift/throttle/throttler.hpp"
#include "partshift/verify/verifier.hpp"

namespace partshift::migrate {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// hand_over_to_partman: run --partman after the swap committed. A failure here leaves the
// cutover done; running the same command again retries the registration alone.
void hand_over_to_partman(pg::connection& conn, const state::job_record& job) {
    // pg_partman must not maintain a table a revert may still swap away (a window opened by
    // 'partshift cutover --revert-window'), nor one that was swapped away.
    if (job.revert_state == std::string(state::revert_state::open)) {
        spdlog::warn("partman: not registering {}.{} while its revert window is open; once it is "
                     "over, run the same command with --partman again",
                     job.target_schema, job.final_name);
        return;
    }
    if (job.revert_state == std::string(state::revert_state::reverted)) {
        spdlog::warn("partman: job {} was reverted; {}.{} is the original table again, nothing "
                     "to register",
                     job.job, job.target_schema, job.final_name);
        return;
    }
    proto::job_spec stored;
    stored.ParseFromString(job.spec);
    try {
        partman::register_with_partman(conn, job.target_schema, job.final_name,
                                       state::from_proto(stored));
    } catch (const std::exception& e) {
        throw runtime_error("the cutover is done, but registering " + job.target_schema + "." +
                            job.final_name + " with pg_partman failed: " + e.what() +
                            "; run the same command again to retry the registration");
    }
}

std::string serialized_spec(const plan::partition_spec& spec) {
    std::string bytes;
    state::to_proto(spec).SerializeToString(&bytes);
    return bytes;
}

// Fault-injection hook for the crash tests: a pause at the start of each phase widens the
// window in which a test can kill partshift in that phase. Off unless the variable is set.
asio::awaitable<void> test_pause() {
    const char* ms = std::getenv("PARTSHIFT_TEST_PHASE_PAUSE_MS");
    if (!ms) co_return;
    asio::steady_timer t(co_await asio::this_coro::executor,
                         std::chrono::milliseconds(std::atoi(ms)));
    co_await t.async_wait(asio::use_awaitable);
}

class job_runner {
  public:
    job_runner(const run_options& options, const job_inputs& inputs,
               metrics::metrics_exporter* exporter)
        : options_(options), inputs_(inputs), exporter_(exporter),
          control_(options.dsn, state::run_application_name()) {
        if (!options.hooks_dir.empty()) hooks_.emplace(options.hooks_dir, options.hooks_timeout);
    }

    int run() {
        // One process per job, for the whole run (taken again after a reconnect). A
        // multi-table job also holds its other tables' rows, so no run takes one on its own.
        lock_tables();
        auto job = load_or_prepare();
        remember_targets(job);
        spdlog::info("job {}: {} → {} (phase {})", job.job,
                     job.source_schema + "." + job.source_table,
                     job.target_schema + "." + job.target_table, job.phase);
        // A server restart or failover ends every connection at once; each role then fails
        // with a connection-loss SQLSTATE. Waiting for the server and resuming from the
        // checkpoint is exactly what a rerun would do, so do it here, for --reconnect-for.
        auto backoff = 1s;
        std::optional<std::chrono::steady_clock::time_point> lost_since;
        for (bool resuming = false;; resuming = true) {
            const auto attempt_start = std::chrono::steady_clock::now();
            try {
                if (resuming) {
                    auto saved = reload_job(job.job);
                    if (!saved)
                        throw runtime_error("job " + job.job +
                                            " is gone (aborted while partshift waited)");
                    job = std::move(*saved);
                }
                return run_phases(job);
            } catch (const pg::pg_error& e) {
                const auto now = std::chrono::steady_clock::now();
                // A run that went on for a while before the loss starts a new count.
                if (now - attempt_start > 60s) {
                    lost_since.reset();
                    backoff = 1s;
                }
                if (!lost_since) lost_since = now;
                if (!e.is_connection_loss() || now - *lost_since >= options_.reconnect_for) {
                    record_failure(job, e);
                    run_failure_hook(job, e);
                    throw;
                }
                count_error();
                spdlog::warn("lost the server ({}); resuming from the checkpoint in {}s", e.what(),
                             backoff.count());
            } catch (const std::exception& e) {
                record_failure(job, e);
                run_failure_hook(job, e);
                throw;
            }
            if (!pause_unless_signalled(backoff)) {
                spdlog::info("stopped while waiting for the server; run again to resume");
                return 0;
            }
            backoff = std::min(backoff * 2, std::chrono::seconds(30));
        }
    }

  private:
    void count_error() {
        if (exporter_) exporter_->count_error();
    }

    // table_ref: one table of the job as the roles need it; tables()[0] is the job's own row,
    // the others are a multi-table job's (run --spec) rows in job-file order.
    struct table_ref {
        std::string job;  // its row in partshift.jobs
        const catalog::table_model* table;
        const plan::target_plan* plan;
        catalog::qualified_name target;  // as the row keeps it (a resumed job's own)
    };
    std::vector<table_ref> tables() const {
        auto target = [&](const std::string& job, const plan::target_plan& plan) {
            auto stored = stored_targets_.find(job);
            return stored != stored_targets_.end() ? stored->second : plan.target;
        };
        std::vector<table_ref> out{
            {options_.job, &inputs_.table, &inputs_.plan, target(options_.job, inputs_.plan)}};
        for (const auto& m : inputs_.members) {
            auto job = member_job_name(options_.job, m.table.name);
            out.push_back({job, &m.table, &m.plan, target(job, m.plan)});
        }
        return out;
    }
    // remember_targets: the targets the job's rows keep, which the roles use from then on.
    void remember_targets(const state::job_record& job) {
        stored_targets_[job.job] = {job.target_schema, job.target_table};
        for (const auto& r : state::load_group(control_, job.job))
            stored_targets_[r.job] = {r.target_schema, r.target_table};
    }
    bool multi_table() const { return !inputs_.members.empty(); }

    void lock_tables() {
        for (const auto& t : tables()) state::acquire_run_lock(control_, t.job);
    }

    // check_same_members: a resumed job keeps its tables; a job file that lists others (or a
    // --table run of a multi-table job) is refused before anything runs.
    void check_same_members(const state::job_record& job) {
        std::vector<state::job_record> stored;
        for (auto& r : state::load_group(control_, job.job))
            if (r.is_group_member()) stored.push_back(std::move(r));
        bool same = stored.size() == inputs_.members.size();
        for (size_t i = 0; same && i < stored.size(); ++i) {
            const auto& m = inputs_.members[i];
            same = stored[i].source_schema == m.table.name.schema &&
                   stored[i].source_table == m.table.name.name &&
                   stored[i].spec == serialized_spec(m.plan.spec);
        }
        if (same) return;
        std::string listed = job.source_schema + "." + job.source_table;
        for (const auto& r : stored) listed += ", " + r.source_schema + "." + r.source_table;
        throw usage_error("job " + job.job + " was started with " +
                          (stored.empty() ? std::string("one table (") + listed + ")"
                                          : "the tables " + listed) +
                          " and their options; resume it the same way (the same job file), or "
                          "run 'partshift abort' first");
    }

    // pause_unless_signalled sleeps for `d`; false when SIGINT/SIGTERM came first.
    static bool pause_unless_signalled(std::chrono::seconds d) {
        asio::io_context io;
        bool signalled = false;
        asio::signal_set signals(io, SIGINT, SIGTERM);
        asio::steady_timer timer(io, d);
        signals.async_wait([&](boost::system::error_code ec, int) {
            if (ec) return;
            signalled = true;
            timer.cancel();
        });
        timer.async_wait([&](boost::system::error_code) { signals.cancel(); });
        io.run();
        return !signalled;
    }

    // figures: what a hook is told about the job (hook_env); from the run's live counters
    // when it has them, else from the job's row.
    hooks::hook_figures figures(const state::job_record& job, const std::string& phase,
                                const base::progress* p) const {
        hooks::hook_figures f;
        f.job = job.job;
        f.phase = phase;
        f.source_schema = job.source_schema;
        f.source_table = job.source_table;
        f.target_schema = job.target_schema;
        f.target_table = job.target_table;
        f.conninfo = pg::conninfo_without_password(options_.dsn);
        f.rows_estimate = p ? p->rows_estimate.load() : job.rows_estimate;
        f.rows_copied = p ? p->rows_copied.load() : job.rows_copied;
        f.applied_lsn = stream::format_lsn(p ? p->applied_lsn.load() : job.applied_lsn.value_or(0));
        if (p && p->lag_micros >= 0) f.lag_seconds = static_cast<double>(p->lag_micros) / 1e6;
        if (p && p->lag_bytes >= 0) f.lag_bytes = p->lag_bytes.load();
        if (p) {
            f.copy_throttled = p->copy_throttled;
            if (f.copy_throttled) f.throttle_reason = p->throttle.get().text;
            f.cutover_attempts = p->cutover_attempts;
        }
        return f;
    }

    // run_failure_hook: on-failure, with the reason; the run is over, so nothing can stop it
    // but its timeout.
    void run_failure_hook(const state::job_record& job, const std::exception& e) {
        if (!hooks_) return;
        auto f = figures(job, job.phase, nullptr);
        f.error = e.what();
        hooks_->run(hooks::hook_event::on_failure, f);
    }

    // notify: a hook whose exit status changes nothing (before-copy, after-copy, on-status),
    // run off the event loop.
    asio::awaitable<void> notify(hooks::hook_event event, const state::job_record& job,
                                 const std::string& phase, const base::progress& progress,
                                 const std::atomic<bool>& stop) {
        if (!hooks_) co_return;
        co_await hooks::run_hook_async(*hooks_, event, figures(job, phase, &progress), &stop);
    }

    // status_hooks: on-status every --hooks-status-interval until the run stops.
    asio::awaitable<void> status_hooks(const state::job_record& job, const base::progress& progress,
                                       const monitor::job_monitor& monitor,
                                       const std::atomic<bool>& stop) {
        asio::steady_timer tick(co_await asio::this_coro::executor);
        auto next = std::chrono::steady_clock::now() + options_.status_hook_interval;
        while (!stop) {
            tick.expires_after(200ms);
            co_await tick.async_wait(asio::use_awaitable);
            if (stop || std::chrono::steady_clock::now() < next) continue;
            co_await notify(hooks::hook_event::on_status, job, monitor.phase(), progress, stop);
            next = std::chrono::steady_clock::now() + options_.status_hook_interval;
        }
    }

    // reload_job: the job's row as saved now (nullopt once aborted), over the control
    // connection with its reconnects.
    std::optional<state::job_record> reload_job(const std::string& name) {
        return with_control([&](pg::connection& c) { return state::load_job(c, name); });
    }

    // record_failure keeps the reason a job stopped in partshift.jobs, for `status`.
    void record_failure(const state::job_record& job, const std::exception& e) {
        try {
            with_control([&](pg::connection& c) { state::set_last_error(c, job.job, e.what()); });
        } catch (...) {
            // The server is gone for good; the message still reaches the user on stderr.
        }
    }

    // with_control runs a short control statement during the run phases, reconnecting with
    // backoff when the server went away (a restart must not end a long-running follow).
    template <typename F>
    std::invoke_result_t<F, pg::connection&> with_control(F&& body) {
        for (int attempt = 0;; ++attempt) {
            try {
                if (PQstatus(control_.native()) != CONNECTION_OK) {
                    control_ = pg::connection(options_.dsn, state::run_application_name());
                    // The lock died with the old session; nobody may have taken it meanwhile.
                    lock_tables();
                }
                return body(control_);
            } catch (const pg::pg_error& e) {
                if (!e.is_connection_loss() || attempt >= 6) throw;
                spdlog::warn("control connection lost ({}); retrying", e.what());
                std::this_thread::sleep_for(std::chrono::seconds(1 << std::min(attempt, 4)));
            }
        }
    }

    state::job_record load_or_prepare() {
        auto existing = state::load_job(control_, options_.job);
        if (existing && existing->phase == state::phase::preparing) {
            // Interrupted while preparing: nothing was copied yet; start that step over.
            spdlog::warn("job {} was interrupted while preparing; preparing again", existing->job);
            teardown::remove_server_objects(control_, *existing);
            state::delete_job(control_, existing->job);
            existing.reset();
        }
        if (existing) {
            check_same_job(*existing);
            // Judged afresh on every run (the table owner's code): the verdict of the run that
            // started the job is not carried over.
            throw_if_failed(/*resumed=*/true);
            check_same_members(*existing);
            // A job started by an older partshift: tables and columns added since (e.g.
            // partshift.skipped_keys) must exist before the roles use them.
            state::ensure_schema(control_);
            return *existing;
        }
        throw_if_failed(/*resumed=*/false);
        try {
            prepare();
        } catch (...) {
            // A failed prepare (e.g. the slot was blocked) leaves nothing behind.
            try {
                if (auto half = state::load_job(control_, options_.job)) {
                    teardown::remove_server_objects(control_, *half);
                    spool::remove_job_spool(half->spool_dir, half->job, half->slot_name,
                                            state::cluster_identity(control_));
                    state::delete_job(control_, half->job);
                }
            } catch (const std::exception& e) {
                spdlog::warn(
                    "could not clean up after the failed prepare: {}; run "
                    "'partshift abort' to finish",
                    e.what());
            }
            throw;
        }
        return *state::load_job(control_, options_.job);
    }

    // throw_if_failed: the first fatal preflight failure of the job's tables (a multi-table
    // job: one verdict for all its tables); resumed: only the checks a resumed job meets too.
    void throw_if_failed(bool resumed) const {
        if (const auto* failed = plan::first_fatal_failure(inputs_.checks, resumed))
            throw preflight_error("preflight failed: " + failed->message);
        for (const auto& m : inputs_.members)
            if (const auto* failed = plan::first_fatal_failure(m.checks, resumed))
                throw preflight_error("preflight failed: " + catalog::qualified(m.table.name) + ": " +
                                      failed->message);
    }

    void check_same_job(const state::job_record& job) {
        if (job.phase == state::phase::done)
            throw usage_error("job " + job.job + " is already done (cut over)");
        if (job.source_schema != inputs_.table.name.schema ||
            job.source_table != inputs_.table.name.name)
            throw usage_error("job " + job.job + " migrates " + job.source_schema + "." +
                              job.source_table + ", not this table; pick another --job");
        if (job.spec != serialized_spec(inputs_.plan.spec)) {
            proto::job_spec stored;
            stored.ParseFromString(job.spec);
            throw usage_error("job " + job.job + " was started with " +
                              state::describe_spec(state::from_proto(stored)) +
                              "; resume it with the same options, or run 'partshift abort' first");
        }
    }

    void prepare() {
        // First, before the server has anything to clean up: the spool root, and the job's
        // spool in it (named and marked by cluster, database and job, so the same job name on
        // another server or database sharing the root never lands here).
        spool::check_spool_root(options_.spool_root);
        const auto& plan = inputs_.plan;
        const auto identity = state::cluster_identity(control_);
        const auto slot_name = state::slot_name(
            control_.exec("SELECT pg_catalog.current_database()").get(0, 0), options_.job);
        const auto spool_dir =
            std::filesystem::absolute(
                std::filesystem::path(options_.spool_root) /
                state::spool_dir_name(identity.system_identifier, identity.database_oid,
                                      options_.job))
                .string();
        spool::replace_job_spool(spool_dir, options_.job, slot_name, identity);
        state::ensure_schema(control_);
        state::job_record rec;
        rec.job = options_.job;
        rec.source_schema = plan.source.schema;
        rec.source_table = plan.source.name;
        rec.target_schema = plan.target.schema;
        rec.target_table = plan.target.name;
        rec.final_name = plan.final_name;
        rec.old_name = options_.old_name.empty() ? pg::fit_identifier(plan.final_name + "_old")
                                                 : options_.old_name;
        rec.publication_name = state::object_name(options_.job);  // per database
        rec.slot_name = slot_name;
        rec.spec = serialized_spec(plan.spec);
        rec.spool_dir = spool_dir;
        rec.phase = state::phase::preparing;
        rec.rows_estimate = inputs_.table.row_estimate;
        if (multi_table()) rec.group_job = rec.job;
        state::insert_job(control_, rec);
        // A multi-table job's other tables: rows of their own (source, target, spec, chunks),
        // sharing the job's slot, publication and spool.
        for (size_t i = 0; i < inputs_.members.size(); ++i) {
            const auto& m = inputs_.members[i];
            state::job_record member = rec;
            member.job = member_job_name(rec.job, m.table.name);
            member.source_schema = m.plan.source.schema;
            member.source_table = m.plan.source.name;
            member.target_schema = m.plan.target.schema;
            member.target_table = m.plan.target.name;
            member.final_name = m.plan.final_name;
            member.old_name =
                m.old_name.empty() ? pg::fit_identifier(m.plan.final_name + "_old") : m.old_name;
            member.spec = serialized_spec(m.plan.spec);
            member.rows_estimate = m.table.row_estimate;
            member.group_position = static_cast<int>(i) + 1;
            state::insert_job(control_, member);
        }

        {
            pg::transaction tx(control_);
            for (const auto& t : tables())
                for (const auto& statement : plan::sql_statements(*t.plan, /*with_indexes=*/false))
                    control_.exec(statement);
            tx.commit();
        }
        create_group_foreign_keys();
        // Re-partitioning: the tree as it is before the slot exists; from here on a change of
        // it stops the job (partition_watch, and the cutover under its lock).
        state::record_source_partitions(control_, rec.job, inputs_.table.partitions);
        std::string published;
        for (const auto& t : tables())
            published += (published.empty() ? "" : ", ") + catalog::qualified(t.plan->source);
        stream::create_publication(control_, rec.publication_name, published);
        asio::io_context io;
        auto future = asio::co_spawn(
            io, stream::create_slot(options_.dsn, rec.slot_name, options_.slot_timeout),
            asio::use_future);
        io.run();
        auto slot = future.get();
        state::set_l0(control_, rec.job, slot.consistent_point);
        state::set_phase(control_, rec.job, state::phase::copy);
        spdlog::info("prepared: target {}.{}, publication and slot {} at {}", rec.target_schema,
                     rec.target_table, rec.slot_name, stream::format_lsn(slot.consistent_point));
    }

    // create_group_foreign_keys: a multi-table job's keys between its partitioned tables
    // (plan::group_plan), made while the tables are empty: the referenced tables' primary keys
    // first, then the keys.
    void create_group_foreign_keys() {
        const auto& group = inputs_.group;
        if (group.fks.empty()) return;
        const auto all = tables();
        for (size_t i = 0; i < all.size() && i < group.primary_key_first.size(); ++i) {
            if (!group.primary_key_first[i]) continue;
            auto indexes = indexes_to_build(*all[i].table, *all[i].plan);
            std::erase_if(indexes, [](const copy::index_to_build& x) { return !x.is_primary; });
            std::atomic<bool> never{false};
            copy::index_build_options o;
            o.workers = 1;
            copy::build_indexes_blocking(options_.dsn, all[i].plan->target, indexes, o, never,
                                         /*unique_only=*/false);
        }
        pg::transaction tx(control_);
        for (const auto& fk : group.fks) control_.exec(fk.sql);
        tx.commit();
        spdlog::info("prepared: {} foreign key(s) between the partitioned tables", group.fks.size());
    }

    // The slot acknowledges what the spool holds, so running a resumed job against a missing
    // or foreign spool would silently lose changes: refuse instead. A spool made by a
    // partshift from before spool identities (its marker names the job and slot only) is
    // still this job's: its marker gains the cluster and database. Its root must still be one
    // only this user (or root) can change.
    void check_spool_belongs_to_job(const state::job_record& job) {
        const auto identity =
            with_control([](pg::connection& c) { return state::cluster_identity(c); });
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
        spool::check_trusted_directory(
            std::filesystem::path(job.spool_dir).parent_path().string(),
            "the spool root of job " + job.job, /*sticky_ok=*/true);
        if (check.state == spool::marker_state::earlier_version) {
            spool::adopt_job_spool(job.spool_dir, job.job, job.slot_name, identity);
            spdlog::info("spool {} was made by an earlier partshift; its JOB marker now names "
                         "cluster {} and database {}",
                         job.spool_dir, identity.system_identifier, identity.database_oid);
        }
    }

    // check_spool_covers_acknowledged: everything the slot acknowledged must be applied on the
    // target or held by the spool (the server never sends it again). Recovery cuts a damaged
    // tail off the spool and a deleted last segment takes its records with it: refuse to go
    // on with such a hole (issue 8 item 3).
    void check_spool_covers_acknowledged(const state::job_record& job,
                                         const spool::spool_writer& writer) {
        auto r = with_control([&](pg::connection& c) {
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
            stream::format_lsn(spooled) + ": the changes in between were damaged or deleted from "
            "the spool and the server will not send them again. Run 'partshift abort' and start "
            "the job again");
    }

    int run_phases(state::job_record job) {
        asio::io_context io;
        std::atomic<bool> stop{false};
        std::exception_ptr failure;
        base::progress progress;
        progress.rows_estimate = job.rows_estimate;
        progress.rows_copied = job.rows_copied;
        progress.applied_lsn = job.applied_lsn.value_or(0);
        // durable_applied_lsn stays 0 until the applier has seen the target's WAL flushed.

        check_spool_belongs_to_job(job);
        with_control([&](pg::connection& c) { state::reset_live_figures(c, job.job); });
        // Live controls: this run's flags, else what the row kept (partshift set / pause).
        const auto controls = with_control([&](pg::connection& c) {
            state::upgrade_schema(c);
            return state::settle_run_controls(
                c, job.job, options_.max_copy_rate,
                options_.max_lag_given ? std::optional(options_.max_lag) : std::nullopt,
                options_.max_lag, throttle::describe(options_.throttle),
                options_.copy_workers_given ? std::optional(options_.copy_workers) : std::nullopt,
                options_.copy_workers);
        });
        progress.copy_paused = controls.copy_paused;
        progress.copy_workers = controls.copy_workers;
        workers_in_effect_ = controls.copy_workers;
        progress.max_copy_rate = controls.max_copy_rate;
        progress.max_lag_micros =
            std::chrono::duration_cast<std::chrono::microseconds>(controls.max_lag).count();
        if (controls.copy_paused)
            spdlog::info("the copy is paused ('partshift resume --job {}' lets it go on)", job.job);
        // A slot the server invalidated cannot be resumed from: say so before anything else.
        with_control([&](pg::connection& c) {
            throttle::check_slot_not_lost(c, job.slot_name, job.job);
        });
        spool::spool_writer writer(job.spool_dir);
        check_spool_covers_acknowledged(job, writer);
        // And nothing in between is missing or damaged: segments in the middle of the spool.
        spool::check_segment_chain(job.spool_dir, job.applied_lsn.value_or(0));
        spool_sink sink(writer);

        asio::signal_set signals(io, SIGINT, SIGTERM);
        signals.async_wait([&](boost::system::error_code ec, int sig) {
            if (ec) return;
            spdlog::info("received signal {}: stopping, the checkpoint is kept", sig);
            stop = true;
        });
        auto fail = [&](std::exception_ptr e) {
            if (e && !failure) failure = e;
            stop = true;
        };

        stream::streamer streamer({options_.dsn, job.slot_name, job.publication_name,
                                   std::max(job.l0_lsn.value_or(0), job.applied_lsn.value_or(0))},
                                  sink, progress, stop);
        monitor::job_monitor monitor({options_.dsn, job.job, job.slot_name}, progress, stop);
        monitor.set_phase(job.phase);

        asio::co_spawn(io, streamer.run(), fail);
        asio::co_spawn(io, monitor.run(), [&](std::exception_ptr e) {
            if (e) spdlog::warn("status updates stopped");
        });
        throttle::throttler_options throttle_options;
        throttle_options.dsn = options_.dsn;
        throttle_options.job = job.job;
        throttle_options.slot_name = job.slot_name;
        throttle_options.limits = options_.throttle;
        throttle_options.slot_wal_limit = options_.slot_wal_limit;
        throttle::throttler throttler(throttle_options, progress, stop);
        // The WAL guard ends the run through here (exit 5, or 1 for a lost slot).
        asio::co_spawn(io, throttler.run(), fail);
        // Re-partitioning only: a reverse job (revert window) also reads a partitioned table,
        // the one partshift built.
        if (inputs_.table.relkind == 'p' && !job.reverse_of) {
            partition_watch_options watch{options_.dsn, job.job, inputs_.table.oid,
                                          catalog::qualified(inputs_.table.name)};
            // Test hook: a long interval leaves a change to the cutover's own check.
            if (const char* ms = std::getenv("PARTSHIFT_TEST_PARTITION_CHECK_MS"))
                watch.interval = std::chrono::milliseconds(std::atoi(ms));
            asio::co_spawn(io, watch_partitions(std::move(watch), stop), fail);
        }
        if (exporter_)
            asio::co_spawn(io,
                           metrics::publish_metrics(*exporter_, progress,
                                                    [&monitor] { return monitor.phase(); }, stop),
                           asio::detached);
        if (hooks_)
            asio::co_spawn(io, status_hooks(job, progress, monitor, stop), asio::detached);
        asio::co_spawn(io, phase_script(job, writer, progress, monitor, stop),
                       [&](std::exception_ptr e) {
                           fail(e);
                           signals.cancel();
                       });
        io.run();

        if (failure) std::rethrow_exception(failure);
        auto saved = reload_job(job.job);
        if (saved && saved->phase == state::phase::done) {
            // The swap committed (in the same transaction as phase 'done').
            auto summary = with_control([&](pg::connection& c) {
                return cutover::finish_after_swap(c, *saved, cutover_.swapped ? &cutover_.swap : nullptr,
                                                  figures_);
            });
            spdlog::info("done: {}", summary);
            if (options_.partman)
                with_control([&](pg::connection& c) { hand_over_to_partman(c, *saved); });
            if (hooks_) {
                auto f = figures(*saved, state::phase::done, &progress);
                if (cutover_.swapped) f.lock_hold_ms = cutover_.lock_hold_ms;
                hooks_->run(hooks::hook_event::after_cutover, f);
            }
            return 0;
        }
        if (cutover_gave_up_) {
            // A request from `partshift cutover` was answered (no): the next run waits for a
            // new one.
            with_control([&](pg::connection& c) { state::set_cutover_requested(c, job.job, false); });
            throw cutover_error(*cutover_gave_up_);
        }
        spdlog::info("stopped in phase {}; run again to resume", saved ? saved->phase : "?");
        return 0;
    }

    asio::awaitable<void> phase_script(state::job_record job, spool::spool_writer& writer,
                                       base::progress& progress, monitor::job_monitor& monitor,
                                       std::atomic<bool>& stop) {
        auto set_phase = [&](const char* phase) {
            with_control([&](pg::connection& c) { state::set_phase(c, job.job, phase); });
            job.phase = phase;
            monitor.set_phase(phase);
            spdlog::info("phase {}", phase);
        };

        if (job.phase == state::phase::copy) {
            co_await test_pause();
            co_await notify(hooks::hook_event::before_copy, job, job.phase, progress, stop);
            if (stop) co_return;
            copy::copy_options copy_options;
            copy_options.workers = progress.copy_workers;
            copy_options.live_workers = &progress.copy_workers;
            copy_options.relay_always = options_.copy_through_partshift;
            throttle::copy_gate gate(progress);
            copy_options.gate = &gate;
            progress.copy_active = true;
            std::atomic<bool> copy_finished{false};
            asio::co_spawn(co_await asio::this_coro::executor,
                           monitor::show_copy_progress(progress, copy_finished), asio::detached);
            copy::copy_result result;
            std::exception_ptr copy_error;
            // A multi-table job copies its tables one after the other, each with every worker;
            // their chunks are kept under each table's own row.
            try {
                for (const auto& t : tables()) {
                    auto spec = copy::make_copy_spec(*t.table, t.target);
                    if (multi_table()) spdlog::info("copy: {}", catalog::qualified(t.table->name));
                    auto one = co_await copy::run_copy(options_.dsn, t.job, spec, copy_options,
                                                       progress, stop);
                    result.rows_copied += one.rows_copied;
                    result.chunks_total += one.chunks_total;
                    result.completed = one.completed;
                    if (!one.completed || stop) break;
                }
                if (result.completed && multi_table())
                    with_control([&](pg::connection& c) { state::set_group_window_end(c, job.job); });
            } catch (...) {
                copy_error = std::current_exception();
            }
            copy_finished = true;
            progress.copy_active = false;
            if (copy_error) std::rethrow_exception(copy_error);
            if (!result.completed || stop) co_return;
            spdlog::info("copy done: {} rows in {} chunks", result.rows_copied,
                         result.chunks_total);
            co_await notify(hooks::hook_event::after_copy, job, job.phase, progress, stop);
            set_phase(state::phase::index);
        }
        if (job.phase == state::phase::index) {
            co_await test_pause();
            if (stop) co_return;
            if (!co_await build_indexes(stop) || stop) co_return;
            set_phase(state::phase::replay);
        }
        co_await test_pause();
        if (stop) co_return;
        co_await replay_and_follow(job, writer, progress, monitor, stop);
    }

    // indexes_to_build: the plan's indexes in the form the index builder takes. The primary
    // key's columns are the source key plus the partition keys (DESIGN.md step 4).
    static std::vector<copy::index_to_build> indexes_to_build(const catalog::table_model& table,
                                                              const plan::target_plan& plan) {
        std::vector<copy::index_to_build> out;
        for (const auto& planned : plan.indexes) {
            copy::index_to_build index;
            index.name = planned.name;
            index.using_clause = planned.using_clause;
            index.is_primary = planned.is_primary;
            index.is_unique = planned.is_unique;
            if (planned.is_primary) {
                if (const auto* pk = table.primary_key()) index.key_columns = pk->key_columns;
                auto add = [&](const std::string& key) {
                    if (std::find(index.key_columns.begin(), index.key_columns.end(), key) ==
                        index.key_columns.end())
                        index.key_columns.push_back(key);
                };
                add(plan.spec.level1.key);
                if (plan.spec.level2) add(plan.spec.level2->key);
            }
            out.push_back(std::move(index));
        }
        return out;
    }

    // build_indexes: the primary key and non-unique indexes (phase index), or with
    // `unique_only` the secondary UNIQUE indexes, built concurrently during follow.
    // Every table's, one table after the other.
    asio::awaitable<bool> build_indexes(std::atomic<bool>& stop, bool unique_only = false) {
        copy::index_build_options index_options;
        index_options.workers = workers_in_effect_;
        for (const auto& t : tables()) {
            // Named arguments, not temporaries: GCC 12 mis-destroys prvalues in co_await
            // operands.
            catalog::qualified_name target = t.target;
            auto indexes = indexes_to_build(*t.table, *t.plan);
            auto build =
                unique_only
                    ? copy::build_unique_indexes(options_.dsn, target, indexes, index_options, stop)
                    : copy::build_indexes(options_.dsn, target, indexes, index_options, stop);
            if (!co_await std::move(build)) co_return false;
        }
        co_return true;
    }

    bool has_unique_indexes() const {
        for (const auto& t : tables())
            for (const auto& i : t.plan->indexes)
                if (i.is_unique && !i.is_primary) return true;
        return false;
    }

    asio::awaitable<void> replay_and_follow(state::job_record& job, spool::spool_writer& writer,
                                            base::progress& progress, monitor::job_monitor& monitor,
                                            std::atomic<bool>& stop) {
        auto ex = co_await asio::this_coro::executor;
        auto fresh = reload_job(job.job);
        apply::applier_options apply_options;
        apply_options.dsn = options_.dsn;
        apply_options.job = job.job;
        apply_options.target = {job.target_schema, job.target_table};
        apply_options.fence_prefix = state::fence_prefix(job.job);
        if (const char* ms = std::getenv("PARTSHIFT_TEST_APPLY_DELAY_MS"))
            apply_options.test_delay_per_transaction = std::chrono::milliseconds(std::atoi(ms));
        // One applier for every table of the job: one target transaction, one applied LSN,
        // the source's commit order across the tables.
        std::vector<apply::relation_target> relations;
        for (const auto& t : tables()) {
            apply::relation_target r;
            r.source = t.table;
            r.target = t.target;
            // A reverse job (revert window) applies into the plain NAME_old: no partitions.
            if (!t.plan->spec.level1.key.empty())
                r.partition_columns.push_back(t.plan->spec.level1.key);
            if (t.plan->spec.level2) r.partition_columns.push_back(t.plan->spec.level2->key);
            r.skipped_keys_job = t.job;
            relations.push_back(std::move(r));
        }
        apply::applier applier(std::move(relations), apply_options, progress);
        std::optional<spool_feed> feed;
        feed.emplace(writer, fresh->applied_lsn.value_or(0), stop);
        stream::lsn_t window_end = fresh->max_chunk_high_lsn.value_or(0);

        // The secondary UNIQUE indexes (DESIGN.md step 6), built beside the applier once in
        // follow. A failure stops the job and is rethrown below; a stop cancels the build and
        // a rerun finishes it.
        bool unique_running = false;
        bool unique_done = false;
        std::exception_ptr unique_error;
        auto start_unique_build = [&] {
            if (!has_unique_indexes()) return;
            spdlog::info("building the unique indexes concurrently");
            unique_running = true;
            asio::co_spawn(ex, build_indexes(stop, /*unique_only=*/true),
                           [&](std::exception_ptr e, bool built) {
                               unique_running = false;
                               if (e) {
                                   unique_error = e;
                                   stop = true;
                               } else if (built) {
                                   unique_done = true;
                                   spdlog::info("unique indexes built");
                               } else {
                                   spdlog::info("unique index build stopped; a rerun finishes it");
                               }
                           });
        };

        // The cutover runs on a thread of its own (blocking libpq: lock, fence, swap) while the
        // streamer and the applier go on here, applying the tail up to the fence.
        std::optional<std::thread> cutover_thread;
        std::atomic<bool> cutover_finished{false};
        std::exception_ptr cutover_failure;
        auto start_cutover = [&] {
            cutover::cutover_options o;
            o.dsn = options_.dsn;
            o.job = *reload_job(job.job);
            if (multi_table())
                with_control([&](pg::connection& c) {
                    for (auto& r : state::load_group(c, job.job))
                        if (r.is_group_member()) o.members.push_back(std::move(r));
                });
            o.lock_timeout = options_.lock_timeout;
            o.max_lock_hold = options_.max_lock_hold;
            o.attempts = options_.cutover_attempts;
            o.drop_unrepointable_fks = options_.drop_unrepointable_fks;
            o.terminate_blockers_after = options_.terminate_blockers_after;
            figures_.lag_seconds = static_cast<double>(progress.lag_micros) / 1e6;
            cutover::cutover_hooks hooks;
            hooks.applier_current = [&progress] {
                return follow_watcher::lag_within(
                    progress.lag_micros, std::chrono::microseconds(progress.max_lag_micros));
            };
            hooks.attempt_finished = [&progress](const cutover::cutover_result& r) {
                progress.cutover_attempts = r.attempts;
                if (r.swapped) progress.last_lock_hold_ms = r.lock_hold_ms;
            };
            hooks.applied_fence_lsn = [&applier] { return applier.fence_lsn(); };
            hooks.stopping = [&stop] { return stop.load(); };
            o.reverting = o.job.reverse_of.has_value();
            cutover_thread.emplace([&, o, hooks]() mutable {
                std::optional<state::job_record> reverse;
                try {
                    if (options_.verify && !o.reverting) {
                        verify_before_swap(o.job, progress, stop);
                        for (const auto& member : o.members)
                            verify_before_swap(member, progress, stop);
                    }
                    if (o.reverting) {
                        hooks.in_swap_transaction = [forward = *o.job.reverse_of](
                                                        pg::connection& c) {
                            state::mark_reverted(c, forward);
                        };
                    } else if (auto window = revert_window_for(o.job)) {
                        pg::connection conn(options_.dsn, "partshift-control");
                        reverse = prepare_reverse_stream(options_.dsn, conn, o.job,
                                                         options_.slot_timeout);
                        hooks.in_swap_transaction = [job = o.job, r = *reverse,
                                                     w = *window](pg::connection& c) {
                            state::open_revert_window(c, job, r, w);
                        };
                    }
                    cutover_ = cutover::run_cutover(o, hooks);
                } catch (...) {
                    cutover_failure = std::current_exception();
                }
                if (reverse) drop_unused_reverse_stream(o.job, *reverse);
                cutover_finished = true;
            });
        };

        follow_watcher_options watch;
        watch.window_end = window_end;
        watch.in_follow = job.phase == state::phase::follow;
        watch.dry_run_for = options_.dry_run_for;
        watch.cut_over = !options_.dry_run;
        watch.postpone = options_.postpone_cutover;
        watch.postpone_flag_file = options_.postpone_flag_file;
        watch.hook_retry = options_.before_cutover_retry;
        bool unique_built = !has_unique_indexes();
        follow_watcher_hooks hooks;
        hooks.backlog_applied = [&] { return feed->caught_up(); };
        hooks.enter_follow = [&]() -> asio::awaitable<void> {
            // Not set_phase: its blocking wait for the job row, which the applier's open batch
            // may hold (its checkpoint), would stall the loop the applier needs to commit.
            auto conn = co_await pg::async_connection::connect(options_.dsn, "partshift-control");
            std::string sql = state::set_phase_sql;
            co_await conn.exec(std::move(sql), pg::make_params(job.job, state::phase::follow));
            job.phase = state::phase::follow;
            monitor.set_phase(state::phase::follow);
            spdlog::info("phase {}", state::phase::follow);
            start_unique_build();
        };
        hooks.indexes_ready = [&] { return unique_built || unique_done; };
        hooks.remove_applied_segments = [&] {
            // Only what the target has flushed: its apply commits are asynchronous.
            spool::remove_applied_segments(writer.dir(), progress.durable_applied_lsn);
        };
        if (hooks_)
            hooks.before_cutover = [&]() -> asio::awaitable<std::optional<std::string>> {
                auto outcome = co_await hooks::run_hook_async(
                    *hooks_, hooks::hook_event::before_cutover,
                    figures(job, job.phase, &progress), &stop);
                if (outcome.ok()) co_return std::nullopt;
                co_return outcome.describe(hooks::hook_event::before_cutover);
            };
        hooks.start_cutover = start_cutover;
        hooks.cutover_finished = [&] { return cutover_finished.load(); };
        follow_watcher watcher(watch, hooks, progress, stop);
        if (watch.in_follow) start_unique_build();
        bool watcher_done = false;
        asio::co_spawn(ex, watcher.run(), [&](std::exception_ptr e) {
            watcher_done = true;
            if (e) {
                if (!unique_error) unique_error = e;  // reaches the exit code below
                stop = true;
            }
        });
        std::exception_ptr apply_error;
        auto backoff = 1s;
        while (!stop) {
            bool reconnect = false;
            try {
                co_await applier.run(*feed);
            } catch (const pg::pg_error& e) {
                // No rethrow here: the watcher below must be waited for before leaving.
                if (e.is_connection_loss()) {
                    count_error();
                    spdlog::warn("apply connection lost ({}); resuming from the checkpoint in {}s",
                                 e.what(), backoff.count());
                    reconnect = true;
                } else {
                    apply_error = std::current_exception();
                }
            } catch (...) {
                apply_error = std::current_exception();
            }
            if (!reconnect) break;
            asio::steady_timer pause(ex, backoff);
            co_await pause.async_wait(asio::use_awaitable);
            backoff = std::min(backoff * 2, std::chrono::seconds(30));
            // Uncommitted work died with the connection: read again from what is committed.
            auto saved = reload_job(job.job);
            feed.emplace(writer, saved->applied_lsn.value_or(0), stop);
        }
        // The watcher and the unique build refer to this frame's locals: let them finish
        // before they go.
        stop = true;
        asio::steady_timer wait(ex);
        while (!watcher_done || unique_running || (cutover_thread && !cutover_finished)) {
            wait.expires_after(50ms);
            co_await wait.async_wait(asio::use_awaitable);
        }
        if (cutover_thread) cutover_thread->join();
        if (cutover_failure) std::rethrow_exception(cutover_failure);
        if (cutover_thread && !cutover_.swapped && !cutover_.stopped)
            cutover_gave_up_ = "cutover not performed after " + std::to_string(cutover_.attempts) +
                               " attempt(s): " + cutover_.last_failure +
                               "; the source is untouched and the job can be resumed (run again)";
        if (cutover_.swapped) {
            figures_.attempts = cutover_.attempts;
            figures_.lock_hold_ms = cutover_.lock_hold_ms;
            figures_.tail_apply_ms = cutover_.tail_apply_ms;
        }
        if (apply_error && !cutover_.swapped) std::rethrow_exception(apply_error);
        if (unique_error) std::rethrow_exception(unique_error);
    }

    // revert_window_for: the window this job's cutover opens: `partshift cutover
    // --revert-window` (kept in the row) over run --revert-window; none for a reverse job.
    std::optional<std::chrono::milliseconds> revert_window_for(const state::job_record& job) const {
        if (job.reverse_of) return std::nullopt;
        if (job.revert_window_ms) return std::chrono::milliseconds(*job.revert_window_ms);
        return options_.revert_window;
    }

    // drop_unused_reverse_stream: a cutover that did not swap (or whose outcome a lost
    // connection hid) leaves the reverse stream it prepared; unless the job's row says the
    // window opened, drop it, so its slot does not pin WAL until the next attempt.
    void drop_unused_reverse_stream(const state::job_record& job, const state::job_record& reverse) {
        try {
            pg::connection conn(options_.dsn, "partshift-control");
            auto now = state::load_job(conn, job.job);
            if (now && now->revert_state == std::string(state::revert_state::open)) return;
            teardown::drop_reverse_stream(conn, reverse);
        } catch (const std::exception& e) {
            spdlog::warn("could not drop the revert window's slot {} ({}); 'partshift abort' "
                         "or the next cutover drops it",
                         reverse.slot_name, e.what());
        }
    }

    // verify_before_swap (run --verify, on the cutover thread): every key range of source and
    // target compared while the applier follows; a real mismatch refuses the cutover.
    void verify_before_swap(const state::job_record& job, const base::progress& progress,
                            const std::atomic<bool>& stop) {
        spdlog::info("verify: comparing {}.{} with {}.{} before the cutover", job.source_schema,
                     job.source_table, job.target_schema, job.target_table);
        verify::verify_options o;
        o.wait = verify::applier_wait::always;
        o.stop = &stop;
        // Applied up to `lsn`: the applied LSN passed it, or everything up to it is spooled and
        // every spooled transaction applied (an idle source moves no applied LSN).
        o.wait_for_applier = [&progress, &stop](state::lsn_t lsn, std::chrono::milliseconds limit) {
            const auto until = std::chrono::steady_clock::now() + limit;
            while (std::chrono::steady_clock::now() < until && !stop) {
                if (progress.applied_lsn >= lsn ||
                    (progress.spooled_lsn >= lsn &&
                     progress.applied_lsn >= progress.spooled_commit_lsn))
                    return true;
                std::this_thread::sleep_for(20ms);
            }
            return false;
        };
        auto report = verify::verify_job(options_.dsn, job, o);
        spdlog::info("verify: {} key ranges, {} rows on each side, {} still changing",
                     report.chunks_total, report.rows_left, report.still_changing.size());
        if (!report.ok())
            throw runtime_error("verify found " + std::to_string(report.mismatches.size()) +
                                " mismatched key range(s) and " +
                                std::to_string(report.duplicate_keys_total) +
                                " duplicate key(s) between source and target; not cutting "
                                "over (run 'partshift verify' for the ranges)");
    }

    const run_options& options_;
    const job_inputs& inputs_;
    metrics::metrics_exporter* exporter_;  // null without --metrics-addr
    std::optional<hooks::hook_runner> hooks_;  // without --hooks-dir: none
    int workers_in_effect_ = 2;  // --copy-workers, or what `partshift set` kept in the row
    std::map<std::string, catalog::qualified_name> stored_targets_;  // row → its target
    pg::connection control_;
    cutover::cutover_result cutover_;
    cutover::swap_figures figures_;
    std::optional<std::string> cutover_gave_up_;
};

}  // namespace

std::string member_job_name(const std::string& job, const catalog::qualified_name& table) {
    return job + "/" + table.schema + "." + table.name;
}

bool revert_window_open(pg::connection& conn, const std::string& job) {
    state::upgrade_schema(conn);
    auto rec = state::load_job(conn, job);
    return rec && rec->revert_state == std::string(state::revert_state::open);
}

// end_revert_window: the reverse slot, publication and spool go; the window is closed.
// The caller holds the reverse job's run lock.
void end_revert_window(pg::connection& conn, const state::job_record& job) {
    teardown::drop_reverse_stream(conn, teardown::reverse_stream_of(conn, job));
    state::close_revert_window(conn, job.job, state::reverse_job_name(job.job));
    spdlog::info("revert window of job {} closed: its slot and publication are dropped; {}.{} "
                 "is kept as it was at the window's end",
                 job.job, job.source_schema, job.old_name);
}

int follow_revert_window(const run_options& base, const std::string& name,
                         metrics::metrics_exporter* exporter) {
    pg::connection conn(base.dsn, state::run_application_name());
    state::upgrade_schema(conn);
    auto job = state::load_job(conn, name);
    if (!job || job->revert_state != std::string(state::revert_state::open))
        throw usage_error("job " + name + " has no open revert window");
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
        run_options o = base;
        o.job = reverse_name;
        o.dry_run = false;
        o.dry_run_for.reset();
        o.postpone_cutover = true;  // the swap back only when asked: partshift revert
        o.postpone_flag_file.reset();
        o.verify = false;
        o.revert_window.reset();
        o.throttle = {};  // there is no copy to throttle
        // Hooks and pg_partman belong to the migration, not to the stream back: a failing
        // before-cutover hook must not hold up 'partshift revert', and partman never takes
        // over NAME_old.
        o.hooks_dir.clear();
        o.partman = false;
        job_inputs inputs;
        inputs.table = catalog::inspect_table(conn, {reverse->source_schema, reverse->source_table},
                                              catalog::row_estimate::catalog_only);
        // Rows are identified as NAME_old identifies them: by the original's key, not by the
        // partitioned table's (that one adds the partition key, so a row whose partition key
        // changes would look like a different row, and set-based runs could reorder its delete
        // and insert). The partitioned key contains the original's, so every old tuple carries
        // it. The oid and columns stay the partitioned table's: the stream's relation.
        inputs.table.indexes =
            catalog::inspect_table(conn, {reverse->target_schema, reverse->target_table},
                                   catalog::row_estimate::catalog_only)
                .indexes;
        job_runner runner(o, inputs, exporter);
        const int code = runner.run();
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

int run_job(const run_options& options, const job_inputs& inputs) {
    // Listening first: a taken port is bad input, before anything is created.
    std::optional<metrics::metrics_exporter> exporter;
    if (!options.metrics_addr.empty()) {
        exporter.emplace(options.metrics_addr, options.job);
        spdlog::info("serving Prometheus metrics on {}/metrics", options.metrics_addr);
    }
    job_runner runner(options, inputs, exporter ? &*exporter : nullptr);
    const int code = runner.run();
    if (code != 0 || options.dry_run) return code;
    // Cut over with a revert window: this process follows it (the job's own lock stays held).
    pg::connection conn(options.dsn, state::run_application_name());
    if (!revert_window_open(conn, options.job)) return code;
    return follow_revert_window(options, options.job, exporter ? &*exporter : nullptr);
}

int run_revert_window(const run_options& options, const std::string& job) {
    std::optional<metrics::metrics_exporter> exporter;
    if (!options.metrics_addr.empty()) {
        exporter.emplace(options.metrics_addr, options.job);
        spdlog::info("serving Prometheus metrics on {}/metrics", options.metrics_addr);
    }
    return follow_revert_window(options, job, exporter ? &*exporter : nullptr);
}

void finish_revert_window(const std::string& dsn, const std::string& name) {
    pg::connection conn(dsn, state::run_application_name());
    if (!revert_window_open(conn, name))
        throw usage_error("job " + name + " has no open revert window");
    const auto reverse_name = state::reverse_job_name(name);
    state::acquire_run_lock(conn, reverse_name, 10s);
    end_revert_window(conn, *state::load_job(conn, name));
}

namespace {

// has_leftovers: what the steps after a swap remove is still there (a run died after the
// swap's commit).
bool has_leftovers(pg::connection& conn, const state::job_record& job) {
    return stream::slot_exists(conn, job.slot_name) || std::filesystem::exists(job.spool_dir) ||
           conn.query("SELECT 1 FROM pg_publication WHERE pubname = $1", job.publication_name)
                   .rows() > 0;
}

}  // namespace

int finish_cut_over_job(const std::string& dsn, const std::string& name, bool partman) {
    pg::connection conn(dsn, state::run_application_name());
    state::acquire_run_lock(conn, name);
    auto job = state::load_job(conn, name);
    if (!job || job->phase != state::phase::done)
        throw runtime_error("job " + name + " is not cut over");
    // A revert whose run died right after its swap back: the reverse job's steps after the
    // swap (its slot would pin WAL for ever).
    if (job->revert_state == std::string(state::revert_state::reverted)) {
        auto reverse = state::load_job(conn, state::reverse_job_name(name));
        if (reverse && reverse->phase == state::phase::done && has_leftovers(conn, *reverse)) {
            state::acquire_run_lock(conn, reverse->job, 10s);
            spdlog::info("job {} was reverted; finishing the steps after the swap back", name);
            spdlog::info("done: {}", cutover::finish_after_swap(conn, *reverse, nullptr, {}));
        }
    }
    if (has_leftovers(conn, *job)) {
        spdlog::info("job {} was cut over; finishing the steps after the swap", name);
        spdlog::info("done: {}", cutover::finish_after_swap(conn, *job, nullptr, {}));
    } else if (job->revert_state == std::string(state::revert_state::reverted)) {
        // The summary of the swap back is the reverse job's.
        spdlog::info("job {} was cut over and then reverted: {} (start a new attempt with "
                     "another --job)",
                     name, state::job_summary(conn, state::reverse_job_name(name)));
    } else {
        spdlog::info("job {} is already done: {}", name, state::job_summary(conn, name));
    }
    if (partman) hand_over_to_partman(conn, *job);
    return 0;
}

}  // namespace partshift::migrate
