// after_swap: clean-up and report after the swap committed.
#include "partshift/cutover/after_swap.hpp"

#include <spdlog/spdlog.h>

#include "partshift/spool/job_marker.hpp"
#include "partshift/state/cluster_identity.hpp"
#include "partshift/state/revert_window.hpp"
#include "partshift/stream/slot_manager.hpp"
#include "partshift/teardown/job_teardown.hpp"

namespace partshift::cutover {
namespace {

std::string seconds_text(double s) {
    return fmt::format("{:.1f} s", s);
}

// reverted_summary: the report of a revert window's swap back (a reverse job).
std::string reverted_summary(pg::connection& conn, const state::job_record& reverse,
                             const swap_figures& figures) {
    auto r = conn.query(
        "SELECT coalesce(lock_hold_ms, -1), cutover_attempts FROM partshift.jobs WHERE job = $1",
        reverse.job);
    const double hold = figures.attempts > 0 ? figures.lock_hold_ms
                        : r.rows()           ? std::stod(r.get(0, 0))
                                             : -1;
    std::string summary = fmt::format(
        "{}.{} is the original table again, with every write made since the cutover; "
        "the partitioned table is kept as {}.{}. Swap took {} attempt(s), lock held {:.0f} ms",
        reverse.source_schema, reverse.final_name, reverse.source_schema, reverse.old_name,
        r.rows() ? r.get(0, 1) : "?", hold);
    state::record_cutover_report(conn, reverse.job, hold, summary);
    return summary;
}

// group_summary: a multi-table job's other tables, switched in the same transaction; each
// of their rows gets its own line for `status --job` on it.
std::string group_summary(pg::connection& conn, const state::job_record& lead, double hold) {
    std::string out;
    for (const auto& member : state::load_group(conn, lead.job)) {
        if (!member.is_group_member()) continue;
        out += fmt::format("; with it {}.{} (the original kept as {}.{})", member.source_schema,
                           member.final_name, member.source_schema, member.old_name);
        state::record_cutover_report(
            conn, member.job, hold,
            fmt::format("{}.{} is now partitioned, switched with the other tables of job {} in "
                        "one transaction; the original is kept as {}.{}",
                        member.source_schema, member.final_name, lead.job, member.source_schema,
                        member.old_name));
    }
    return out;
}

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
    if (!job.spool_dir.empty() && !spool::remove_job_spool(job.spool_dir, job.job, job.slot_name,
                                                           state::cluster_identity(conn)))
        spdlog::warn("left the spool directory {} in place: it does not carry job {}'s marker",
                     job.spool_dir, job.job);
    // A run with --revert-window that died before its swap left a reverse stream prepared;
    // this swap opened no window, so nothing will ever read it.
    const bool window_open = job.revert_state == std::string(state::revert_state::open);
    if (!job.reverse_of && !window_open)
        teardown::drop_reverse_stream(conn, teardown::reverse_stream_of(conn, job));
    if (job.reverse_of) return reverted_summary(conn, job, figures);

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
        if (window_open) {
            auto until = conn.query(
                "SELECT to_char(revert_until AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') "
                "FROM partshift.jobs WHERE job = $1",
                job.job);
            summary += fmt::format(
                "; the revert window is open until {} UTC: {}.{} follows every change, "
                "'partshift revert' swaps back, 'partshift finish' ends the window",
                until.rows() ? until.get(0, 0) : "?", job.source_schema, job.old_name);
        }
        if (job.is_group_lead()) summary += group_summary(conn, job, hold);
        state::record_cutover_report(conn, job.job, hold, summary);
    }
    return summary;
}

}  // namespace partshift::cutover
