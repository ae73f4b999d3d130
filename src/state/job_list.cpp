// job_list: one read-only query over partshift.jobs.
#include "partshift/state/job_list.hpp"

#include "partshift/state/job_store.hpp"

namespace partshift::state {

std::vector<std::string> top_level_jobs(pg::connection& conn) {
    std::vector<std::string> out;
    if (!schema_exists(conn)) return out;
    auto r = conn.exec(
        "SELECT job FROM partshift.jobs j WHERE pg_catalog.to_jsonb(j) ->> 'reverse_of' IS NULL "
        "AND coalesce(pg_catalog.to_jsonb(j) ->> 'group_job', job) = job ORDER BY created_at, job");
    for (int i = 0; i < r.rows(); ++i) out.push_back(r.get(i, 0));
    return out;
}

}  // namespace partshift::state
