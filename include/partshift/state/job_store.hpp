// job_store: reads and writes a job's row in partshift.jobs (schema.hpp) on a blocking
// connection. Used by prepare, status, abort and the orchestrator's phase changes; the
// applier and copier write their own checkpoint columns inside their data transactions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "partshift/pg/connection.hpp"

namespace partshift::state {

using lsn_t = uint64_t;

// phase names as stored in partshift.jobs.phase, in the order a job passes them.
namespace phase {
inline constexpr const char* preparing = "preparing";
inline constexpr const char* copy = "copy";
inline constexpr const char* index = "index";
inline constexpr const char* replay = "replay";
inline constexpr const char* follow = "follow";
inline constexpr const char* cutover = "cutover";
inline constexpr const char* done = "done";
}  // namespace phase

struct job_record {
    std::string job;
    std::string source_schema, source_table;
    std::string target_schema, target_table;
    std::string final_name, old_name;
    std::string slot_name, publication_name;
    std::string spec;  // serialized partshift.proto.job_spec
    std::string spool_dir;
    std::string phase;
    std::optional<lsn_t> l0_lsn;
    std::optional<lsn_t> max_chunk_high_lsn;
    std::optional<lsn_t> applied_lsn;
    int64_t rows_estimate = 0;
    int64_t rows_copied = 0;
    std::optional<std::string> last_error;
    bool cutover_requested = false;
    std::optional<lsn_t> swap_lsn;  // set in the cutover transaction: the swap committed
    // The revert window (state/revert_window.hpp).
    std::optional<std::string> reverse_of;    // on a reverse job: the job it reverses
    std::optional<int64_t> revert_window_ms;  // asked for by `partshift cutover`
    std::optional<std::string> revert_state;  // open, reverted, finished
    // A multi-table job (run --spec): the job's name on every table's row; the row whose job
    // is group_job itself leads (slot, publication, spool, applied LSN, controls).
    std::optional<std::string> group_job;
    int group_position = 0;
    bool is_group_member() const { return group_job && *group_job != job; }
    bool is_group_lead() const { return group_job && *group_job == job; }
};

// ensure_schema creates the partshift schema and its tables if missing.
void ensure_schema(pg::connection& conn);
bool schema_exists(pg::connection& conn);

std::optional<job_record> load_job(pg::connection& conn, const std::string& job);
void insert_job(pg::connection& conn, const job_record& record);
void set_phase(pg::connection& conn, const std::string& job, const std::string& phase);
// set_phase_sql: the statement set_phase runs ($1 job, $2 phase), for an async connection:
// while the applier runs, a blocking wait on the job row (which its open batch may hold)
// would stall the event loop the applier needs to commit.
extern const char* const set_phase_sql;
void set_l0(pg::connection& conn, const std::string& job, lsn_t l0);
// reset_live_figures clears the lag and rate a previous run left, so status never shows
// stale figures for a run that has not measured its own yet.
void reset_live_figures(pg::connection& conn, const std::string& job);
void set_last_error(pg::connection& conn, const std::string& job, const std::string& message);
// Cutover requests: state/cutover_request.hpp (a request belongs to one run).
// set_cutover_state: what status shows about the cutover ("waiting for cutover", ...); empty
// clears it.
void set_cutover_state(pg::connection& conn, const std::string& job, const std::string& text);
// mark_cut_over runs inside the cutover transaction, so the job is 'done' exactly when the swap
// committed: a rerun after a crash learns from this row which of the two happened.
// after_swap_sql (statements to run after the commit, e.g. FK validation) is kept with it, so a
// rerun after a crash right after the commit still runs them.
void mark_cut_over(pg::connection& conn, const std::string& job, int attempts,
                   const std::vector<std::string>& after_swap_sql);
std::vector<std::string> after_swap_sql(pg::connection& conn, const std::string& job);
// record_cutover_report: after the commit, the lock hold and the summary for status.
void record_cutover_report(pg::connection& conn, const std::string& job, double lock_hold_ms,
                           const std::string& summary);
// job_summary: that summary ("" before it is written, or for an unknown job).
std::string job_summary(pg::connection& conn, const std::string& job);

// load_group: the rows of multi-table job `group` in job-file order (the lead first); empty
// for a job of one table.
std::vector<job_record> load_group(pg::connection& conn, const std::string& group);

// set_group_window_end: a multi-table job's idempotent window ends after every table's copy:
// the job's own row (which the applier reads) gets the highest chunk high LSN of them all.
void set_group_window_end(pg::connection& conn, const std::string& group);

// delete_job removes the job's rows (a multi-table job's other tables' rows too), and the
// schema itself once no job is left.
void delete_job(pg::connection& conn, const std::string& job);

// LSN columns travel as decimal text ("(lsn - '0/0')::numeric"), so C++ sees plain integers.
std::optional<lsn_t> lsn_from_number_text(const std::optional<std::string>& text);

}  // namespace partshift::state
