// control_session: reconnect, re-lock and backoff of the run's control connection.
#include "partshift/migrate/control_session.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <utility>

#include "partshift/state/run_lock.hpp"

namespace partshift::migrate {

control_session::control_session(std::string dsn, std::vector<std::string> locked_jobs)
    : dsn_(std::move(dsn)),
      locked_jobs_(std::move(locked_jobs)),
      conn_(dsn_, state::run_application_name()) {}

void control_session::lock_tables() {
    std::lock_guard lock(mutex_);
    for (const auto& job : locked_jobs_) state::acquire_run_lock(conn_, job);
}

void control_session::reconnect_if_lost() {
    if (PQstatus(conn_.native()) == CONNECTION_OK) return;
    conn_ = pg::connection(dsn_, state::run_application_name());
    // The lock died with the old session; nobody may have taken it meanwhile.
    lock_tables();
}

void control_session::back_off(const pg::pg_error& e, int attempt) {
    spdlog::warn("control connection lost ({}); retrying", e.what());
    // A plain sleep: the server is away and offers nothing to wait on. Never on the event
    // loop's thread (control_async runs `with` on the task group's pool, the cutover on its
    // own job; the rest before or after the loop), so it holds up no other role.
    std::this_thread::sleep_for(std::chrono::seconds(1 << std::min(attempt, 4)));
}

}  // namespace partshift::migrate
