// common_options: which job a command acts on. Reads partshift.jobs; changes nothing.
#include "partshift/cli/common_options.hpp"

#include "partshift/error.hpp"
#include "partshift/state/job_list.hpp"
#include "partshift/state/job_store.hpp"

namespace partshift::cli {

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
                          " belongs to job " + *row->group_job +
                          ", whose tables go together: " + "use --job " + *row->group_job);
    return name;
}

}  // namespace partshift::cli
