// revert_window: SQL over the revert-window columns of partshift.jobs. Values are parameters.
#include "partshift/state/revert_window.hpp"

#include <stdexcept>

#include "partshift/pg/quote.hpp"
#include "partshift/state/job_names.hpp"

namespace partshift::state {

std::string reverse_job_name(std::string_view job) {
    return std::string(job) + ".revert";
}

job_record reverse_job_for(const job_record& job, std::string_view database,
                           const std::string& empty_spec, const std::string& partitioned_name) {
    job_record r;
    r.job = reverse_job_name(job.job);
    r.source_schema = job.source_schema;
    r.source_table = job.final_name;
    r.target_schema = job.source_schema;
    r.target_table = job.old_name;
    r.final_name = job.final_name;
    r.old_name = partitioned_name.empty() ? pg::fit_identifier(job.final_name + "_partitioned")
                                          : partitioned_name;
    r.slot_name = slot_name(database, r.job);
    r.publication_name = object_name(r.job);
    r.spec = empty_spec;
    // Beside the forward job's spool, named after it: unique wherever the forward one is
    // (its name carries the cluster, the database and the job).
    r.spool_dir = job.spool_dir.empty() ? "" : job.spool_dir + ".revert";
    r.phase = phase::follow;
    r.reverse_of = job.job;
    return r;
}

void open_revert_window(pg::connection& conn, const job_record& job, const job_record& reverse,
                        std::chrono::milliseconds window) {
    insert_job(conn, reverse);
    // The swap's own position (mark_cut_over read it after the locks were granted): every
    // change of the target committed before it was the copy's and the applier's, and is on
    // NAME_old already; none of the application's can commit between it and the swap's commit.
    auto r = conn.query(
        "UPDATE partshift.jobs r SET l0_lsn = j.swap_lsn, applied_lsn = j.swap_lsn, "
        "reverse_of = j.job, phase_started = jsonb_build_object('follow', now()) "
        "FROM partshift.jobs j WHERE j.job = $1 AND r.job = $2 AND j.swap_lsn IS NOT NULL "
        "RETURNING 1",
        job.job, reverse.job);
    if (r.rows() != 1) throw std::runtime_error("job " + job.job + " has no swap position");
    conn.query(
        "UPDATE partshift.jobs SET revert_state = 'open', revert_window_ms = $2::bigint, "
        "revert_until = now() + $2::bigint * interval '1 millisecond' WHERE job = $1",
        job.job, std::to_string(window.count()));
}

void mark_reverted(pg::connection& conn, const std::string& job) {
    auto r = conn.query(
        "UPDATE partshift.jobs SET revert_state = 'reverted', updated_at = pg_catalog.now() "
        "WHERE job = $1 AND revert_state = 'open' RETURNING 1",
        job);
    if (r.rows() != 1)
        throw std::runtime_error("the revert window of job " + job +
                                 " is no longer open (closed by 'partshift finish'?); not "
                                 "swapping back");
}

bool close_revert_window(pg::connection& conn, const std::string& job,
                         const std::string& reverse_job) {
    pg::transaction tx(conn);
    // The job's row first: a revert's swap transaction holds it until its commit, and the
    // state it leaves decides (a reverted window keeps its reverse job's row).
    auto r = conn.query(
        "UPDATE partshift.jobs SET revert_state = 'finished', updated_at = pg_catalog.now() "
        "WHERE job = $1 AND revert_state IN ('open', 'broken') RETURNING 1",
        job);
    if (r.rows() != 1) return false;  // the transaction rolls back
    conn.query("DELETE FROM partshift.jobs WHERE job = $1 AND reverse_of = $2", reverse_job, job);
    tx.commit();
    return true;
}

void mark_window_broken(pg::connection& conn, const std::string& job,
                        const std::string& reverse_job, const std::string& why) {
    pg::transaction tx(conn);
    conn.query(
        "UPDATE partshift.jobs SET revert_state = 'broken', updated_at = pg_catalog.now() "
        "WHERE job = $1 AND revert_state = 'open'",
        job);
    conn.query(
        "UPDATE partshift.jobs SET summary = $2, updated_at = pg_catalog.now() WHERE job = $1",
        reverse_job, why);
    tx.commit();
}

bool window_expired(pg::connection& conn, const std::string& job) {
    auto r = conn.query(
        "SELECT coalesce(revert_until <= now(), false) FROM partshift.jobs WHERE job = $1", job);
    return r.rows() > 0 && r.get_bool(0, 0);
}

void set_revert_window(pg::connection& conn, const std::string& job,
                       std::chrono::milliseconds window) {
    conn.query("UPDATE partshift.jobs SET revert_window_ms = $2::bigint WHERE job = $1", job,
               std::to_string(window.count()));
}

void set_finish_requested(pg::connection& conn, const std::string& reverse_job) {
    conn.query("UPDATE partshift.jobs SET finish_requested = true WHERE job = $1", reverse_job);
}

bool finish_requested(pg::connection& conn, const std::string& reverse_job) {
    auto r = conn.query("SELECT finish_requested FROM partshift.jobs WHERE job = $1", reverse_job);
    return r.rows() > 0 && r.get_bool(0, 0);
}

void set_partitioned_name(pg::connection& conn, const std::string& reverse_job,
                          const std::string& name) {
    conn.query("UPDATE partshift.jobs SET old_name = $2 WHERE job = $1", reverse_job, name);
}

}  // namespace partshift::state
