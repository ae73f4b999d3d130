// partshift plan: prints the partitioned table partshift would create (a psql script, or JSON
// with --json) and the preflight verdict. Wiring only: options → plan_pipeline → renderer.
// Must not change the database (the pipeline runs read-only).
#include <boost/program_options.hpp>
#include <iostream>

#include "partshift/cli/commands.hpp"
#include "partshift/cli/common_options.hpp"
#include "partshift/cli/job_file.hpp"
#include "partshift/cli/partition_options.hpp"
#include "partshift/cli/plan_pipeline.hpp"
#include "partshift/error.hpp"
#include "partshift/partman/partman_handoff.hpp"
#include "partshift/catalog/table_name.hpp"
#include "partshift/plan/next_partitions.hpp"
#include "partshift/plan/plan_renderer.hpp"
#include "partshift/state/job_spec_codec.hpp"
#include "partshift/state/job_store.hpp"
#include "partshift/plan/preflight.hpp"

namespace partshift::cli {
namespace po = boost::program_options;

namespace {

po::options_description plan_options() {
    po::options_description general("partshift plan options");
    general.add_options()("help,h", "show this help")(
        "dsn", po::value<std::string>()->value_name("DSN"), dsn_help)(
        "table", po::value<std::string>()->value_name("NAME"),
        "the table as SQL writes it: billing.events, \"Order Lines\"")(
        "spec", po::value<std::string>()->value_name("FILE"),
        "plan a multi-table job: a JSON job file listing the tables and their partition "
        "options (instead of --table and PARTITION-OPTIONS)")(
        "drop-unrepointable-fks", po::bool_switch(),
        "accept that foreign keys which cannot reference a partitioned table are dropped at "
        "cutover (or, between tables of a --spec job, left off the partitioned tables)")(
        "trust-table-owner", po::bool_switch(),
        "accept that functions the table's owner wrote (in its CHECKs, defaults, index "
        "expressions, column types, ...) run with this role's rights; without it, preflight "
        "fails when the owner is neither this role nor a superuser")(
        "allow-uncarried-dependents", po::bool_switch(),
        "accept that objects depending on the table which the cutover cannot carry over "
        "(inheritance children, columns and functions using its row type, ...) stay bound to "
        "the old table; without it, preflight fails when there are any")(
        "target-name", po::value<std::string>()->value_name("NAME"),
        "name of the partitioned table until cutover (default NAME_new)")(
        "json", po::bool_switch(), "print the plan as JSON instead of a SQL script")(
        "next-partitions", po::value<int>()->value_name("N"),
        "for a table already partitioned by RANGE (after a cutover): print the statements that "
        "create the N partitions after its last one (interval or step from the job, or "
        "--interval/--step)")(
        "job", po::value<std::string>()->value_name("NAME"),
        "with --next-partitions: the job whose interval or step to use (default: the table name)")(
        "partman", po::bool_switch(),
        "also check that pg_partman can take the table over after the cutover (run --partman)");
    general.add(partition_options_description());
    return general;
}

// accepted_options: what the user accepted for preflight on the command line.
plan::preflight_options accepted_options(const po::variables_map& vm) {
    plan::preflight_options o;
    o.drop_unrepointable_fks = vm["drop-unrepointable-fks"].as<bool>();
    o.trust_table_owner = vm["trust-table-owner"].as<bool>();
    o.allow_uncarried_dependents = vm["allow-uncarried-dependents"].as<bool>();
    return o;
}

// next_partitions: plan --next-partitions N. The interval or step is --interval/--step when
// given, else the one the table was partitioned with by its partshift job.
int next_partitions(const po::variables_map& vm) {
    const int count = vm["next-partitions"].as<int>();
    if (count < 1 || count > 1000) throw usage_error("--next-partitions takes a number from 1 to 1000");
    auto conn = connect(vm.count("dsn") ? vm["dsn"].as<std::string>() : std::string());
    const auto table = catalog::resolve_table_name(conn, vm["table"].as<std::string>());
    plan::level_spec level;
    if (vm.count("interval")) level.interval = vm["interval"].as<std::string>();
    if (vm.count("step")) level.step = vm["step"].as<std::string>();
    if (!level.interval && !level.step) {
        const std::string job_name = vm.count("job") ? vm["job"].as<std::string>() : table.name;
        auto job = state::load_job(conn, job_name);
        if (!job || job->target_schema != table.schema || job->final_name != table.name)
            throw usage_error("no partshift job partitioned " + table.schema + "." + table.name +
                              " (job " + job_name + "); give --interval or --step");
        proto::job_spec stored;
        stored.ParseFromString(job->spec);
        level = state::from_proto(stored).level1;
        if (level.method != plan::partition_method::range)
            throw usage_error("job " + job_name + " partitioned by " +
                              plan::method_name(level.method) +
                              "; --next-partitions is for RANGE partitioning");
    }
    const auto range = plan::read_range_partitioning(conn, table);
    level.method = plan::partition_method::range;
    level.key = range.key;
    std::cout << plan::render_next_partitions(range, level, count);
    return 0;
}

// plan_spec: plan --spec FILE, every table of a multi-table job and the keys between them.
int plan_spec(const po::variables_map& vm) {
    for (const char* option : {"table", "partition-by", "target-name", "next-partitions"})
        if (vm.count(option))
            throw usage_error(std::string("--spec takes the tables and their options from the "
                                          "job file; --") +
                              option + " goes without it");
    if (vm["partman"].as<bool>()) throw usage_error("--partman goes without --spec");
    const auto file = read_job_file(vm["spec"].as<std::string>());
    auto conn = connect(vm.count("dsn") ? vm["dsn"].as<std::string>() : std::string());
    const auto job = vm.count("job") ? std::optional(vm["job"].as<std::string>()) : std::nullopt;
    auto planned = plan_group_migration(conn, file, job, accepted_options(vm));
    std::cout << (vm["json"].as<bool>()
                      ? plan::render_group_json(planned.job, planned.members, planned.group)
                      : plan::render_group_sql(planned.job, planned.members, planned.group));
    std::cout.flush();
    for (const auto& m : planned.members)
        if (const auto* failed = plan::first_fatal_failure(m.checks)) {
            std::cerr << "partshift: preflight failed: " << failed->message << "\n";
            return static_cast<int>(exit_code::preflight_failed);
        }
    return 0;
}

}  // namespace

int command_plan(const arguments& args) {
    const auto options = plan_options();
    po::variables_map vm;
    po::store(po::command_line_parser(args).options(options).run(), vm);
    po::notify(vm);
    if (vm.count("help")) {
        std::cout << "usage: partshift plan --dsn DSN --table NAME PARTITION-OPTIONS "
                     "[--target-name NAME] [--json] [--partman]\n"
                     "       partshift plan --dsn DSN --spec FILE [--job NAME] [--json]\n"
                     "       partshift plan --dsn DSN --table NAME --next-partitions N "
                     "[--job NAME | --interval I | --step N]\n\n"
                     "Shows the partitioned table partshift would create and checks that the "
                     "server,\nthe role and the table are ready. Changes nothing.\n\n"
                  << options
                  << "\nexit codes: 0 ready, 1 runtime failure (e.g. cannot connect), 2 bad "
                     "input,\n            3 preflight failed (the plan is printed anyway)\n";
        return 0;
    }
    if (vm.count("spec")) return plan_spec(vm);
    if (!vm.count("table"))
        throw usage_error("--table NAME is required (try partshift plan --help)");
    if (vm.count("next-partitions")) return next_partitions(vm);
    const auto spec = partition_spec_from(vm);
    if (vm["partman"].as<bool>()) partman::check_spec_for_partman(spec);
    plan::plan_names names;
    if (vm.count("target-name")) names.target_name = vm["target-name"].as<std::string>();

    // An empty conninfo means "PG* environment variables and defaults", as in psql.
    auto conn = connect(vm.count("dsn") ? vm["dsn"].as<std::string>() : std::string());
    auto planned =
        plan_migration(conn, vm["table"].as<std::string>(), spec, names, accepted_options(vm));
    plan::add_coverage_lines(planned.plan, vm["partman"].as<bool>());
    if (vm["partman"].as<bool>())
        planned.checks.push_back(partman::partman_preflight(
            partman::find_partman(conn), planned.plan.source.schema, planned.plan.final_name));

    std::cout << (vm["json"].as<bool>() ? plan::render_json(planned.plan, planned.checks)
                                        : plan::render_sql(planned.plan, planned.checks));
    std::cout.flush();
    if (const auto* failed = plan::first_fatal_failure(planned.checks)) {
        std::cerr << "partshift: preflight failed: " << failed->message << "\n";
        return static_cast<int>(exit_code::preflight_failed);
    }
    return 0;
}

}  // namespace partshift::cli
