// cutover_request: SQL over the request and registration columns of partshift.jobs. Values are
// parameters; no identifiers are built here.
#include "partshift/state/cutover_request.hpp"

#include "partshift/state/run_lock.hpp"

namespace partshift::state {

std::string register_run(pg::connection& conn, const std::string& job, bool dry_run,
                         bool request_now) {
    // The id comes from the server (gen_random_uuid, PostgreSQL 13+): no two runs share one,
    // whichever host they run on.
    auto r = conn.query(
        "WITH id AS (SELECT pg_catalog.gen_random_uuid()::text AS v) "
        "UPDATE partshift.jobs SET run_id = id.v, run_holder = $2, run_dry_run = $3::boolean, "
        "cutover_requested = $4::boolean, "
        "cutover_request_run = CASE WHEN $4::boolean THEN id.v END, "
        "cutover_request_taken = false, updated_at = pg_catalog.now() "
        "FROM id WHERE job = $1 RETURNING id.v",
        job, own_holder_name(conn), dry_run ? "true" : "false", request_now ? "true" : "false");
    return r.rows() ? r.get(0, 0) : std::string();
}

std::optional<run_registration> registered_run(pg::connection& conn, const std::string& job) {
    auto r = conn.query(
        "SELECT run_id, coalesce(run_holder, ''), coalesce(run_dry_run, false) "
        "FROM partshift.jobs WHERE job = $1 AND run_id IS NOT NULL",
        job);
    if (r.rows() == 0) return std::nullopt;
    return run_registration{r.get(0, 0), r.get(0, 1), r.get_bool(0, 2)};
}

bool record_cutover_request(pg::connection& conn, const std::string& job,
                            const std::string& run_id) {
    auto r = conn.query(
        "UPDATE partshift.jobs SET cutover_requested = true, cutover_request_run = run_id, "
        "cutover_request_taken = false, updated_at = pg_catalog.now() "
        "WHERE job = $1 AND run_id = $2 AND NOT coalesce(run_dry_run, false) AND phase <> 'done' "
        "RETURNING 1",
        job, run_id);
    return r.rows() == 1;
}

bool claim_cutover_request(pg::connection& conn, const std::string& job) {
    auto r = conn.query(std::string("UPDATE partshift.jobs SET cutover_request_taken = true, "
                                    "updated_at = pg_catalog.now() WHERE job = $1 AND ") +
                            request_for_run_sql + " RETURNING 1",
                        job);
    return r.rows() == 1;
}

bool withdraw_cutover_request(pg::connection& conn, const std::string& job,
                              const std::string& run_id) {
    auto r = conn.query(
        "UPDATE partshift.jobs SET cutover_requested = false, cutover_request_run = NULL, "
        "updated_at = pg_catalog.now() WHERE job = $1 AND cutover_requested "
        "AND cutover_request_run = $2 AND NOT cutover_request_taken AND phase <> 'done' "
        "RETURNING 1",
        job, run_id);
    return r.rows() == 1;
}

void end_run_requests(pg::connection& conn, const std::string& job) {
    conn.query(
        "UPDATE partshift.jobs SET cutover_requested = false, cutover_request_run = NULL, "
        "cutover_request_taken = false, updated_at = pg_catalog.now() "
        "WHERE job = $1 AND phase <> 'done'",
        job);
}

}  // namespace partshift::state
