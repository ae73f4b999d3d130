// Shared option handling for the subcommands.
#include "partshift/cli/common_options.hpp"

#include <iostream>

#include "partshift/error.hpp"
#include "partshift/state/job_list.hpp"
#include "partshift/state/job_store.hpp"

namespace partshift::cli {

bool parse_or_help(const arguments& args, const po::options_description& desc,
                   const std::string& usage_line, po::variables_map& vm) {
    po::options_description all(desc);
    all.add_options()("help,h", "show this help");
    po::store(po::command_line_parser(args).options(all).run(), vm);
    if (vm.count("help")) {
        std::cout << "usage: " << usage_line << "\n\n" << all << "\n";
        return false;
    }
    po::notify(vm);
    return true;
}

std::optional<std::string> optional_string(const po::variables_map& vm, const char* name) {
    if (!vm.count(name)) return std::nullopt;
    return vm[name].as<std::string>();
}

std::string resolve_job(pg::connection& conn, const std::optional<std::string>& job) {
    if (job) return *job;
    const auto jobs = state::top_level_jobs(conn);
    if (jobs.empty()) throw usage_error("no partshift job in this database");
    if (jobs.size() > 1) {
        std::string names;
        for (const auto& name : jobs) names += (names.empty() ? "" : ", ") + name;
        throw usage_error("several jobs in this database (" + names + "); pick one with --job");
    }
    return jobs.front();
}

std::string resolve_whole_job(pg::connection& conn, const std::optional<std::string>& job) {
    auto name = resolve_job(conn, job);
    if (auto row = state::load_job(conn, name); row && row->is_group_member())
        throw usage_error("table " + row->source_schema + "." + row->source_table +
                          " belongs to job " + *row->group_job + ", whose tables go together: " +
                          "use --job " + *row->group_job);
    return name;
}

}  // namespace partshift::cli
