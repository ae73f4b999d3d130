// control_session: the run's control connection to partshift.jobs: the run locks of the
// job's tables (held for the whole run, taken again after a reconnect) and short control
// statements that ride out a server restart by reconnecting with backoff. Thread-safe: the
// phase script runs its statements on the task group's pool (never on the event loop), the
// cutover on its own thread; one at a time.
// Must not: run on the event loop's thread while the loop runs (it blocks and sleeps), or
// hold a transaction across calls.
#pragma once

#include <mutex>
#include <string>
#include <type_traits>
#include <vector>

#include "partshift/pg/connection.hpp"
#include "partshift/pg/pg_error.hpp"

namespace partshift::migrate {

class control_session {
  public:
    control_session(std::string dsn, std::vector<std::string> locked_jobs);

    // lock_tables takes the run lock of every row of the job (one process per job).
    void lock_tables();

    // with runs `body(connection)`, reconnecting (and locking again) when the server went
    // away, up to six times with backoff.
    template <typename F>
    std::invoke_result_t<F, pg::connection&> with(F&& body);

    // connection: for the steps before the run's loop starts (prepare); no reconnect.
    pg::connection& connection() { return conn_; }

  private:
    void reconnect_if_lost();
    static void back_off(const pg::pg_error& e, int attempt);

    std::string dsn_;
    std::vector<std::string> locked_jobs_;
    std::recursive_mutex mutex_;  // recursive: a body may call lock_tables (run())
    pg::connection conn_;
};

template <typename F>
std::invoke_result_t<F, pg::connection&> control_session::with(F&& body) {
    std::lock_guard lock(mutex_);
    for (int attempt = 0;; ++attempt) {
        try {
            reconnect_if_lost();
            return body(conn_);
        } catch (const pg::pg_error& e) {
            if (!e.is_connection_loss() || attempt >= 6) throw;
            back_off(e, attempt);
        }
    }
}

}  // namespace partshift::migrate
