// server_features: one query over the server's settings and the job's slot; rendering.
#include "partshift/monitor/server_features.hpp"

#include <sstream>

namespace partshift::monitor {

namespace {

// failover, synced, invalidation_reason and inactive_since are PostgreSQL 17 columns and
// idle_replication_slot_timeout an 18 setting: to_jsonb and pg_settings give NULL (here '' and
// -1) on a server without them instead of an error.
constexpr const char* features_sql =
    "SELECT pg_catalog.current_setting('server_version'), "
    "pg_catalog.current_setting('server_version_num')::int, "
    "coalesce((pg_catalog.to_jsonb(s) ->> 'failover')::boolean, false), "
    "coalesce((pg_catalog.to_jsonb(s) ->> 'synced')::boolean, false), "
    "coalesce(pg_catalog.to_jsonb(s) ->> 'invalidation_reason', ''), "
    "coalesce(extract(epoch FROM pg_catalog.now() - "
    " (pg_catalog.to_jsonb(s) ->> 'inactive_since')::timestamptz)::float8, -1), "
    "coalesce((SELECT setting::bigint * CASE unit WHEN 'min' THEN 60 WHEN 'h' THEN 3600 "
    " WHEN 'd' THEN 86400 ELSE 1 END FROM pg_catalog.pg_settings "
    " WHERE name = 'idle_replication_slot_timeout'), 0) "
    "FROM (SELECT 1) one LEFT JOIN pg_catalog.pg_replication_slots s ON s.slot_name = $1";

}  // namespace

void read_server_features(pg::connection& conn, proto::status_report& report) {
    auto r = conn.query(features_sql, report.slot_name());
    report.set_server_version(r.get(0, 0));
    report.set_server_version_num(static_cast<double>(r.get_int(0, 1)));
    report.set_slot_failover(r.get_bool(0, 2));
    report.set_slot_synced(r.get_bool(0, 3));
    report.set_slot_invalidation_reason(r.get(0, 4));
    report.set_slot_inactive_seconds(std::stod(r.get(0, 5)));
    report.set_idle_slot_timeout_seconds(static_cast<double>(r.get_int(0, 6)));
    report.clear_server_features();
    if (report.slot_failover()) report.add_server_features("failover_slot");
    if (report.idle_slot_timeout_seconds() > 0) report.add_server_features("idle_slot_timeout");
    if (report.origin_filter() == "on") report.add_server_features("origin_filter");
}

std::string server_features_text(const proto::status_report& s) {
    std::ostringstream out;
    const int version = static_cast<int>(s.server_version_num());
    out << "server       PostgreSQL " << s.server_version() << "; ";
    if (version >= 170000)
        out << (s.slot_failover() ? "failover slot" : "not a failover slot")
            << (s.slot_synced() ? " (a standby's synced copy)" : "");
    else
        out << "no failover slots before PostgreSQL 17";
    if (s.idle_slot_timeout_seconds() > 0)
        out << "; idle_replication_slot_timeout "
            << static_cast<int64_t>(s.idle_slot_timeout_seconds()) << " s";
    out << "\n";
    // Whether the walsender skips partshift's own writes (16+), and why not.
    const auto& filter = s.origin_filter();
    out << "origin       "
        << (filter == "on"   ? "the slot skips partshift's own writes (origin filter on)"
            : filter.empty() ? "origin filter off (the job was started by an earlier partshift)"
                             : "origin filter off (" +
                                   filter.substr(filter.rfind("off: ", 0) == 0 ? 5 : 0) + ")")
        << "\n";
    // A stopped job on a server that invalidates idle slots: how long it may stay stopped.
    if (s.idle_slot_timeout_seconds() > 0 && s.slot_inactive_seconds() >= 0 &&
        s.slot_invalidation_reason().empty() && s.phase() != "done") {
        const auto left =
            static_cast<int64_t>(s.idle_slot_timeout_seconds() - s.slot_inactive_seconds());
        out << "slot idle    nobody has read the slot for "
            << static_cast<int64_t>(s.slot_inactive_seconds()) << " s; the server invalidates "
            << "it after " << static_cast<int64_t>(s.idle_slot_timeout_seconds())
            << " s (idle_replication_slot_timeout, at a checkpoint)"
            << (left > 0 ? ": run the job again within " + std::to_string(left) + " s"
                         : ": it may be invalidated at the next checkpoint")
            << "\n";
    }
    return out.str();
}

}  // namespace partshift::monitor
