// partshift run: plan, then run or resume the job (copy ‖ stream → index → replay → follow).
// Wiring only: options → plan pipeline → migrator.
#include <boost/program_options.hpp>
#include <filesystem>
#include <iostream>

#include "partshift/cli/commands.hpp"
#include "partshift/cli/duration.hpp"
#include "partshift/cli/partition_options.hpp"
#include "partshift/cli/plan_pipeline.hpp"
#include "partshift/error.hpp"
#include "partshift/migrate/migrator.hpp"

namespace partshift::cli {
namespace po = boost::program_options;

namespace {

po::options_description run_options() {
    po::options_description general("partshift run options");
    general.add_options()("help,h", "show this help")(
        "dsn", po::value<std::string>()->value_name("DSN"),
        "libpq connection string or URI; PG* environment variables apply as in psql")(
        "table", po::value<std::string>()->value_name("NAME"),
        "the table as SQL writes it: billing.events, \"Order Lines\"")(
        "job", po::value<std::string>()->value_name("NAME"),
        "job name (default: the table name without schema)")(
        "dry-run", po::bool_switch(), "copy, stream and follow, reporting lag; never cut over")(
        "dry-run-for", po::value<std::string>()->value_name("DURATION"),
        "with --dry-run: stop after following this long (e.g. 10m), checkpoint saved")(
        "postpone-cutover", po::bool_switch(), "follow until 'partshift cutover' is run")(
        "copy-workers", po::value<int>()->default_value(2)->value_name("N"),
        "parallel chunk copies")(
        "spool-dir", po::value<std::string>()->default_value("partshift-spool")->value_name("DIR"),
        "where the durable change spool lives (a subdirectory per job)")(
        "max-lag", po::value<std::string>()->default_value("1s")->value_name("DURATION"),
        "cut over once lag is at most this")(
        "lock-timeout", po::value<std::string>()->default_value("2s")->value_name("DURATION"),
        "how long the cutover waits for its lock per attempt")(
        "cutover-attempts", po::value<int>()->default_value(10)->value_name("N"),
        "cutover lock attempts before giving up (exit 4)")(
        "target-name", po::value<std::string>()->value_name("NAME"),
        "name of the partitioned table until cutover (default NAME_new)")(
        "old-name", po::value<std::string>()->value_name("NAME"),
        "name the original table gets at cutover (default NAME_old)")(
        "slot-timeout", po::value<std::string>()->default_value("2m")->value_name("DURATION"),
        "how long creating the slot may wait for transactions already running")(
        "reconnect-for", po::value<std::string>()->default_value("10m")->value_name("DURATION"),
        "when the server goes away (restart, failover), how long to keep trying to resume")(
        "metrics-addr", po::value<std::string>()->value_name("HOST:PORT"),
        "serve Prometheus metrics here (not available yet)");
    general.add(partition_options_description());
    return general;
}

}  // namespace

int command_run(const arguments& args) {
    const auto options = run_options();
    po::variables_map vm;
    po::store(po::command_line_parser(args).options(options).run(), vm);
    po::notify(vm);
    if (vm.count("help")) {
        std::cout << "usage: partshift run --dsn DSN --table NAME PARTITION-OPTIONS [options]\n\n"
                     "Copies the table into a partitioned one while streaming its changes, then\n"
                     "follows them. Run it again with the same options to resume a stopped job.\n\n"
                  << options << "\n";
        return 0;
    }
    if (!vm.count("table")) throw usage_error("--table NAME is required (try partshift run --help)");
    if (!vm["dry-run"].as<bool>())
        throw usage_error(
            "cutover is not available in this version yet: run with --dry-run (a stopped dry "
            "run resumes where it stopped)");
    if (vm.count("metrics-addr"))
        throw usage_error("--metrics-addr is not available in this version yet");
    if (vm.count("dry-run-for") && !vm["dry-run"].as<bool>())
        throw usage_error("--dry-run-for goes with --dry-run");
    if (vm["copy-workers"].as<int>() < 1 || vm["copy-workers"].as<int>() > 64)
        throw usage_error("--copy-workers takes a number from 1 to 64");
    parse_duration(vm["max-lag"].as<std::string>(), "max-lag");
    parse_duration(vm["lock-timeout"].as<std::string>(), "lock-timeout");

    const auto spec = partition_spec_from(vm);
    plan::plan_names names;
    if (vm.count("target-name")) names.target_name = vm["target-name"].as<std::string>();

    const std::string dsn = vm.count("dsn") ? vm["dsn"].as<std::string>() : std::string();
    auto conn = connect(dsn);
    auto planned = plan_migration(conn, vm["table"].as<std::string>(), spec, names);

    migrate::run_options run;
    run.dsn = dsn;
    run.job = vm.count("job") ? vm["job"].as<std::string>() : planned.table.name.name;
    run.dry_run = true;
    if (vm.count("dry-run-for"))
        run.dry_run_for = parse_duration(vm["dry-run-for"].as<std::string>(), "dry-run-for");
    run.copy_workers = vm["copy-workers"].as<int>();
    run.slot_timeout = std::chrono::duration_cast<std::chrono::seconds>(
        parse_duration(vm["slot-timeout"].as<std::string>(), "slot-timeout"));
    if (run.slot_timeout.count() < 1) throw usage_error("--slot-timeout must be at least 1s");
    run.reconnect_for = std::chrono::duration_cast<std::chrono::seconds>(
        parse_duration(vm["reconnect-for"].as<std::string>(), "reconnect-for"));
    run.spool_root = vm["spool-dir"].as<std::string>();
    if (vm.count("old-name")) run.old_name = vm["old-name"].as<std::string>();
    migrate::job_inputs inputs{std::move(planned.table), std::move(planned.plan),
                               std::move(planned.checks)};
    return migrate::run_job(run, inputs);
}

}  // namespace partshift::cli
