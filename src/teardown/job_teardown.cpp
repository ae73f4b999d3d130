// job_teardown: the abort path. Never touches the source table.
#include "partshift/teardown/job_teardown.hpp"

#include <spdlog/spdlog.h>

#include <filesystem>

#include "partshift/error.hpp"
#include "partshift/pg/quote.hpp"
#include "partshift/spool/job_marker.hpp"
#include "partshift/state/cluster_identity.hpp"
#include "partshift/state/revert_window.hpp"
#include "partshift/stream/slot_manager.hpp"

namespace partshift::teardown {

state::job_record reverse_stream_of(pg::connection& conn, const state::job_record& job) {
    auto reverse =
        state::reverse_job_for(job, conn.exec("SELECT current_database()").get(0, 0), "");
    // An open window keeps its spool where the swap recorded it (an earlier partshift named
    // reverse spools differently).
    if (auto stored = state::load_job(conn, reverse.job); stored && !stored->spool_dir.empty())
        reverse.spool_dir = stored->spool_dir;
    return reverse;
}

void drop_reverse_stream(pg::connection& conn, const state::job_record& reverse) {
    stream::drop_slot(conn, reverse.slot_name, /*terminate_user=*/true);
    stream::drop_publication(conn, reverse.publication_name);
    if (!reverse.spool_dir.empty() && std::filesystem::exists(reverse.spool_dir) &&
        !spool::remove_job_spool(reverse.spool_dir, reverse.job, reverse.slot_name,
                                 state::cluster_identity(conn)))
        spdlog::warn("left {} in place: it is not job {}'s spool (no matching JOB marker)",
                     reverse.spool_dir, reverse.job);
}

namespace {

// drop_target: the job's partitioned table, if it is still the one partshift created, never a
// relation that now carries the source's name.
void drop_target(pg::connection& conn, const state::job_record& job) {
    auto r = conn.query(
        "SELECT c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = $1 AND c.relname = $2",
        job.target_schema, job.target_table);
    if (r.rows() > 0) {
        if (r.get(0, 0) != "p")
            throw partshift::runtime_error("refusing to drop " + job.target_schema + "." +
                                           job.target_table +
                                           ": it is not the partitioned table partshift created");
        conn.exec("DROP TABLE " + pg::escape_identifier(job.target_schema) + "." +
                  pg::escape_identifier(job.target_table));
    }
}

}  // namespace

void remove_server_objects(pg::connection& conn, const state::job_record& job) {
    stream::drop_slot(conn, job.slot_name, /*terminate_user=*/false);
    stream::drop_publication(conn, job.publication_name);
    // A run with --revert-window prepares the reverse stream just before its cutover.
    drop_reverse_stream(conn, reverse_stream_of(conn, job));
    // A multi-table job: the other tables' partitioned tables too (they share the slot and
    // the publication just dropped).
    for (const auto& member : state::load_group(conn, job.job))
        if (member.is_group_member()) drop_target(conn, member);
    drop_target(conn, job);
}

void abort_job(pg::connection& conn, const state::job_record& job) {
    if (job.reverse_of)
        throw partshift::usage_error("job " + job.job + " is the revert window of job " +
                                     *job.reverse_of + ": end it with 'partshift finish --job " +
                                     *job.reverse_of + "' or swap back with 'partshift revert'");
    if (job.is_group_member())
        throw partshift::usage_error("table " + job.source_schema + "." + job.source_table +
                                     " belongs to job " + *job.group_job +
                                     ", whose tables go together: 'partshift abort --job " +
                                     *job.group_job + "' removes the whole job");
    if (job.phase == state::phase::done)
        throw partshift::runtime_error(
            "job " + job.job + " was already cut over; there is nothing to abort" +
            (job.revert_state == std::string(state::revert_state::open)
                 ? " (its revert window is open: 'partshift revert' swaps back, 'partshift "
                   "finish' ends the window)"
                 : ""));
    auto slot = conn.query(
        "SELECT coalesce(active_pid, 0) FROM pg_replication_slots WHERE slot_name = $1 AND active",
        job.slot_name);
    if (slot.rows() > 0)
        throw partshift::runtime_error("job " + job.job + " is running (walsender pid " +
                                       slot.get(0, 0) +
                                       "); stop that partshift run first (Ctrl-C or SIGTERM)");
    remove_server_objects(conn, job);
    // Only a directory that carries this job's marker is deleted: the path comes from
    // partshift.jobs, which anyone with access to the database could have changed.
    if (!job.spool_dir.empty() && std::filesystem::exists(job.spool_dir) &&
        !spool::remove_job_spool(job.spool_dir, job.job, job.slot_name,
                                 state::cluster_identity(conn)))
        spdlog::warn("left {} in place: it is not job {}'s spool (no matching JOB marker)",
                     job.spool_dir, job.job);
    state::delete_job(conn, job.job);
    spdlog::info("job {} aborted: slot, publication, {} and job state removed", job.job,
                 job.is_group_lead() ? "the partitioned tables" : "target");
}

}  // namespace partshift::teardown
