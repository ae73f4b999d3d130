// lock_blockers: who holds what the cutover locks, autovacuum cancelled, and the opt-in
// termination of long blockers.
#include "partshift/cutover/lock_blockers.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "partshift/pg/array_literal.hpp"
#include "partshift/pg/pg_error.hpp"

namespace partshift::cutover {

std::vector<std::string> conflicting_modes(lock_request mode) {
    // The lock conflict table of PostgreSQL's "Explicit Locking" chapter.
    if (mode == lock_request::share_update_exclusive)
        return {"ShareUpdateExclusiveLock", "ShareLock", "ShareRowExclusiveLock", "ExclusiveLock",
                "AccessExclusiveLock"};
    return {
        "AccessShareLock", "RowShareLock",          "RowExclusiveLock", "ShareUpdateExclusiveLock",
        "ShareLock",       "ShareRowExclusiveLock", "ExclusiveLock",    "AccessExclusiveLock"};
}

std::vector<lock_blocker> read_lock_blockers(pg::connection& conn,
                                             const std::vector<std::string>& relations, int own_pid,
                                             lock_request mode) {
    auto r = conn.query(
        // The named relations and every partition below them: LOCK TABLE takes its lock on
        // each of them, and any one may be what it waited for.
        "WITH RECURSIVE tree(oid) AS ("
        "  SELECT n.oid FROM (SELECT pg_catalog.to_regclass(x) AS oid"
        "   FROM pg_catalog.unnest($1::text[]) x) n WHERE n.oid IS NOT NULL"
        "  UNION SELECT i.inhrelid FROM pg_catalog.pg_inherits i"
        "   JOIN tree ON i.inhparent = tree.oid),"
        " held AS ("
        "  SELECT l.pid, l.virtualtransaction,"
        "   pg_catalog.string_agg(DISTINCT pg_catalog.format('%I.%I', n.nspname, c.relname),"
        "    ', ') AS rels"
        "  FROM pg_catalog.pg_locks l"
        "  JOIN pg_catalog.pg_class c ON c.oid = l.relation"
        "  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
        "  WHERE l.locktype = 'relation' AND l.granted AND l.relation IN (SELECT oid FROM tree)"
        // Relation OIDs are per database: a table copied from a template has the same OID in
        // every database made from it, and a session there must never be taken for a blocker.
        "   AND l.database = (SELECT d.oid FROM pg_catalog.pg_database d"
        "    WHERE d.datname = pg_catalog.current_database())"
        "   AND l.mode = ANY ($3::text[]) AND l.pid IS DISTINCT FROM $2::int"
        "  GROUP BY l.pid, l.virtualtransaction)"
        "SELECT coalesce(h.pid, 0), coalesce(a.usename::text, x.owner::text, ''),"
        " coalesce(a.application_name, ''), coalesce(a.backend_type, ''),"
        " coalesce(a.backend_start::text, ''), coalesce(a.state, '?'),"
        " coalesce(pg_catalog.round(EXTRACT(epoch FROM pg_catalog.now() - a.xact_start))::text,"
        "  '?'),"
        " coalesce(a.query_start::text, '?'),"
        " pg_catalog.left(pg_catalog.regexp_replace(coalesce(a.query, ''), '\\s+', ' ', 'g'), 60),"
        " coalesce(pg_catalog.strpos(a.query, '(to prevent wraparound)') > 0, false),"
        " coalesce(x.gid, ''),"
        " coalesce(pg_catalog.round(EXTRACT(epoch FROM pg_catalog.now() - x.prepared))::text, ''),"
        " h.rels "
        "FROM held h "
        "LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = h.pid "
        // A prepared transaction's locks have no pid; its transaction id lock, under the same
        // virtual transaction, leads to its gid (its subtransactions' ids are locked there
        // too, hence the one pg_prepared_xacts knows).
        "LEFT JOIN LATERAL (SELECT p.gid, p.owner, p.prepared FROM pg_catalog.pg_locks xl"
        "  JOIN pg_catalog.pg_prepared_xacts p ON p.transaction = xl.transactionid"
        "  WHERE h.pid IS NULL AND xl.pid IS NULL AND xl.locktype = 'transactionid'"
        "   AND xl.virtualtransaction = h.virtualtransaction LIMIT 1) x ON true "
        "ORDER BY h.pid NULLS FIRST, x.gid LIMIT 100",
        pg::text_array_literal(relations), own_pid,
        pg::text_array_literal(conflicting_modes(mode)));
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
        b.wraparound = r.get_bool(i, 9);
        b.prepared_gid = r.get(i, 10);
        b.prepared_age = r.get(i, 11);
        b.relations = r.get(i, 12);
        out.push_back(std::move(b));
    }
    return out;
}

