// partshift plan: prints the partitioned table partshift would create (a psql script, or JSON
// with --json) and the preflight verdict. Wiring only: options → plan_pipeline → renderer.
// Must not change the database (the pipeline runs read-only).
#include <boost/program_options.hpp>
#include <iostream>

#include "partshift/cli/commands.hpp"
#include "partshift/cli/partition_options.hpp"
#include "partshift/cli/plan_pipeline.hpp"
#include "partshift/error.hpp"
#include "partshift/plan/plan_renderer.hpp"
#include "partshift/plan/preflight.hpp"

namespace partshift::cli {
namespace po = boost::program_options;

namespace {

po::options_description plan_options() {
    po::options_description general("partshift plan options");
    general.add_options()("help,h", "show this help")(
        "dsn", po::value<std::string>()->value_name("DSN"),
        "libpq connection string or URI; PG* environment variables apply as in psql")(
        "table", po::value<std::string>()->value_name("NAME"),
        "the table as SQL writes it: billing.events, \"Order Lines\"")(
        "target-name", po::value<std::string>()->value_name("NAME"),
        "name of the partitioned table until cutover (default NAME_new)")(
        "json", po::bool_switch(), "print the plan as JSON instead of a SQL script");
    general.add(partition_options_description());
    return general;
}

}  // namespace

int command_plan(const arguments& args) {
    const auto options = plan_options();
    po::variables_map vm;
    po::store(po::command_line_parser(args).options(options).run(), vm);
    po::notify(vm);
    if (vm.count("help")) {
        std::cout << "usage: partshift plan --dsn DSN --table NAME PARTITION-OPTIONS "
                     "[--target-name NAME] [--json]\n\n"
                     "Shows the partitioned table partshift would create and checks that the "
                     "server,\nthe role and the table are ready. Changes nothing.\n\n"
                  << options
                  << "\nexit codes: 0 ready, 1 runtime failure (e.g. cannot connect), 2 bad "
                     "input,\n            3 preflight failed (the plan is printed anyway)\n";
        return 0;
    }
    if (!vm.count("table"))
        throw usage_error("--table NAME is required (try partshift plan --help)");
    const auto spec = partition_spec_from(vm);
    plan::plan_names names;
    if (vm.count("target-name")) names.target_name = vm["target-name"].as<std::string>();

    // An empty conninfo means "PG* environment variables and defaults", as in psql.
    auto conn = connect(vm.count("dsn") ? vm["dsn"].as<std::string>() : std::string());
    const auto planned = plan_migration(conn, vm["table"].as<std::string>(), spec, names);

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
