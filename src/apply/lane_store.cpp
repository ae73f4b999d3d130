// lane_store: partshift.apply_lanes for the K-lane applier (lane_store.hpp).
#include "partshift/apply/lane_store.hpp"

#include <spdlog/spdlog.h>

#include "partshift/error.hpp"

namespace partshift::apply {
namespace {

stream::lsn_t parse_lane_lsn(const std::string& text) {
    if (auto lsn = stream::parse_lsn(text)) return *lsn;
    throw runtime_error("invalid LSN in partshift.apply_lanes: " + text);
}

}  // namespace

const char* const lane_checkpoint_sql =
    "INSERT INTO partshift.apply_lanes AS l "
    "(job, lane, applied_lsn, partial_lsn, partial_changes, updated_at) "
    "SELECT $1, $2::integer, $3::pg_lsn, $4::pg_lsn, $5::bigint, pg_catalog.now() "
    "FROM partshift.jobs j WHERE j.job = $1 "
    "AND (j.applied_lsn IS NULL OR j.applied_lsn <= $3::pg_lsn) "
    "ON CONFLICT (job, lane) DO UPDATE SET applied_lsn = excluded.applied_lsn, "
    "partial_lsn = excluded.partial_lsn, partial_changes = excluded.partial_changes, "
    "updated_at = excluded.updated_at WHERE l.applied_lsn <= excluded.applied_lsn";

const char* const job_from_lanes_sql =
    "UPDATE partshift.jobs j SET applied_lsn = m.applied_lsn, updated_at = pg_catalog.now() "
    "FROM (SELECT l.applied_lsn FROM partshift.apply_lanes l WHERE l.job = $1 "
    "      ORDER BY l.applied_lsn LIMIT 1) m "
    "WHERE j.job = $1 AND (j.applied_lsn IS NULL OR j.applied_lsn <= m.applied_lsn)";

asio::awaitable<lane_plan> settle_lanes(pg::async_connection& conn, const std::string& job,
                                        size_t wanted, stream::lsn_t job_applied) {
    auto rows = co_await conn.exec(
        "SELECT lane, applied_lsn::text, partial_lsn::text, partial_changes "
        "FROM partshift.apply_lanes WHERE job = $1 ORDER BY lane",
        pg::make_params(job));
    std::vector<saved_lane> saved;
    for (int r = 0; r < rows.rows(); ++r) {
        saved_lane s;
        s.lane = static_cast<size_t>(rows.get_int(r, 0));
        s.position.applied = parse_lane_lsn(rows.get(r, 1));
        if (auto partial = rows.opt(r, 2)) s.position.partial_commit = parse_lane_lsn(*partial);
        s.position.partial_changes = rows.get_int(r, 3);
        saved.push_back(s);
    }
    lane_plan plan = plan_lanes(saved, wanted, job_applied);
    if (plan.kept_saved_count)
        spdlog::warn(
            "applier: job {} stopped with its {} apply lanes at different positions: this run "
            "applies with {} lanes (each key must go to the lane whose position covers it); "
            "--apply-workers {} takes effect on the next run",
            job, plan.lanes, plan.lanes, wanted);
    // Every lane has its row from the start, so a later run knows how many there were
    // (a lane without one would otherwise be missed); one lane keeps its position in the job.
    if (!plan.reset_rows && (plan.lanes == 1 || saved.size() == plan.lanes)) co_return plan;
    co_await conn.exec("BEGIN");
    if (plan.reset_rows) {
        // The job's applied_lsn is never behind where the lanes stood.
        co_await conn.exec("DELETE FROM partshift.apply_lanes WHERE job = $1",
                           pg::make_params(job));
        co_await conn.exec(
            "UPDATE partshift.jobs SET applied_lsn = $2::pg_lsn WHERE job = $1 "
            "AND (applied_lsn IS NULL OR applied_lsn < $2::pg_lsn)",
            pg::make_params(job, stream::format_lsn(plan.positions.front().applied)));
        spdlog::info("applier: job {} now applies with {} lane(s), all from {}", job, plan.lanes,
                     stream::format_lsn(plan.positions.front().applied));
    }
    if (plan.lanes > 1)
        for (size_t i = 0; i < plan.lanes; ++i) {
            const auto& p = plan.positions[i];
            pg::param_list params =
                pg::make_params(job, std::to_string(i), stream::format_lsn(p.applied));
            params.push_back(p.partial_commit ? pg::param(stream::format_lsn(p.partial_commit))
                                              : std::nullopt);
            params.push_back(std::to_string(p.partial_changes));
            co_await conn.exec(
                "INSERT INTO partshift.apply_lanes "
                "(job, lane, applied_lsn, partial_lsn, partial_changes) "
                "VALUES ($1, $2::integer, $3::pg_lsn, $4::pg_lsn, $5::bigint) "
                "ON CONFLICT (job, lane) DO NOTHING",
                std::move(params));
        }
    co_await conn.exec("COMMIT");
    co_return plan;
}

}  // namespace partshift::apply
