// after_swap: clean-up and report after the swap committed.
#include "partshift/cutover/after_swap.hpp"

#include <spdlog/spdlog.h>

#include "partshift/spool/job_marker.hpp"
#include "partshift/stream/slot_manager.hpp"

namespace partshift::cutover {
namespace {

std::string seconds_text(double s) { return fmt::format("{:.1f} s", s); }

}  // namespace

std::string finish_after_swap(pg::connection& conn, const state::job_record& job,
                              const swap_outcome* outcome, const swap_figures& figures) {
    if (outcome) {
        finish_after_commit(conn, *outcome);
    } else {
        // After a crash: the statements the swap saved with its commit.
        swap_outcome saved;
        saved.after_commit_sql = state::after_swap_sql(conn, job.job);
        finish_after_commit(conn, saved);
    }
    // The run that held the slot is ours (the run lock): a walsender still attached to it
    // belongs to a run that just ended or died.
    stream::drop_slot(conn, job.slot_name, /*terminate_user=*/true);
    stream::drop_publication(conn, job.publication_name);
    if (!job.spool_dir.empty() &&
        !spool::remove_job_spool(job.spool_dir, job.job, job.slot_name))
        spdlog::warn("left the spool directory {} in place: it does not carry job {}'s marker",
                     job.spool_dir, job.job);

    auto r = conn.query(
        "SELECT rows_copied, extract(epoch FROM cut_over_at - created_at), cutover_attempts, "
        "coalesce(extract(epoch FROM (phase_started->>'index')::timestamptz - "
        "(phase_started->>'copy')::timestamptz), -1), "
        "coalesce(extract(epoch FROM (phase_started->>'replay')::timestamptz - "
        "(phase_started->>'index')::timestamptz), -1), "
        "coalesce(extract(epoch FROM cut_over_at - (phase_started->>'replay')::timestamptz), -1), "
        "coalesce(lock_hold_ms, -1) "
        "FROM partshift.jobs WHERE job = $1",
        job.job);
    std::string summary;
    if (r.rows() == 1) {
        const double hold = figures.attempts > 0 ? figures.lock_hold_ms : std::stod(r.get(0, 6));
        auto phase = [&](int column) {
            double s = std::stod(r.get(0, column));
            return s < 0 ? std::string("-") : seconds_text(s);
        };
        summary = fmt::format(
            "{}.{} is now partitioned; the original is kept as {}.{}. {} rows copied; "
            "copy {}, index {}, replay and follow {}, {} in all; cutover took {} attempt(s), "
            "lock held {:.0f} ms (tail applied in {:.0f} ms), lag at cutover {:.2f} s",
            job.source_schema, job.final_name, job.source_schema, job.old_name, r.get(0, 0),
            phase(3), phase(4), phase(5), seconds_text(std::stod(r.get(0, 1))), r.get(0, 2), hold,
            figures.tail_apply_ms, figures.lag_seconds);
        state::record_cutover_report(conn, job.job, hold, summary);
    }
    return summary;
}

}  // namespace partshift::cutover
