// revert_window: the job state of a revert window (issue 10). After a cutover with
// --revert-window, the partitioned table's changes stream back into NAME_old, so
// `partshift revert` can swap back without losing a write. That reverse direction is a job of
// its own in partshift.jobs ("<job>.revert": source NAME, target NAME_old), so the streamer,
// spool, applier, checkpoint, status figures, run lock and cutover machinery serve it
// unchanged; its row names the job it reverses (reverse_of). The job's own row keeps the
// window's state: open until revert_until, then reverted or finished, or broken when the
// reverse stream met a row the original refuses (until `partshift finish` closes it).
// Must not: create or drop server objects (stream/slot_manager and migrate do).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "partshift/pg/connection.hpp"
#include "partshift/state/job_store.hpp"

namespace partshift::state {

namespace revert_state {
inline constexpr const char* open = "open";
inline constexpr const char* reverted = "reverted";
inline constexpr const char* finished = "finished";
inline constexpr const char* broken = "broken";
}  // namespace revert_state

// reverse_job_name: "<job>.revert".
std::string reverse_job_name(std::string_view job);

// reverse_job_for: the reverse job's row for `job` (pure; the LSNs are set when the window
// opens): source NAME (the partitioned table after the swap), target NAME_old, swapped back to
// make NAME the original again and keep the partitioned one as `partitioned_name`
// (default NAME_partitioned). Its slot and publication are named like any job's; its spool
// sits beside the job's, named after it ("<job's spool>.revert").
job_record reverse_job_for(const job_record& job, std::string_view database,
                           const std::string& empty_spec, const std::string& partitioned_name = "");

// open_revert_window, inside the cutover transaction right after mark_cut_over: inserts the
// reverse job in phase follow, starting at the swap's LSN (every change committed before the
// swap is on both tables already), and marks the window open for `window`. Commits with the
// swap or not at all.
void open_revert_window(pg::connection& conn, const job_record& job, const job_record& reverse,
                        std::chrono::milliseconds window);

// mark_reverted, inside the revert's swap transaction: the job's window is closed as reverted.
// Throws (the swap rolls back) unless the window is still open: a window `partshift finish`
// closed is not swapped back after all.
void mark_reverted(pg::connection& conn, const std::string& job);

// close_revert_window: the window ends without a revert (expired or `partshift finish`): the
// reverse job's row goes, the job's window is marked finished. Only an open or broken window
// is closed; false (and nothing changed) when it was reverted or closed already.
bool close_revert_window(pg::connection& conn, const std::string& job,
                         const std::string& reverse_job);

// mark_window_broken: the reverse stream stopped on a row the original refuses; `why` (the
// apply's message) is kept as the reverse job's summary for `status`. Only an open window.
void mark_window_broken(pg::connection& conn, const std::string& job,
                        const std::string& reverse_job, const std::string& why);

// window_expired: the open window's end has passed (by the server's clock).
bool window_expired(pg::connection& conn, const std::string& job);

// set_revert_window: `partshift cutover --revert-window` records the window for the run.
void set_revert_window(pg::connection& conn, const std::string& job,
                       std::chrono::milliseconds window);

// `partshift finish` asks the run following the window to end it.
void set_finish_requested(pg::connection& conn, const std::string& reverse_job);
bool finish_requested(pg::connection& conn, const std::string& reverse_job);

// set_partitioned_name: `partshift revert --keep-as NAME`: what the partitioned table is
// called after the revert.
void set_partitioned_name(pg::connection& conn, const std::string& reverse_job,
                          const std::string& name);

}  // namespace partshift::state
