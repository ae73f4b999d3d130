// partshift status: a job's phase, progress and lag, read from the database. Wiring only.
#include <iostream>

#include "partshift/cli/commands.hpp"
#include "partshift/cli/common_options.hpp"
#include "partshift/cli/plan_pipeline.hpp"
#include "partshift/monitor/status_reader.hpp"

namespace partshift::cli {

int command_status(const arguments& args) {
    po::options_description desc("status options");
    desc.add_options()("dsn", po::value<std::string>()->value_name("DSN"), dsn_help)(
        "job", po::value<std::string>(), "job name (default: the only job in the database)")(
        "json", "print one JSON object");
    po::variables_map vm;
    if (!parse_or_help(args, desc, "partshift status [--dsn DSN] [--job NAME] [--json]", vm))
        return 0;
    auto conn = connect(optional_string(vm, "dsn").value_or(""));
    auto job = resolve_job(conn, optional_string(vm, "job"));
    auto report = monitor::read_status(conn, job);
    std::cout << (vm.count("json") ? monitor::status_to_json(report) + "\n"
                                   : monitor::status_to_text(report));
    return 0;
}

}  // namespace partshift::cli
