// partshift verify: compares a job's source and partitioned tables and prints the report.
// Wiring only: the comparison is verify::verify_job.
#include <iostream>
#include <vector>

#include "partshift/cli/commands.hpp"
#include "partshift/cli/common_options.hpp"
#include "partshift/cli/option_parsing.hpp"
#include "partshift/cli/plan_pipeline.hpp"
#include "partshift/error.hpp"
#include "partshift/state/job_store.hpp"
#include "partshift/verify/verifier.hpp"

namespace partshift::cli {

int command_verify(const arguments& args) {
    const auto parsed = parse_command("verify", args);
    if (!parsed) return 0;
    const auto& vm = *parsed;
    const std::string dsn = optional_string(vm, "dsn").value_or("");
    auto conn = connect(dsn);
    auto name = resolve_job(conn, optional_string(vm, "job"));
    auto job = state::load_job(conn, name);
    if (!job) throw usage_error("no partshift job named " + name);

    // A multi-table job: every table, one report each (with --json, one object holding them).
    std::vector<state::job_record> tables{*job};
    if (job->is_group_lead()) {
        tables.clear();
        for (auto& r : state::load_group(conn, job->job)) tables.push_back(std::move(r));
    }
    std::vector<verify::report> reports;
    for (const auto& table : tables) reports.push_back(verify::verify_job(dsn, table));
    if (!flag(vm, "json")) {
        for (const auto& report : reports) std::cout << verify::report_to_text(report);
    } else if (reports.size() == 1) {
        std::cout << verify::report_to_json(reports.front()) << "\n";
    } else {
        std::cout << verify::group_report_to_json(name, reports) << "\n";
    }
    int code = 0;
    for (const auto& report : reports) {
        if (report.ok()) continue;
        // The report is on stdout; one line on stderr says why the exit code is 1.
        std::cerr << "partshift: job " << name << ": " << report.mismatches.size()
                  << " key ranges differ, " << report.duplicate_keys_total
                  << " source keys are duplicated in " << report.right << "\n";
        code = static_cast<int>(exit_code::runtime_failure);
    }
    return code;
}

}  // namespace partshift::cli
