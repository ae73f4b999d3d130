// job_controls: SQL over the live-control columns of partshift.jobs. Values are parameters.
#include "partshift/state/job_controls.hpp"

#include "partshift/error.hpp"
#include "partshift/state/job_store.hpp"
#include "partshift/state/schema.hpp"
#include "partshift/state/setting_sources.hpp"

namespace partshift::state {
namespace {

// update_control runs one UPDATE of a control column ("column = <expression of $2>"); the job
// must exist and not be done. `key`: the setting's name in control_sources, marked as set
// now (nullptr: not a setting with a source, as copy_paused).
void update_control(pg::connection& conn, const std::string& job, const std::string& assignment,
                    const std::string& value, const char* key = nullptr) {
    upgrade_schema(conn);
    auto r = conn.query("SELECT phase FROM partshift.jobs WHERE job = $1", job);
    if (r.rows() == 0) throw usage_error("no partshift job named " + job);
    if (r.get(0, 0) == phase::done) throw usage_error("job " + job + " was already cut over");
    if (key)
        conn.query("UPDATE partshift.jobs SET " + assignment +
                       ", control_sources = " + stamp_set_sql() + " WHERE job = $1",
                   job, value, std::string(key));
    else
        conn.query("UPDATE partshift.jobs SET " + assignment + " WHERE job = $1", job, value);
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

run_controls settle_run_controls(
    pg::connection& conn, const std::string& job, std::optional<double> max_copy_rate,
    std::optional<std::chrono::milliseconds> max_lag, std::chrono::milliseconds default_max_lag,
    const std::string& throttle_limits, std::optional<int> copy_workers, int default_copy_workers,
    std::optional<int> apply_workers, std::optional<int> catch_up_pace) {
    std::optional<std::string> rate_param, lag_param, workers_param, lanes_param, pace_param;
    if (apply_workers) lanes_param = std::to_string(*apply_workers);
    if (catch_up_pace) pace_param = std::to_string(*catch_up_pace);
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
        "apply_workers = coalesce($8::integer, apply_workers), "
        "catch_up_pace = coalesce($9::integer, catch_up_pace), "
        "throttle_reason = NULL WHERE job = $1 "
        "RETURNING copy_paused, coalesce(max_copy_rate, 0), max_lag_ms, copy_workers, "
        "coalesce(apply_workers, 1), coalesce(catch_up_pace, 100)",
        job, rate_param, lag_param, std::to_string(default_max_lag.count()), throttle_limits,
        workers_param, std::to_string(default_copy_workers), lanes_param, pace_param);
    if (r.rows() == 0) throw usage_error("no partshift job named " + job);
    run_controls c;
    c.copy_paused = r.get_bool(0, 0);
    c.max_copy_rate = std::stod(r.get(0, 1));
    c.max_lag = std::chrono::milliseconds(r.get_int(0, 2));
    c.copy_workers = static_cast<int>(r.get_int(0, 3));
    c.apply_workers = static_cast<int>(r.get_int(0, 4));
    c.catch_up_pace = static_cast<int>(r.get_int(0, 5));
    return c;
}

void set_copy_paused(pg::connection& conn, const std::string& job, bool paused) {
    update_control(conn, job, "copy_paused = $2::boolean", paused ? "true" : "false");
}

void set_max_copy_rate(pg::connection& conn, const std::string& job, double rows_per_second) {
    update_control(conn, job, "max_copy_rate = nullif($2::float8, 0)",
                   std::to_string(rows_per_second), "max_copy_rate");
}

void set_copy_workers(pg::connection& conn, const std::string& job, int workers) {
    update_control(conn, job, "copy_workers = $2::integer", std::to_string(workers),
                   "copy_workers");
}

void set_apply_workers(pg::connection& conn, const std::string& job, int workers) {
    update_control(conn, job, "apply_workers = $2::integer", std::to_string(workers),
                   "apply_workers");
}

void set_catch_up_pace(pg::connection& conn, const std::string& job, int percent) {
    update_control(conn, job, "catch_up_pace = $2::integer", std::to_string(percent),
                   "catch_up_pace");
}

void set_max_lag(pg::connection& conn, const std::string& job, std::chrono::milliseconds max_lag) {
    update_control(conn, job, "max_lag_ms = $2::bigint", std::to_string(max_lag.count()),
                   "max_lag");
}

}  // namespace partshift::state
