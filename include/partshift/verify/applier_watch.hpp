// applier_watch: tells whether a job's applier has applied the source up to a given WAL
// position, from partshift.jobs as any shell sees it (the applier may run in another process).
// Blocking: polls on the caller's connection. Reads only; must not write job state.
//
// Two pieces of evidence count:
//   - applied_lsn >= lsn: the applier commits applied_lsn with the changes it covers
//     (invariant 2), and applies in commit order, so every source commit that ends at or before
//     lsn is on the target;
//   - an idle applier: applied_lsn only moves when a published transaction commits, so with no
//     writes after lsn it never gets there. The run's monitor writes lag_bytes = 0 when the
//     applier is current up to the server's WAL insert position it read two updates earlier
//     (monitor/job_monitor.cpp), and stamps each update with source_lsn. So an update showing
//     lag_bytes = 0 that is at least two updates after one whose source_lsn >= lsn proves the
//     applier passed lsn. Counting fewer updates than happened only makes the wait longer.
#pragma once

#include <atomic>
#include <chrono>
#include <string>

#include "partshift/pg/connection.hpp"
#include "partshift/state/job_store.hpp"

namespace partshift::verify {

class applier_watch {
  public:
    applier_watch(pg::connection& conn, std::string job);

    // wait_past returns true once the applier has passed lsn, false when timeout ran out or
    // stop was set first. Polls every poll_interval.
    bool wait_past(state::lsn_t lsn, std::chrono::milliseconds timeout,
                   const std::atomic<bool>* stop = nullptr,
                   std::chrono::milliseconds poll_interval = std::chrono::milliseconds(100));

  private:
    pg::connection& conn_;
    std::string job_;
};

}  // namespace partshift::verify
