// run_lock: at most one process works on a job at a time. A session advisory lock, keyed by
// the job name, held by the run's control connection for the whole run; `abort` takes it for
// its own duration, `cutover` asks whether someone holds it. The holder is found through
// pg_locks and named by its connection's application_name ("partshift-run pid N on H"), so a
// refusal can say who runs the job even before the job's row exists.
// Must not: write job state (the lock lives only as long as its session).
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "partshift/pg/connection.hpp"

namespace partshift::state {

// run_application_name: the application_name of a run's control connection, naming this
// process and host so another shell can say who holds a job.
std::string run_application_name();

// acquire_run_lock takes the job's lock on `conn` (kept until that session ends) or throws
// runtime_error "job X is running (pid N on host H)".
// With `patience`, a lock still held is waited for up to that long (in the server's lock
// queue, under a lock_timeout; the session's own lock_timeout is set back): a session that
// just ended (its process took the lock a moment ago) keeps it until its backend has exited.
void acquire_run_lock(pg::connection& conn, const std::string& job,
                      std::chrono::milliseconds patience = std::chrono::milliseconds(0));

// run_lock_holder: who holds the job's lock ("pid N on host H"), nullopt when nobody does.
std::optional<std::string> run_lock_holder(pg::connection& conn, const std::string& job);

// own_holder_name: how run_lock_holder names this session (`conn`) to another one.
std::string own_holder_name(pg::connection& conn);

}  // namespace partshift::state
