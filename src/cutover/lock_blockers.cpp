// lock_blockers: who holds the source, and the opt-in termination of long blockers.
#include "partshift/cutover/lock_blockers.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "partshift/pg/pg_error.hpp"

namespace partshift::cutover {

std::vector<lock_blocker> read_lock_blockers(pg::connection& conn, const std::string& relation,
                                             int own_pid) {
    auto r = conn.query(
        "SELECT DISTINCT a.pid, coalesce(a.usename, ''), coalesce(a.application_name, ''), "
        "coalesce(a.backend_type, ''), coalesce(a.backend_start::text, ''), "
        "coalesce(a.state, '?'), "
        "coalesce(round(extract(epoch FROM now() - a.xact_start))::text, '?'), "
        "coalesce(a.query_start::text, '?'), "
        "left(regexp_replace(coalesce(a.query, ''), '\\s+', ' ', 'g'), 60) "
        "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'relation' AND l.relation = $1::regclass AND l.granted "
        // Relation OIDs are per database: a table copied from a template has the same OID in
        // every database made from it, and a session there must never be taken for a blocker.
        "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
        "AND l.pid <> $2 ORDER BY a.pid LIMIT 100",
        relation, own_pid);
    std::vector<lock_blocker> out;
    for (int i = 0; i < r.rows(); ++i) {
        lock_blocker b;
        b.pid = static_cast<int>(r.get_int(i, 0));
        b.user = r.get(i, 1);
        b.application = r.get(i, 2);
        b.backend_type = r.get(i, 3);
        b.backend_start = r.get(i, 4);
        b.state = r.get(i, 5);
        b.xact_seconds = r.get(i, 6);
        b.query_start = r.get(i, 7);
        b.query = r.get(i, 8);
        out.push_back(std::move(b));
    }
    return out;
}

std::string describe_blockers(const std::vector<lock_blocker>& blockers) {
    std::string out;
    for (size_t i = 0; i < blockers.size() && i < 5; ++i) {
        const auto& b = blockers[i];
        if (i) out += "; ";
        out += fmt::format("pid {} ({}, application '{}', transaction open {} s, last query: {})",
                           b.pid, b.state, b.application, b.xact_seconds, b.query);
    }
    if (blockers.size() > 5) out += fmt::format("; and {} more", blockers.size() - 5);
    return out.empty() ? "a session that finished meanwhile" : out;
}

std::string may_terminate(const lock_blocker& b) {
    // The server's own anti-wraparound vacuum does not cancel itself for a lock request as an
    // ordinary autovacuum does, and ending it only postpones work the server must do.
    if (b.backend_type == "autovacuum worker" &&
        b.query.find("to prevent wraparound") != std::string::npos)
        return "autovacuum preventing wraparound";
    if (b.backend_type != "client backend" && b.backend_type != "autovacuum worker")
        return "a " + b.backend_type + ", not a client session";
    if (b.application.rfind("partshift", 0) == 0) return "a session of partshift's own";
    return "";
}

int blocker_terminator::observe(pg::connection& conn, const std::vector<lock_blocker>& blockers,
                                clock::time_point now) {
    std::map<std::pair<int, std::string>, clock::time_point> still;
    int terminated = 0;
    for (const auto& b : blockers) {
        const auto key = std::make_pair(b.pid, b.backend_start);
        auto seen = first_seen_.find(key);
        const auto since = seen == first_seen_.end() ? now : seen->second;
        still[key] = since;
        if (now - since < after_) continue;
        if (auto why_not = may_terminate(b); !why_not.empty()) {
            spdlog::warn("cutover: pid {} blocks the lock but is not terminated: {}", b.pid,
                         why_not);
            continue;
        }
        const double blocked_s = std::chrono::duration<double>(now - since).count();
        spdlog::warn(
            "cutover: terminating pid {} (user {}, application '{}', {}, query started {}, "
            "transaction open {} s, last query: {}): it has blocked the cutover lock for {:.1f} s "
            "(--cutover-terminate-blockers-after)",
            b.pid, b.user, b.application, b.state, b.query_start, b.xact_seconds, b.query,
            blocked_s);
        try {
            // A session that ended meanwhile gives false; nothing to do then.
            if (conn.query("SELECT pg_terminate_backend($1)", b.pid).get_bool(0, 0)) ++terminated;
            still.erase(key);
        } catch (const pg::pg_error& e) {
            if (e.is_connection_loss()) throw;
            spdlog::warn(
                "cutover: could not terminate pid {}: {} (superuser, the same role or "
                "pg_signal_backend is needed)",
                b.pid, e.what());
        }
    }
    first_seen_ = std::move(still);
    return terminated;
}

}  // namespace partshift::cutover
