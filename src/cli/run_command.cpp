// partshift run: plan, then run or resume the job (copy ‖ stream → index → replay → follow).
// Wiring only: options → plan pipeline → migrator.
#include <boost/program_options.hpp>
#include <spdlog/spdlog.h>
#include <filesystem>
#include <iostream>

#include "partshift/catalog/table_name.hpp"
#include "partshift/cli/commands.hpp"
#include "partshift/cli/common_options.hpp"
#include "partshift/cli/duration.hpp"
#include "partshift/cli/job_file.hpp"
#include "partshift/cli/partition_options.hpp"
#include "partshift/cli/plan_pipeline.hpp"
#include "partshift/error.hpp"
#include "partshift/hooks/hook_runner.hpp"
#include "partshift/migrate/job_records.hpp"
#include "partshift/migrate/migrator.hpp"
#include "partshift/partman/partman_handoff.hpp"
#include "partshift/pg/quote.hpp"
#include "partshift/plan/preflight.hpp"
#include "partshift/plan/revert_window_check.hpp"
#include "partshift/state/job_store.hpp"
#include "partshift/state/revert_window.hpp"
#include "partshift/throttle/throttle_limits.hpp"
#include "partshift/throttle/throttler.hpp"
#include "partshift/throttle/wal_guard.hpp"

