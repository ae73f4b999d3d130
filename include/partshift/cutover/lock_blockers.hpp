// lock_blockers: the sessions that hold a lock on the source while the cutover's lock waits,
// read after a lock_timeout for the log, and (run --cutover-terminate-blockers-after, opt-in)
// the ones that have blocked it long enough, terminated with pg_terminate_backend. Never
// autovacuum's wraparound work (it comes back at once, and the server needs it), never a
// session of partshift's own, never other server processes.
// Must not: take or release the cutover's lock; cutover_runner does.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "partshift/pg/connection.hpp"

namespace partshift::cutover {

struct lock_blocker {
    int pid = 0;
    std::string user;
    std::string application;
    std::string backend_type;   // pg_stat_activity.backend_type: "client backend", …
    std::string backend_start;  // with pid, identifies the session (pids are reused)
    std::string state;
    std::string xact_seconds;  // how long its transaction has been open, "?" if none
    std::string query_start;
    std::string query;  // the start of its last query
};

// read_lock_blockers: sessions holding a granted lock on `relation` (every one conflicts with
// ACCESS EXCLUSIVE), other than `own_pid`, in pid order.
std::vector<lock_blocker> read_lock_blockers(pg::connection& conn, const std::string& relation,
                                             int own_pid);

// describe_blockers: "pid 123 (idle in transaction, application 'psql', transaction open 40 s,
// last query: …); …" for the first five, for the log and the final error.
std::string describe_blockers(const std::vector<lock_blocker>& blockers);

// may_terminate: empty when the session may be terminated, else why not. Pure.
std::string may_terminate(const lock_blocker& b);

// blocker_terminator: remembers when each blocking session was first seen blocking the
// cutover, and terminates it once that is at least `after` ago.
class blocker_terminator {
  public:
    using clock = std::chrono::steady_clock;
    explicit blocker_terminator(std::chrono::milliseconds after) : after_(after) {}

    // observe: after an attempt's lock timed out; returns how many sessions it terminated.
    // Sessions no longer blocking are forgotten (a new transaction starts a new count).
    int observe(pg::connection& conn, const std::vector<lock_blocker>& blockers,
                clock::time_point now = clock::now());

  private:
    std::chrono::milliseconds after_;
    std::map<std::pair<int, std::string>, clock::time_point> first_seen_;
};

}  // namespace partshift::cutover
