// lock_blockers: who holds a lock the cutover's lock request conflicts with — sessions and
// prepared (2PC) transactions, on every relation the cutover locks (sources, targets and the
// partitions below them) — read after a lock_timeout for the log and the final error. An
// ordinary autovacuum among them is cancelled (pg_cancel_backend), as PostgreSQL cancels
// autovacuum itself when a lock has waited on it for deadlock_timeout: the cutover's
// lock_timeout is far shorter, so the server never does it for us, and freshly copied
// partitions are autovacuum's first choice. With run --cutover-terminate-blockers-after
// (opt-in), sessions that have blocked it long enough are terminated with
// pg_terminate_backend. Never autovacuum's wraparound work (it comes back at once, and the
// server needs it), never a session of partshift's own, never other server processes, never a
// prepared transaction (only COMMIT PREPARED or ROLLBACK PREPARED ends one).
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
    int pid = 0;  // 0 for a prepared transaction
    std::string user;
    std::string application;
    std::string backend_type;   // pg_stat_activity.backend_type: "client backend", …
    std::string backend_start;  // with pid, identifies the session (pids are reused)
    std::string state;
    std::string xact_seconds;  // how long its transaction has been open, "?" if none
    std::string query_start;
    std::string query;  // the start of its last query
    // An autovacuum to prevent wraparound, read from the whole query text (its marker comes
    // after the table's name, past what `query` keeps of a long one).
    bool wraparound = false;
    std::string prepared_gid;  // a prepared transaction's gid (pid 0)
    std::string prepared_age;  // seconds since its PREPARE TRANSACTION
    std::string relations;     // the relations it holds locks on: "public.t_p2026_12, ..."
};

// lock_request: the mode the cutover asked for, which decides which held locks conflict.
enum class lock_request { share_update_exclusive, access_exclusive };

// conflicting_modes: pg_locks.mode names that conflict with `mode`. Pure.
std::vector<std::string> conflicting_modes(lock_request mode);

// read_lock_blockers: sessions and prepared transactions holding a granted lock that conflicts
// with `mode` on one of `relations` (quoted SQL names) or a partition below one, other than
// `own_pid`; sessions in pid order, prepared transactions first.
std::vector<lock_blocker> read_lock_blockers(pg::connection& conn,
                                             const std::vector<std::string>& relations, int own_pid,
                                             lock_request mode);

// describe_blockers: "pid 123 (idle in transaction, application 'psql', transaction open 40 s,
// holds public.events, last query: …); prepared transaction 'tx1' (…); …" for the first five,
// for the log and the final error.
std::string describe_blockers(const std::vector<lock_blocker>& blockers);

// may_terminate: empty when the session may be terminated, else why not. Pure.
std::string may_terminate(const lock_blocker& b);

// may_cancel_autovacuum: an ordinary autovacuum worker (not one preventing wraparound). Pure.
bool may_cancel_autovacuum(const lock_blocker& b);

// cancel_autovacuum: cancels every blocker may_cancel_autovacuum allows, each logged with what
// it held; returns how many it cancelled (the attempt can be retried at once).
int cancel_autovacuum(pg::connection& conn, const std::vector<lock_blocker>& blockers);

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
