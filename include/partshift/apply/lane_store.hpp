// lane_store: the K-lane applier's rows in partshift.apply_lanes (state/schema.hpp): read and
// settled at the start of a run (lane_routing's plan_lanes decides), and the checkpoint
// statements each lane's batch runs in its own transaction (invariant 2).
// Must not: decide routing or skipping (lane_routing), or run inside a pipeline (apply_session
// queues the checkpoint statements itself).
#pragma once

#include <utility>  // before Asio's coroutine headers (GCC 12 + Boost 1.74)

#include <boost/asio/awaitable.hpp>
#include <string>

#include "partshift/apply/lane_routing.hpp"
#include "partshift/pg/async_connection.hpp"

namespace partshift::apply {

namespace asio = boost::asio;

// lane_checkpoint_sql: one lane's position ($1 job, $2 lane, $3 applied, $4 partial commit or
// NULL, $5 partial changes). One row; none when it would move the lane back, or the job's
// applied LSN is past it (never so but for a second applier of the same job, or a job gone):
// the batch then fails before any lane commits.
extern const char* const lane_checkpoint_sql;
// job_from_lanes_sql: the job's applied_lsn ($1 job) becomes its slowest lane's; no row when
// that would move it back (it is never ahead of the lanes but for a second applier of the
// job). Run by the lane that commits last in a round, after the others committed, so it sees
// every lane's row.
extern const char* const job_from_lanes_sql;

// settle_lanes: reads the job's lane rows, plans this run's lanes (`wanted`; `job_applied`:
// partshift.jobs.applied_lsn, 0 for none) and, when the number changes, replaces the rows by
// the job's applied_lsn in one transaction. Says why at info (or warn when it keeps a killed
// run's number of lanes).
asio::awaitable<lane_plan> settle_lanes(pg::async_connection& conn, const std::string& job,
                                        size_t wanted, stream::lsn_t job_applied);

}  // namespace partshift::apply
