// cutover_request: a request to swap (`partshift cutover`, `partshift revert`) belongs to the
// one run it was made to (issue 20 item 7). Each run registers in its job's row when it starts
// (a new run id, who holds the job, whether it is a dry run), which withdraws any request an
// earlier run left; a request names the run id it was made to and counts only for that run;
// the run claims it right before it swaps, and a waiting `cutover` interrupted before the
// claim withdraws it. Row locks order a claim and a withdrawal: exactly one of them wins.
// Must not: decide whether to swap (follow_watcher does), or hold a transaction across calls.
#pragma once

#include <optional>
#include <string>

#include "partshift/pg/connection.hpp"

namespace partshift::state {

// run_registration: what the job's row says about the run that registered last.
struct run_registration {
    std::string run_id;
    std::string holder;  // as run_lock_holder names it: "pid N on H"
    bool dry_run = false;
};

// register_run: the run holding the job's lock on `conn` registers in the job's row (a new
// run id, this session's holder name, dry run or not). Any earlier request is withdrawn: it
// was made to another run. `request_now`: the run starts with a request of its own (`partshift
// revert` without a running process follows the window itself). Returns the run id.
std::string register_run(pg::connection& conn, const std::string& job, bool dry_run,
                         bool request_now = false);

// registered_run: the row's registration; nullopt before any run registered (or no such job).
std::optional<run_registration> registered_run(pg::connection& conn, const std::string& job);

// record_cutover_request asks run `run_id` to swap; false when that run is no longer the
// registered one, is a dry run, or the job is done (nothing recorded).
bool record_cutover_request(pg::connection& conn, const std::string& job,
                            const std::string& run_id);

// claim_cutover_request: the registered run takes the request made to it, right before it
// swaps; false when there is none (never made, or withdrawn).
bool claim_cutover_request(pg::connection& conn, const std::string& job);

// withdraw_cutover_request: the request made to `run_id` is withdrawn unless its run claimed
// it already (then false: the swap is under way or over).
bool withdraw_cutover_request(pg::connection& conn, const std::string& job,
                              const std::string& run_id);

// end_run_requests: the run ends without a swap: whatever request it was made, taken or not,
// is answered (the next run waits for a new one).
void end_run_requests(pg::connection& conn, const std::string& job);

// request_for_run_sql: the SQL expression, over a partshift.jobs row, "a request made to the
// run registered on this row is pending" (the run's status tick reads it).
inline constexpr const char* request_for_run_sql =
    "coalesce(cutover_requested AND cutover_request_run = run_id, false)";

}  // namespace partshift::state
