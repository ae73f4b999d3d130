// run_lock: the per-job session advisory lock. One bigint key per job and database.
#include "partshift/state/run_lock.hpp"

#include <unistd.h>

#include "partshift/error.hpp"
#include "partshift/pg/pg_error.hpp"

namespace partshift::state {
namespace {

// The key: a 64-bit hash of a fixed prefix and the job name (hashtextextended, PG 11+).
constexpr const char* key_sql = "pg_catalog.hashtextextended('partshift.run:' || $1, 0)";
constexpr const char* holder_prefix = "partshift-run ";

// holder_from: a run's holder name from its session's application_name (as the server keeps
// it: cut at 63 bytes), or the session described for a holder that is not a partshift run.
std::string holder_from(const std::string& application_name) {
    if (application_name.rfind(holder_prefix, 0) == 0)
        return application_name.substr(std::string(holder_prefix).size());
    return "session " +
           (application_name.empty() ? std::string("without a name") : application_name);
}

// wait_for_lock: the server's lock queue does the waiting (it wakes this session as soon as
// the holder lets go or its backend exits): pg_advisory_lock under a lock_timeout of
// `patience`, the session's own lock_timeout set back afterwards. False when it timed out.
bool wait_for_lock(pg::connection& conn, const std::string& job,
                   std::chrono::milliseconds patience) {
    const auto own = conn.query("SELECT pg_catalog.current_setting('lock_timeout')").get(0, 0);
    const char* set = "SELECT pg_catalog.set_config('lock_timeout', $1, false)";
    conn.query(set, std::to_string(patience.count()) + "ms");
    bool taken = true;
    try {
        conn.query(std::string("SELECT pg_catalog.pg_advisory_lock(") + key_sql + ")", job);
    } catch (const pg::pg_error& e) {
        if (e.sqlstate() != pg::sqlstate::lock_not_available) throw;
        taken = false;
    }
    conn.query(set, own);
    return taken;
}

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
    auto r =
        conn.query(std::string("SELECT pg_catalog.pg_try_advisory_lock(") + key_sql + ")", job);
    if (r.get_bool(0, 0)) return;
    if (patience.count() > 0 && wait_for_lock(conn, job, patience)) return;
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
    return holder_from(r.get(0, 0));
}

std::string own_holder_name(pg::connection& conn) {
    // The server's copy of the name, cut as run_lock_holder reads it from another session.
    return holder_from(
        conn.exec("SELECT coalesce(application_name, '') FROM "
                  "pg_catalog.pg_stat_activity WHERE pid = pg_catalog.pg_backend_pid()")
            .get(0, 0));
}

}  // namespace partshift::state
