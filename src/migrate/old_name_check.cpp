// old_name_check: the swap's old names are free, and a resumed job takes a changed one.
#include "partshift/migrate/old_name_check.hpp"

#include <spdlog/spdlog.h>

#include "partshift/cutover/swap_catalog.hpp"
#include "partshift/error.hpp"

namespace partshift::migrate {

void check_old_names_free(pg::connection& conn, const std::vector<state::job_record>& rows) {
    for (const auto& r : rows) {
        if (r.old_name == r.final_name || r.old_name == r.target_table)
            throw usage_error("--old-name " + r.old_name + " is the name of " +
                              (r.old_name == r.final_name ? "the table itself" : "the target") +
                              "; choose another");
        if (cutover::name_taken(conn, r.source_schema, r.old_name))
            throw preflight_error("preflight failed: the cutover renames " + r.source_schema + "." +
                                  r.final_name + " to " + r.old_name +
                                  ", but that name is taken in schema " + r.source_schema +
                                  " (kept from an earlier migration?); drop or rename it, or "
                                  "choose another name with --old-name NAME");
    }
}

void adopt_old_names(pg::connection& conn, const run_options& options, const job_inputs& inputs,
                     state::job_record& job) {
    // The rows as this run names them; checked before any is written.
    std::vector<state::job_record> rows{job};
    std::vector<std::string> wanted{options.old_name};
    for (auto& r : state::load_group(conn, job.job)) {
        if (!r.is_group_member()) continue;
        std::string name;
        for (const auto& m : inputs.members)
            if (member_job_name(job.job, m.table.name) == r.job) name = m.old_name;
        rows.push_back(std::move(r));
        wanted.push_back(name);
    }
    std::vector<std::string> before;
    for (size_t i = 0; i < rows.size(); ++i) {
        before.push_back(rows[i].old_name);
        if (!wanted[i].empty()) rows[i].old_name = wanted[i];
    }
    check_old_names_free(conn, rows);
    for (size_t i = 0; i < rows.size(); ++i) {
        if (rows[i].old_name == before[i]) continue;
        conn.query(
            "UPDATE partshift.jobs SET old_name = $2, updated_at = pg_catalog.now() "
            "WHERE job = $1",
            rows[i].job, rows[i].old_name);
        spdlog::info("job {}: the original table will be kept as {} (was {})", rows[i].job,
                     rows[i].old_name, before[i]);
    }
    job.old_name = rows.front().old_name;
}

}  // namespace partshift::migrate
