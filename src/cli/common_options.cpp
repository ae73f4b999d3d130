// Shared option handling for the subcommands.
#include "partshift/cli/common_options.hpp"

#include <iostream>

#include "partshift/error.hpp"
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
    if (!state::schema_exists(conn)) throw usage_error("no partshift job in this database");
    // A revert window's reverse job belongs to its job: not a job of its own to pick.
    auto r = conn.exec(
        "SELECT job FROM partshift.jobs j WHERE to_jsonb(j) ->> 'reverse_of' IS NULL "
        "ORDER BY created_at");
    if (r.rows() == 0) throw usage_error("no partshift job in this database");
    if (r.rows() > 1) {
        std::string names;
        for (int i = 0; i < r.rows(); ++i) names += (i ? ", " : "") + r.get(i, 0);
        throw usage_error("several jobs in this database (" + names + "); pick one with --job");
    }
    return r.get(0, 0);
}

}  // namespace partshift::cli
