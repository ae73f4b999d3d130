// job_controls: SQL over the live-control columns of partshift.jobs. Values are parameters.
#include "partshift/state/job_controls.hpp"

#include "partshift/error.hpp"
#include "partshift/state/job_store.hpp"
#include "partshift/state/schema.hpp"

namespace partshift::state {
namespace {

// update_control runs one UPDATE of a control column; the job must exist and not be done.
void update_control(pg::connection& conn, const std::string& job, const std::string& sql,
                    const std::string& value) {
    upgrade_schema(conn);
    auto r = conn.query("SELECT phase FROM partshift.jobs WHERE job = $1", job);
    if (r.rows() == 0) throw usage_error("no partshift job named " + job);
    if (r.get(0, 0) == phase::done) throw usage_error("job " + job + " was already cut over");
    conn.query(sql, job, value);
}

}  // namespace

void upgrade_schema(pg::connection& conn) {
    if (!schema_exists(conn)) return;
    auto r = conn.query(
        "SELECT 1 FROM pg_attribute WHERE attrelid = 'partshift.jobs'::regclass AND attname = $1 "
        "AND NOT attisdropped",
        std::string(newest_column));
    if (r.rows() == 0) ensure_schema(conn);
}

run_controls settle_run_controls(pg::connection& conn, const std::string& job,
                                 std::optional<double> max_copy_rate,
                                 std::optional<std::chrono::milliseconds> max_lag,
                                 std::chrono::milliseconds default_max_lag,
                                 const std::string& throttle_limits,
                                 std::optional<int> copy_workers, int default_copy_workers) {
    std::optional<std::string> rate_param, lag_param, workers_param;
    if (max_copy_rate) rate_param = std::to_string(*max_copy_rate);
    if (max_lag) lag_param = std::to_string(max_lag->count());
    if (copy_workers) workers_param = std::to_string(*copy_workers);
    auto r = conn.query(
        "UPDATE partshift.jobs SET "
        "max_copy_rate = CASE WHEN $2::float8 IS NULL THEN max_copy_rate ELSE nullif($2::float8, "
        "0) END, "
        "max_lag_ms = coalesce($3::bigint, max_lag_ms, $4::bigint), throttle_limits = nullif($5, "
        "''), "
        "copy_workers = coalesce($6::integer, copy_workers, $7::integer), "
        "throttle_reason = NULL WHERE job = $1 "
        "RETURNING copy_paused, coalesce(max_copy_rate, 0), max_lag_ms, copy_workers",
        job, rate_param, lag_param, std::to_string(default_max_lag.count()), throttle_limits,
        workers_param, std::to_string(default_copy_workers));
    if (r.rows() == 0) throw usage_error("no partshift job named " + job);
    run_controls c;
    c.copy_paused = r.get_bool(0, 0);
    c.max_copy_rate = std::stod(r.get(0, 1));
    c.max_lag = std::chrono::milliseconds(r.get_int(0, 2));
    c.copy_workers = static_cast<int>(r.get_int(0, 3));
    return c;
}

void set_copy_paused(pg::connection& conn, const std::string& job, bool paused) {
    update_control(conn, job, "UPDATE partshift.jobs SET copy_paused = $2::boolean WHERE job = $1",
                   paused ? "true" : "false");
}

void set_max_copy_rate(pg::connection& conn, const std::string& job, double rows_per_second) {
    update_control(conn, job,
                   "UPDATE partshift.jobs SET max_copy_rate = nullif($2::float8, 0) WHERE job = $1",
                   std::to_string(rows_per_second));
}

void set_copy_workers(pg::connection& conn, const std::string& job, int workers) {
    update_control(conn, job, "UPDATE partshift.jobs SET copy_workers = $2::integer WHERE job = $1",
                   std::to_string(workers));
}

void set_max_lag(pg::connection& conn, const std::string& job, std::chrono::milliseconds max_lag) {
    update_control(conn, job, "UPDATE partshift.jobs SET max_lag_ms = $2::bigint WHERE job = $1",
                   std::to_string(max_lag.count()));
}

}  // namespace partshift::state
