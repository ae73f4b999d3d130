// run_lock: the per-job session advisory lock. One bigint key per job and database.
#include "partshift/state/run_lock.hpp"

#include <thread>

#include <unistd.h>

#include "partshift/error.hpp"

namespace partshift::state {
namespace {

// The key: a 64-bit hash of a fixed prefix and the job name (hashtextextended, PG 11+).
constexpr const char* key_sql = "hashtextextended('partshift.run:' || $1, 0)";
constexpr const char* holder_prefix = "partshift-run ";

std::string host_name() {
    char buf[256] = {};
    if (gethostname(buf, sizeof buf - 1) != 0) return "unknown";
    return buf;
}

}  // namespace

std::string run_application_name() {
    // application_name is cut at 63 bytes by the server; the pid comes first so it survives.
    return std::string(holder_prefix) + "pid " + std::to_string(getpid()) + " on " + host_name();
}

void acquire_run_lock(pg::connection& conn, const std::string& job,
                      std::chrono::milliseconds patience) {
    const auto until = std::chrono::steady_clock::now() + patience;
    while (true) {
        auto r = conn.query(std::string("SELECT pg_try_advisory_lock(") + key_sql + ")", job);
        if (r.get_bool(0, 0)) return;
        if (std::chrono::steady_clock::now() >= until) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    auto holder = run_lock_holder(conn, job);
    throw runtime_error("job " + job + " is running (" + holder.value_or("another session") +
                        "); stop that run first, or wait for it");
}

std::optional<std::string> run_lock_holder(pg::connection& conn, const std::string& job) {
    // A bigint advisory key shows in pg_locks as classid (high half) and objid (low half).
    auto r = conn.query(
        std::string("WITH k AS (SELECT ") + key_sql +
            " AS key) "
            "SELECT coalesce(a.application_name, '') FROM pg_locks l CROSS JOIN k "
            "LEFT JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
            "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND ((l.classid::bigint << 32) | l.objid::bigint) = k.key "
            "AND l.pid <> pg_backend_pid()",
        job);
    if (r.rows() == 0) return std::nullopt;
    std::string name = r.get(0, 0);
    if (name.rfind(holder_prefix, 0) == 0) return name.substr(std::string(holder_prefix).size());
    return "session " + (name.empty() ? std::string("without a name") : name);
}

}  // namespace partshift::state