namespace {

std::string describe_one(const lock_blocker& b) {
    if (b.pid == 0)
        return fmt::format(
            "prepared transaction '{}' (prepared {} s ago by {}, holds {}; it stays until "
            "COMMIT PREPARED or ROLLBACK PREPARED '{}')",
            b.prepared_gid.empty() ? "?" : b.prepared_gid,
            b.prepared_age.empty() ? "?" : b.prepared_age, b.user.empty() ? "?" : b.user,
            b.relations, b.prepared_gid);
    const std::string holds = b.relations.empty() ? "" : ", holds " + b.relations;
    if (b.backend_type == "autovacuum worker")
        return fmt::format("pid {} (autovacuum worker{}: {})", b.pid, holds, b.query);
    return fmt::format("pid {} ({}, application '{}', transaction open {} s{}, last query: {})",
                       b.pid, b.state, b.application, b.xact_seconds, holds, b.query);
}

}  // namespace

std::string describe_blockers(const std::vector<lock_blocker>& blockers) {
    std::string out;
    for (size_t i = 0; i < blockers.size() && i < 5; ++i) {
        if (i) out += "; ";
        out += describe_one(blockers[i]);
    }
    if (blockers.size() > 5) out += fmt::format("; and {} more", blockers.size() - 5);
    return out.empty() ? "a session that finished meanwhile" : out;
}

std::string may_terminate(const lock_blocker& b) {
    if (b.pid == 0)
        return "prepared transaction '" + b.prepared_gid +
               "': only COMMIT PREPARED or ROLLBACK PREPARED ends it";
    // The server's own anti-wraparound vacuum does not cancel itself for a lock request as an
    // ordinary autovacuum does, and ending it only postpones work the server must do.
    if (b.backend_type == "autovacuum worker" &&
        (b.wraparound || b.query.find("to prevent wraparound") != std::string::npos))
        return "autovacuum preventing wraparound";
    if (b.backend_type != "client backend" && b.backend_type != "autovacuum worker")
        return "a " + b.backend_type + ", not a client session";
    if (b.application.rfind("partshift", 0) == 0) return "a session of partshift's own";
    return "";
}

bool may_cancel_autovacuum(const lock_blocker& b) {
    return b.pid != 0 && b.backend_type == "autovacuum worker" && may_terminate(b).empty();
}

int cancel_autovacuum(pg::connection& conn, const std::vector<lock_blocker>& blockers) {
    int cancelled = 0;
    for (const auto& b : blockers) {
        if (!may_cancel_autovacuum(b)) continue;
        spdlog::warn(
            "cutover: cancelling autovacuum pid {} ({}), which holds {}: the cutover's lock "
            "waits on it, and PostgreSQL cancels an autovacuum a lock waits on only after "
            "deadlock_timeout, longer than --lock-timeout; it runs again later",
            b.pid, b.query, b.relations);
        try {
            // A worker that finished meanwhile gives false; nothing to do then.
            if (conn.query("SELECT pg_catalog.pg_cancel_backend($1)", b.pid).get_bool(0, 0))
                ++cancelled;
        } catch (const pg::pg_error& e) {
            if (e.is_connection_loss()) throw;
            spdlog::warn(
                "cutover: could not cancel autovacuum pid {}: {} (superuser or "
                "pg_signal_backend is needed)",
                b.pid, e.what());
        }
    }
    return cancelled;
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
            if (conn.query("SELECT pg_catalog.pg_terminate_backend($1)", b.pid).get_bool(0, 0))
                ++terminated;
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