namespace partshift::cli {
namespace po = boost::program_options;

namespace {

po::options_description run_options() {
    po::options_description general("partshift run options");
    general.add_options()("help,h", "show this help")(
        "dsn", po::value<std::string>()->value_name("DSN"), dsn_help)(
        "table", po::value<std::string>()->value_name("NAME"),
        "the table as SQL writes it: billing.events, \"Order Lines\"")(
        "spec", po::value<std::string>()->value_name("FILE"),
        "migrate several tables in one job (instead of --table and PARTITION-OPTIONS): a JSON "
        "job file listing the tables and their partition options; one slot, one applier, one "
        "cutover transaction for all of them")(
        "job", po::value<std::string>()->value_name("NAME"),
        "job name (default: the table name without schema)")(
        "dry-run", po::bool_switch(), "copy, stream and follow, reporting lag; never cut over")(
        "max-lock-hold", po::value<std::string>()->default_value("2s")->value_name("DURATION"),
        "cutover: longest time the source may stay locked; past it, roll back and retry")(
        "verify", po::bool_switch(),
        "cutover: compare source and target (counts and checksums per key range) first, and "
        "refuse to cut over on a mismatch")(
        "drop-unrepointable-fks", po::bool_switch(),
        "cutover: drop inbound foreign keys that cannot reference the partitioned table")(
        "trust-table-owner", po::bool_switch(),
        "accept that functions the table's owner wrote (in its CHECKs, defaults, index "
        "expressions, column types, ...) run with this role's rights; without it, partshift "
        "refuses (exit 3) when the owner is neither this role nor a superuser")(
        "allow-uncarried-dependents", po::bool_switch(),
        "accept that objects depending on the table which the cutover cannot carry over "
        "(inheritance children, columns and functions using its row type, ...) stay bound to "
        "the old table; without it, preflight fails when there are any")(
        "dry-run-for", po::value<std::string>()->value_name("DURATION"),
        "with --dry-run: stop after following this long (e.g. 10m), checkpoint saved")(
        "postpone-cutover", po::bool_switch(), "follow until 'partshift cutover' is run")(
        "copy-workers", po::value<int>()->default_value(2)->value_name("N"),
        "parallel chunk copies")(
        "copy-method", po::value<std::string>()->default_value("insert")->value_name("METHOD"),
        "insert: each chunk is one INSERT … SELECT inside the server (fastest); copy: binary "
        "COPY through partshift (about a third less WAL; what a --max-copy-rate ceiling uses)")(
        "spool-dir", po::value<std::string>()->default_value("partshift-spool")->value_name("DIR"),
        "where the durable change spool lives (a subdirectory per job)")(
        "max-lag", po::value<std::string>()->default_value("1s")->value_name("DURATION"),
        "cut over once lag is at most this")(
        "lock-timeout", po::value<std::string>()->default_value("50ms")->value_name("DURATION"),
        "how long the cutover waits for its lock per attempt (application statements queue "
        "behind it for at most this long)")(
        "cutover-attempts", po::value<int>()->default_value(30)->value_name("N"),
        "cutover lock attempts before giving up (exit 4)")(
        "cutover-terminate-blockers-after", po::value<std::string>()->value_name("DURATION"),
        "cutover: terminate client sessions that have blocked the lock for this long (never "
        "autovacuum against wraparound; off unless given)")(
        "target-name", po::value<std::string>()->value_name("NAME"),
        "name of the partitioned table until cutover (default NAME_new)")(
        "old-name", po::value<std::string>()->value_name("NAME"),
        "name the original table gets at cutover (default NAME_old)")(
        "slot-timeout", po::value<std::string>()->default_value("2m")->value_name("DURATION"),
        "how long creating the slot may wait for transactions already running")(
        "reconnect-for", po::value<std::string>()->default_value("10m")->value_name("DURATION"),
        "when the server goes away (restart, failover), how long to keep trying to resume")(
        "postpone-cutover-flag", po::value<std::string>()->value_name("FILE"),
        "cutover: wait while this file exists (or until 'partshift cutover')")(
        "max-replica-lag", po::value<std::string>()->value_name("DURATION"),
        "throttle the copy while a physical standby's write/flush/replay lag is over this")(
        "max-load", po::value<std::string>()->value_name("SPEC"),
        "throttle the copy while the server is busier than this: "
        "active_backends=N,waiting_backends=N")(
        "max-copy-rate", po::value<std::string>()->value_name("ROWS/s"),
        "copy at most this many rows per second (0: no ceiling; kept with the job, "
        "'partshift set' changes it)")(
        "throttle-query", po::value<std::string>()->value_name("SQL"),
        "throttle the copy while this query returns a number > 0")(
        "slot-wal-limit", po::value<std::string>()->value_name("SIZE"),
        "WAL-retention guard: the most WAL the slot may pin (e.g. 20GB), besides the "
        "server's max_slot_wal_keep_size; warn at 50%, throttle the copy at 75%, stop at 90%")(
        "metrics-addr", po::value<std::string>()->value_name("HOST:PORT"),
        "serve Prometheus metrics at http://HOST:PORT/metrics")(
        "metrics-linger", po::value<std::string>()->default_value("5s")->value_name("DURATION"),
        "once the job is done, keep serving metrics until the next scrape, at most this long "
        "(0: stop at once)")(
        "hooks-dir", po::value<std::string>()->value_name("DIR"),
        "run the executables named before-copy, after-copy, before-cutover, after-cutover, "
        "on-failure, on-status in DIR at those events (a failing before-cutover postpones "
        "the cutover)")(
        "hooks-timeout", po::value<std::string>()->default_value("60s")->value_name("DURATION"),
        "a hook still running after this long is ended (and counts as failed)")(
        "partman", po::bool_switch(),
        "after the cutover, register the table with pg_partman (create_parent, same interval "
        "and premake) so its maintenance creates future partitions")(
        "hooks-status-interval",
        po::value<std::string>()->default_value("10m")->value_name("DURATION"),
        "how often the on-status hook runs")(
        "revert-window", po::value<std::string>()->value_name("DURATION"),
        "after the cutover, keep the original table current from the partitioned one for this "
        "long (e.g. 24h), so 'partshift revert' can swap back without losing a write");
    general.add(partition_options_description());
    return general;
}

// run_group: run --spec, a multi-table job: every table planned, then one job for them all.
int run_group(pg::connection& conn, const job_file& file, migrate::run_options& run,
              const plan::preflight_options& accepted) {
    auto planned = plan_group_migration(conn, file, run.job, accepted);
    for (const auto& m : planned.members)
        if (m.table.relkind == 'p')
            throw usage_error("--spec takes plain tables; " + catalog::qualified(m.table.name) +
                              " is partitioned: re-partition it in a job of its own (--table)");
    if (file.tables.front().old_name) run.old_name = *file.tables.front().old_name;
    auto& first = planned.members.front();
    migrate::job_inputs inputs{std::move(first.table), std::move(first.plan),
                               std::move(first.checks)};
    for (size_t i = 1; i < planned.members.size(); ++i) {
        auto& m = planned.members[i];
        inputs.members.push_back({std::move(m.table), std::move(m.plan), std::move(m.checks),
                                  file.tables[i].old_name.value_or("")});
    }
    inputs.group = std::move(planned.group);
    return migrate::run_job(run, inputs);
}

}  // namespace

int command_run(const arguments& args) {
    const auto options = run_options();
    po::variables_map vm;
    po::store(po::command_line_parser(args).options(options).run(), vm);
    po::notify(vm);
    if (vm.count("help")) {
        std::cout << "usage: partshift run --dsn DSN --table NAME PARTITION-OPTIONS [options]\n\n"
                     "Copies the table into a partitioned one while streaming its changes, follows\n"
                     "them until lag is small, then swaps the tables under a brief lock (not with\n"
                     "--dry-run). Run it again with the same options to resume a stopped job.\n\n"
                  << options << "\n";
        return 0;
    }
    const bool spec_file = vm.count("spec") > 0;
    if (spec_file) {
        for (const char* option : {"table", "partition-by", "target-name", "old-name", "revert-window"})
            if (vm.count(option))
                throw usage_error(std::string("--") + option + " goes without --spec" +
                                  (std::string(option) == "revert-window"
                                       ? " (a multi-table job has no revert window)"
                                       : ": the job file gives each table's own"));
        if (vm["partman"].as<bool>()) throw usage_error("--partman goes without --spec");
    } else if (!vm.count("table")) {
        throw usage_error("--table NAME or --spec FILE is required (try partshift run --help)");
    }
    if (vm.count("dry-run-for") && !vm["dry-run"].as<bool>())
        throw usage_error("--dry-run-for goes with --dry-run");
    if (vm["copy-workers"].as<int>() < 1 || vm["copy-workers"].as<int>() > 64)
        throw usage_error("--copy-workers takes a number from 1 to 64");
    const std::string copy_method = vm["copy-method"].as<std::string>();
    if (copy_method != "insert" && copy_method != "copy")
        throw usage_error("--copy-method is insert or copy, not '" + copy_method + "'");
    if (vm["dry-run"].as<bool>() && vm["postpone-cutover"].as<bool>())
        throw usage_error("--postpone-cutover goes without --dry-run (a dry run never cuts over)");
    if (vm["dry-run"].as<bool>() && vm.count("postpone-cutover-flag"))
        throw usage_error("--postpone-cutover-flag goes without --dry-run (a dry run never cuts over)");
    const auto max_lag = parse_duration(vm["max-lag"].as<std::string>(), "max-lag");
    const auto lock_timeout = parse_duration(vm["lock-timeout"].as<std::string>(), "lock-timeout");
    const auto max_lock_hold =
        parse_duration(vm["max-lock-hold"].as<std::string>(), "max-lock-hold");
    if (lock_timeout.count() < 1) throw usage_error("--lock-timeout must be at least 1ms");
    if (max_lock_hold.count() < 10) throw usage_error("--max-lock-hold must be at least 10ms");
    if (vm["cutover-attempts"].as<int>() < 1 || vm["cutover-attempts"].as<int>() > 10000)
        throw usage_error("--cutover-attempts takes a number from 1 to 10000");

    throttle::throttle_limits limits;
    if (vm.count("max-replica-lag"))
        limits.max_replica_lag =
            parse_duration(vm["max-replica-lag"].as<std::string>(), "max-replica-lag");
    if (vm.count("max-load")) limits.max_load = throttle::parse_load_spec(vm["max-load"].as<std::string>());
    if (vm.count("throttle-query")) limits.throttle_query = vm["throttle-query"].as<std::string>();
    std::optional<double> max_copy_rate;
    if (vm.count("max-copy-rate"))
        max_copy_rate =
            throttle::parse_copy_rate(vm["max-copy-rate"].as<std::string>(), "max-copy-rate");
    const auto hooks_timeout = parse_duration(vm["hooks-timeout"].as<std::string>(), "hooks-timeout");
    const auto status_hook_interval =
        parse_duration(vm["hooks-status-interval"].as<std::string>(), "hooks-status-interval");
    if (hooks_timeout.count() < 100) throw usage_error("--hooks-timeout must be at least 100ms");
    if (status_hook_interval.count() < 1000)
        throw usage_error("--hooks-status-interval must be at least 1s");
    if (vm.count("hooks-dir")) hooks::check_hooks_dir(vm["hooks-dir"].as<std::string>());
    std::optional<int64_t> slot_wal_limit;
    if (vm.count("slot-wal-limit"))
        slot_wal_limit = throttle::parse_size(vm["slot-wal-limit"].as<std::string>(), "slot-wal-limit");

    const bool partman = vm["partman"].as<bool>();
    const auto file = spec_file ? std::optional(read_job_file(vm["spec"].as<std::string>()))
                                : std::nullopt;
    const auto spec = spec_file ? plan::partition_spec{} : partition_spec_from(vm);
    if (partman) partman::check_spec_for_partman(spec);
    plan::plan_names names;
    if (vm.count("target-name")) names.target_name = vm["target-name"].as<std::string>();

    const std::string dsn = vm.count("dsn") ? vm["dsn"].as<std::string>() : std::string();
    auto conn = connect(dsn);
    // Once here, so a typo is bad input rather than a copy that waits forever.
    if (limits.throttle_query) throttle::check_throttle_query(conn, *limits.throttle_query);
    migrate::run_options run;
    run.dsn = dsn;
    // The job's name: --job, else the job file's, else the (first) table's name as the plan
    // will resolve it.
    const auto table_name = catalog::resolve_table_name(
        conn, file ? file->tables.front().table : vm["table"].as<std::string>());
    run.job = vm.count("job")      ? vm["job"].as<std::string>()
              : file && file->job ? *file->job
                                  : table_name.name;
    run.partman = partman;
    run.dry_run = vm["dry-run"].as<bool>();
    run.postpone_cutover = vm["postpone-cutover"].as<bool>();
    run.max_lag = max_lag;
    run.max_lag_given = !vm["max-lag"].defaulted();
    run.max_copy_rate = max_copy_rate;
    run.throttle = limits;
    run.slot_wal_limit = slot_wal_limit;
    if (vm.count("postpone-cutover-flag"))
        run.postpone_flag_file =
            std::filesystem::absolute(vm["postpone-cutover-flag"].as<std::string>()).string();
    if (vm.count("metrics-addr")) run.metrics_addr = vm["metrics-addr"].as<std::string>();
    run.metrics_linger = parse_duration(vm["metrics-linger"].as<std::string>(), "metrics-linger");
    if (vm.count("hooks-dir"))
        run.hooks_dir = std::filesystem::absolute(vm["hooks-dir"].as<std::string>()).string();
    run.hooks_timeout = hooks_timeout;
    run.status_hook_interval = status_hook_interval;
    run.lock_timeout = lock_timeout;
    run.max_lock_hold = max_lock_hold;
    run.cutover_attempts = vm["cutover-attempts"].as<int>();
    if (vm.count("cutover-terminate-blockers-after")) {
        if (vm["dry-run"].as<bool>())
            throw usage_error(
                "--cutover-terminate-blockers-after goes without --dry-run (a dry run never cuts "
                "over)");
        run.terminate_blockers_after = parse_duration(
            vm["cutover-terminate-blockers-after"].as<std::string>(),
            "cutover-terminate-blockers-after");
    }
    run.drop_unrepointable_fks = vm["drop-unrepointable-fks"].as<bool>();
    run.verify = vm["verify"].as<bool>();
    if (vm.count("dry-run-for"))
        run.dry_run_for = parse_duration(vm["dry-run-for"].as<std::string>(), "dry-run-for");
    run.copy_workers = vm["copy-workers"].as<int>();
    run.copy_workers_given = !vm["copy-workers"].defaulted();
    run.copy_through_partshift = copy_method == "copy";
    run.slot_timeout = std::chrono::duration_cast<std::chrono::seconds>(
        parse_duration(vm["slot-timeout"].as<std::string>(), "slot-timeout"));
    if (run.slot_timeout.count() < 1) throw usage_error("--slot-timeout must be at least 1s");
    run.reconnect_for = std::chrono::duration_cast<std::chrono::seconds>(
        parse_duration(vm["reconnect-for"].as<std::string>(), "reconnect-for"));
    run.spool_root = vm["spool-dir"].as<std::string>();
    if (vm.count("old-name")) run.old_name = vm["old-name"].as<std::string>();
    run.target_name = names.target_name;
    if (vm.count("revert-window")) {
        run.revert_window = parse_duration(vm["revert-window"].as<std::string>(), "revert-window");
        if (run.revert_window->count() < 1000)
            throw usage_error("--revert-window must be at least 1s");
        if (partman)
            throw usage_error(
                "--partman goes without --revert-window: pg_partman would go on maintaining a "
                "table that 'partshift revert' swaps away; once the window is over, run the same "
                "command with --partman to register it");
    }

    // A job already cut over: the table is partitioned now and cannot be planned again. A
    // rerun after a crash during the cutover finishes its last steps here; with a revert
    // window open, it follows the window again from its checkpoint.
    if (auto job = state::load_job(conn, run.job); job && job->phase == state::phase::done) {
        // Only the same table with the same options is "already done"; anything else was a
        // new migration asked for under a finished job's name (issue 20 item 3).
        std::optional<catalog::qualified_name> kept;
        if (auto reverse = state::load_job(conn, state::reverse_job_name(run.job)))
            kept = catalog::qualified_name{reverse->source_schema, reverse->old_name};
        const auto& asked = file ? file->tables.front().spec : spec;
        const bool reverted = job->revert_state == std::string(state::revert_state::reverted);
        if (!reverted) migrate::check_done_job_asked_again(*job, table_name, asked, kept);
        const int code = migrate::finish_cut_over_job(dsn, run.job, partman);
        // A reverted job: its leftovers are finished above; then there is nothing to do, so
        // say how to try again rather than exit 0 having done nothing.
        if (reverted) migrate::check_done_job_asked_again(*job, table_name, asked, kept);
        if (job->revert_state == std::string(state::revert_state::open))
            return migrate::run_revert_window(run, run.job);
        if (run.revert_window && !job->revert_state)
            spdlog::warn("job {} was cut over without a revert window; --revert-window applies "
                         "only to a cutover still to come",
                         run.job);
        return code;
    }
    plan::preflight_options accepted;
    accepted.drop_unrepointable_fks = run.drop_unrepointable_fks;
    accepted.trust_table_owner = vm["trust-table-owner"].as<bool>();
    accepted.allow_uncarried_dependents = vm["allow-uncarried-dependents"].as<bool>();
    if (file) return run_group(conn, *file, run, accepted);
    auto planned = plan_migration(conn, vm["table"].as<std::string>(), spec, names, accepted);
    // Before anything is made, and before the plan's lines: its one line is all stderr holds.
    if (run.revert_window)
        if (auto refusal = plan::revert_window_refusal(planned.table, spec))
            throw usage_error(*refusal);
    // Until when the new table takes rows, before anything is made (plan shows the same); not
    // when preflight is about to refuse, whose one line is then all stderr holds.
    const auto coverage = plan::add_coverage_lines(planned.plan, partman);
    if (!plan::first_fatal_failure(planned.checks)) {
        if (!coverage.note.empty()) spdlog::info("plan: {}", coverage.note);
        for (const auto& w : coverage.warnings) spdlog::warn("plan: {}", w);
    }
    if (run.revert_window && planned.table.relkind == 'p')
        throw usage_error("--revert-window is not available when re-partitioning a partitioned "
                          "table; cut over without it (the old tree is kept as " +
                          (run.old_name.empty() ? std::string("NAME_old") : run.old_name) + ")");
    if (partman) {
        // Checked on every run, a resumed one too: the registration comes after the cutover,
        // when refusing would be too late.
        auto check = partman::partman_preflight(partman::find_partman(conn),
                                                planned.plan.source.schema, planned.plan.final_name);
        if (!check.ok) throw preflight_error("preflight failed: " + check.message);
    }
    migrate::job_inputs inputs{std::move(planned.table), std::move(planned.plan),
                               std::move(planned.checks)};
    return migrate::run_job(run, inputs);
}

}  // namespace partshift::cli
