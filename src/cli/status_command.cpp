// partshift status: a job's phase, progress and lag, or without --job every job's, read from
// the database. Wiring only.
#include <iostream>

#include "partshift/cli/commands.hpp"
#include "partshift/cli/common_options.hpp"
#include "partshift/cli/option_parsing.hpp"
#include "partshift/cli/plan_pipeline.hpp"
#include "partshift/monitor/status_list.hpp"
#include "partshift/monitor/status_reader.hpp"

namespace partshift::cli {

int command_status(const arguments& args) {
    const auto parsed = parse_command("status", args);
    if (!parsed) return 0;
    const auto& vm = *parsed;
    auto conn = connect(optional_string(vm, "dsn").value_or(""));
    if (!vm.count("job")) {
        auto reports = monitor::read_all_status(conn);
        std::cout << (flag(vm, "json") ? monitor::status_list_to_json(reports) + "\n"
                                       : monitor::status_list_to_text(reports));
        return 0;
    }
    auto job = resolve_job(conn, optional_string(vm, "job"));
    auto report = monitor::read_status(conn, job);
    std::cout << (flag(vm, "json") ? monitor::status_to_json(report) + "\n"
                                   : monitor::status_to_text(report));
    return 0;
}

}  // namespace partshift::cli
