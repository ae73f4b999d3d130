// status_reader: one read-only query over partshift.jobs and pg_replication_slots; rendering.
#include "partshift/monitor/status_reader.hpp"

#include <google/protobuf/util/json_util.h>

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <sstream>

#include "partshift/error.hpp"
#include "partshift/monitor/byte_size.hpp"
#include "partshift/monitor/estimates.hpp"
#include "partshift/monitor/human_units.hpp"
#include "partshift/monitor/server_features.hpp"
#include "partshift/monitor/status_settings.hpp"
#include "partshift/state/job_store.hpp"
#include "partshift/state/revert_window.hpp"

namespace partshift::monitor {

namespace {

// read_revert_window: the window's state from the job's row, and the reverse job's figures.
void read_revert_window(pg::connection& conn, proto::status_report& s) {
    auto w = conn.query(
        "SELECT coalesce(to_jsonb(j)->>'revert_state', ''), "
        "coalesce(to_char((to_jsonb(j)->>'revert_until')::timestamptz AT TIME ZONE 'UTC', "
        "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), '') FROM partshift.jobs j WHERE job = $1",
        s.job());
    if (w.rows() == 0 || w.get(0, 0).empty()) return;
    s.set_revert_state(w.get(0, 0));
    s.set_revert_until(w.get(0, 1));
    const std::string reverse = state::reverse_job_name(s.job());
    s.set_reverse_job(reverse);
    auto r = conn.query(
        "SELECT coalesce(s.active, false), coalesce(j.lag_bytes, 0), coalesce(j.lag_seconds, 0), "
        "coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), s.restart_lsn), 0)::bigint, "
        "coalesce(j.summary, '') "
        "FROM partshift.jobs j LEFT JOIN pg_replication_slots s ON s.slot_name = j.slot_name "
        "WHERE j.job = $1",
        reverse);
    if (r.rows() == 0) return;
    s.set_reverse_running(r.get_bool(0, 0));
    // The job's run is the one following its window now.
    if (s.reverse_running() && s.revert_state() == "open") s.set_running(true);
    s.set_reverse_lag_bytes(static_cast<double>(std::max<int64_t>(0, r.get_int(0, 1))));
    s.set_reverse_lag_seconds(std::stod(r.get(0, 2)));
    s.set_reverse_retained_wal_bytes(static_cast<double>(r.get_int(0, 3)));
    s.set_revert_summary(r.get(0, 4));
}

// read_live_figures: the running job's estimates (job_monitor writes them once a second);
// a stopped job's last ones are stale, so they are left at "unknown".
void read_live_figures(pg::connection& conn, proto::status_report& s) {
    s.set_copy_seconds_left(-1);
    s.set_index_seconds_left(-1);
    s.set_catch_up_seconds_left(-1);
    if (s.running() && s.phase() != "done") {
        auto r = conn.query(
            "SELECT coalesce((l->>'rows_in_flight')::float8, 0), "
            "coalesce((l->>'chunks_running')::float8, 0), coalesce((l->>'copy_rate')::float8, 0), "
            "coalesce((l->>'copy_seconds_left')::float8, -1), "
            "coalesce((l->>'index_builds_done')::float8, 0), "
            "coalesce((l->>'index_builds_total')::float8, 0), "
            "coalesce((l->>'index_seconds_left')::float8, -1), coalesce(l->>'catch_up', ''), "
            "coalesce((l->>'catch_up_seconds_left')::float8, -1), "
            "coalesce((l->>'applied_wal_rate')::float8, 0), "
            "coalesce((l->>'incoming_wal_rate')::float8, 0), "
            "coalesce((l->>'catch_up_paced')::boolean, false) "
            "FROM (SELECT pg_catalog.to_jsonb(j)->'live' AS l FROM partshift.jobs j WHERE j.job = "
            "$1) x "
            "WHERE l IS NOT NULL",
            s.job());
        if (r.rows() > 0) {
            auto num = [&](int col) { return std::stod(r.get(0, col)); };
            s.set_rows_in_flight(num(0));
            s.set_chunks_running(num(1));
            s.set_copy_rate(num(2));
            s.set_copy_seconds_left(num(3));
            s.set_index_builds_done(num(4));
            s.set_index_builds_total(num(5));
            s.set_index_seconds_left(num(6));
            s.set_catch_up(r.get(0, 7));
            s.set_catch_up_seconds_left(num(8));
            s.set_applied_wal_rate(num(9));
            s.set_incoming_wal_rate(num(10));
            s.set_catch_up_paced(r.get_bool(0, 11));
        }
    }
    if (s.phase() == "copy" || s.phase() == "index" || s.phase() == "prepared")
        s.set_lag_note(
            "expected to grow until the copy and the index build are done: the source's "
            "changes wait in the spool meanwhile and are applied after them");
    else if (s.phase() == "replay")
        s.set_lag_note("the changes spooled during the copy are being applied");
}

// read_apply_lanes: each apply lane's position, with more than one lane. A job an older
// partshift started has no partshift.apply_lanes table (status does not create it).
void read_apply_lanes(pg::connection& conn, proto::status_report& s) {
    if (!conn.query("SELECT pg_catalog.to_regclass('partshift.apply_lanes') IS NOT NULL")
             .get_bool(0, 0))
        return;
    auto r = conn.query(
        "SELECT l.lane, l.applied_lsn::text, "
        "pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), l.applied_lsn)::bigint "
        "FROM partshift.apply_lanes l WHERE l.job = $1 ORDER BY l.lane",
        s.job());
    if (r.rows() < 2) return;
    for (int i = 0; i < r.rows(); ++i) {
        auto* lane = s.add_apply_lanes();
        lane->set_lane(static_cast<double>(r.get_int(i, 0)));
        lane->set_applied_lsn(r.get(i, 1));
        lane->set_lag_bytes(static_cast<double>(std::max<int64_t>(0, r.get_int(i, 2))));
    }
}

// read_group_tables: a multi-table job's tables with their copy figures.
void read_group_tables(pg::connection& conn, proto::status_report& s) {
    auto r = conn.query(
        "SELECT j.job, format('%I.%I', j.source_schema, j.source_table), "
        "format('%I.%I', j.target_schema, j.target_table), j.rows_copied, j.rows_estimate, "
        "(SELECT count(*) FILTER (WHERE c.done) FROM partshift.chunks c WHERE c.job = j.job), "
        "(SELECT count(*) FROM partshift.chunks c WHERE c.job = j.job), "
        "to_jsonb(j) ->> 'group_job' "
        "FROM partshift.jobs j, partshift.jobs me WHERE me.job = $1 "
        "AND to_jsonb(j) ->> 'group_job' = to_jsonb(me) ->> 'group_job' "
        "ORDER BY (to_jsonb(j) ->> 'group_position')::int",
        s.job());
    if (r.rows() == 0) return;
    if (r.get(0, 7) != s.job()) s.set_group_job(r.get(0, 7));
    if (!s.group_job().empty()) return;  // the job's own row lists them
    for (int i = 0; i < r.rows(); ++i) {
        auto* t = s.add_tables();
        t->set_job(r.get(i, 0));
        t->set_source(r.get(i, 1));
        t->set_target(r.get(i, 2));
        t->set_rows_copied(static_cast<double>(r.get_int(i, 3)));
        t->set_rows_estimate(static_cast<double>(r.get_int(i, 4)));
        t->set_chunks_done(static_cast<double>(r.get_int(i, 5)));
        t->set_chunks_total(static_cast<double>(r.get_int(i, 6)));
    }
}

}  // namespace

proto::status_report read_status(pg::connection& conn, const std::string& job) {
    if (!state::schema_exists(conn)) throw usage_error("no partshift job named " + job);
    auto r = conn.query(
        "SELECT j.job, j.phase, format('%I.%I', j.source_schema, j.source_table) AS source, "
        "format('%I.%I', j.target_schema, j.target_table) AS target, j.rows_copied, "
        "j.rows_estimate, coalesce(j.applied_lsn::text, '') AS applied_lsn, "
        "pg_current_wal_lsn()::text AS source_lsn, "
        "coalesce(j.lag_bytes, pg_wal_lsn_diff(pg_current_wal_lsn(), j.applied_lsn)::bigint, 0) "
        "  AS lag_bytes, "
        "coalesce(j.lag_seconds, 0) AS lag_seconds, coalesce(j.apply_rate, 0) AS apply_rate, "
        "to_char(j.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') AS "
        "updated_at, "
        "j.slot_name, j.publication_name, coalesce(s.wal_status, 'missing') AS wal_status, "
        "coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), s.restart_lsn), 0)::bigint AS retained, "
        "coalesce(s.active, false) AS running, coalesce(j.last_error, '') AS last_error, "
        "coalesce(j.l0_lsn::text, '') AS l0, coalesce(j.max_chunk_high_lsn::text, '') AS high, "
        "(SELECT count(*) FROM partshift.chunks c WHERE c.job = j.job) AS chunks_total, "
        "(SELECT count(*) FROM partshift.chunks c WHERE c.job = j.job AND c.done) AS chunks_done, "
        "coalesce(j.cutover_state, '') AS cutover_state, coalesce(j.lock_hold_ms, 0) AS hold, "
        "coalesce(j.summary, '') AS summary, "
        // Through jsonb: a job an older version started has no control columns yet, and
        // status must not change the schema.
        "coalesce(to_jsonb(j)->>'throttle_reason', '') AS throttle_reason, "
        "coalesce((to_jsonb(j)->>'copy_paused')::boolean, false) AS copy_paused, "
        "coalesce((to_jsonb(j)->>'max_copy_rate')::float8, 0) AS max_copy_rate, "
        "coalesce((to_jsonb(j)->>'max_lag_ms')::bigint, 1000) AS max_lag_ms, "
        "coalesce(to_jsonb(j)->>'throttle_limits', '') AS limits, "
        "coalesce(s.safe_wal_size, -1) AS safe_wal, "
        "coalesce(to_jsonb(j)->>'apply_behind', '') AS behind, "
        "coalesce((to_jsonb(j)->>'copy_workers')::int, 0) AS copy_workers, "
        "coalesce((to_jsonb(j)->>'apply_workers')::int, 1) AS apply_workers, "
        "coalesce((to_jsonb(j)->>'catch_up_pace')::int, 100) AS catch_up_pace, "
        "coalesce(to_jsonb(j)->>'origin_filter', '') AS origin_filter "
        "FROM partshift.jobs j LEFT JOIN pg_replication_slots s ON s.slot_name = j.slot_name "
        "WHERE j.job = $1",
        job);
    if (r.rows() == 0) throw usage_error("no partshift job named " + job);
    proto::status_report s;
    s.set_job(r.get(0, "job"));
    s.set_phase(r.get(0, "phase"));
    s.set_source(r.get(0, "source"));
    s.set_target(r.get(0, "target"));
    s.set_rows_copied(static_cast<double>(r.get_int(0, "rows_copied")));
    s.set_rows_estimate(static_cast<double>(r.get_int(0, "rows_estimate")));
    s.set_applied_lsn(r.get(0, "applied_lsn"));
    s.set_source_lsn(r.get(0, "source_lsn"));
    s.set_lag_bytes(static_cast<double>(std::max<int64_t>(0, r.get_int(0, "lag_bytes"))));
    s.set_lag_seconds(std::stod(r.get(0, "lag_seconds")));
    s.set_apply_rate(std::stod(r.get(0, "apply_rate")));
    s.set_updated_at(r.get(0, "updated_at"));
    s.set_slot_name(r.get(0, "slot_name"));
    s.set_publication(r.get(0, "publication_name"));
    s.set_wal_status(r.get(0, "wal_status"));
    s.set_retained_wal_bytes(static_cast<double>(r.get_int(0, "retained")));
    s.set_running(r.get_bool(0, "running"));
    s.set_last_error(r.get(0, "last_error"));
    s.set_l0_lsn(r.get(0, "l0"));
    s.set_idempotent_until_lsn(r.get(0, "high"));
    s.set_chunks_total(static_cast<double>(r.get_int(0, "chunks_total")));
    s.set_chunks_done(static_cast<double>(r.get_int(0, "chunks_done")));
    // The stage ("waiting for cutover", "cutting over") is a running job's; a stopped job's
    // last one is stale, and a caller waiting for "waiting for cutover" after a rerun must
    // not take the stopped run's word for the new one's.
    s.set_cutover_state(s.running() || s.phase() == "done" ? r.get(0, "cutover_state") : "");
    s.set_lock_hold_ms(std::stod(r.get(0, "hold")));
    s.set_summary(r.get(0, "summary"));
    // The reason is written by a running job once a second; a stopped job's last one is stale.
    // The index build waits on the copy's throttles too.
    const bool copying = s.running() && (s.phase() == "copy" || s.phase() == "index");
    s.set_copy_throttled(copying && !r.get(0, "throttle_reason").empty());
    s.set_throttle_reason(s.copy_throttled() ? r.get(0, "throttle_reason") : "");
    s.set_copy_paused(r.get_bool(0, "copy_paused"));
    s.set_max_copy_rate(std::stod(r.get(0, "max_copy_rate")));
    s.set_max_lag_seconds(static_cast<double>(r.get_int(0, "max_lag_ms")) / 1000.0);
    s.set_throttle_limits(r.get(0, "limits"));
    s.set_slot_safe_wal_bytes(static_cast<double>(r.get_int(0, "safe_wal")));
    // Written once a second by a running job; a stopped job's last verdict is stale.
    s.set_copy_workers(static_cast<double>(r.get_int(0, "copy_workers")));
    s.set_apply_workers(static_cast<double>(r.get_int(0, "apply_workers")));
    s.set_catch_up_pace(static_cast<double>(r.get_int(0, "catch_up_pace")));
    s.set_apply_falling_behind(s.running() && !r.get(0, "behind").empty());
    s.set_apply_behind_reason(s.apply_falling_behind() ? r.get(0, "behind") : "");
    s.set_origin_filter(r.get(0, "origin_filter"));
    read_live_figures(conn, s);
    read_revert_window(conn, s);
    read_group_tables(conn, s);
    read_apply_lanes(conn, s);
    read_server_features(conn, s);
    read_settings(conn, s);
    return s;
}

std::string status_to_json(const proto::status_report& report) {
    google::protobuf::util::JsonPrintOptions options;
    options.always_print_primitive_fields = true;
    options.preserve_proto_field_names = true;
    std::string out;
    auto st = google::protobuf::util::MessageToJsonString(report, &out, options);
    if (!st.ok()) throw std::runtime_error("cannot render status as JSON: " + st.ToString());
    return out;
}

namespace {

std::string count(double n) {
    return human_count(static_cast<int64_t>(n));
}

std::optional<double> known(double seconds_left) {
    return seconds_left >= 0 ? std::optional(seconds_left) : std::nullopt;
}

// copied_line: committed rows, plus the running chunks' rows (an estimate, said so).
std::string copied_line(const proto::status_report& s) {
    const double in_flight = s.rows_in_flight();
    const double rows = s.rows_copied() + in_flight;
    std::string line =
        (in_flight > 0 ? "~" : "") + count(rows) + " of ~" + count(s.rows_estimate()) + " rows";
    if (s.rows_estimate() > 0)
        line += fmt::format(" ({:.0f}%)",
                            100.0 * std::min(rows, s.rows_estimate()) / s.rows_estimate());
    line += ", " + count(s.chunks_done()) + "/" + count(s.chunks_total()) + " chunks";
    if (in_flight > 0)
        line += "; " + count(s.rows_copied()) + " committed, ~" + count(in_flight) + " in " +
                count(s.chunks_running()) +
                " running chunk(s) (estimated from the target's size: a chunk's rows count "
                "once it commits)";
    return line;
}

}  // namespace

std::string status_to_text(const proto::status_report& s) {
    std::ostringstream out;
    out << "job          " << s.job() << (s.running() ? " (running)" : " (not running)") << "\n"
        << "phase        " << s.phase()
        << (s.cutover_state().empty() || s.phase() == "done" ? "" : " (" + s.cutover_state() + ")")
        << "\n"
        << "source       " << s.source() << "\n"
        << "target       " << s.target() << (s.phase() == "done" ? " (swapped: see cutover)" : "")
        << "\n"
        << "copied       " << copied_line(s) << "\n";
    if (s.running() && s.phase() == "copy") {
        out << "copy rate    " << human_rate(s.copy_rate(), "rows");
        if (auto eta = human_eta(known(s.copy_seconds_left())); !eta.empty()) out << ", " << eta;
        out << "\n";
    }
    if (s.running() && s.index_builds_total() > 0 && s.phase() == "index") {
        out << "index build  " << count(s.index_builds_done()) << "/"
            << count(s.index_builds_total()) << " partition builds";
        if (auto eta = human_eta(known(s.index_seconds_left())); !eta.empty()) out << ", " << eta;
        out << "\n";
    }
    out << "applied LSN  " << s.applied_lsn() << " (server at " << s.source_lsn() << ")\n"
        << "lag          " << human_size(s.lag_bytes()) << ", " << human_duration(s.lag_seconds())
        << (s.lag_note().empty() || s.phase() == "done" ? "" : " (" + s.lag_note() + ")") << "\n"
        << "apply rate   " << human_rate(s.apply_rate(), "changes") << "\n";
    if (s.apply_lanes_size() > 0 && s.phase() != "done") {
        out << "apply lanes  " << s.apply_lanes_size() << ", applied up to";
        for (const auto& lane : s.apply_lanes())
            out << (lane.lane() > 0 ? ", " : " ") << lane.applied_lsn();
        out << " (lane 0 first; each resumes from its own)\n";
    }
    if (!s.catch_up().empty()) {
        catch_up_estimate e;
        if (s.catch_up() == "caught up") e.state = catch_up_state::caught_up;
        if (s.catch_up() == "converging") e.state = catch_up_state::converging;
        if (s.catch_up() == "not converging") e.state = catch_up_state::not_converging;
        e.seconds_left = known(s.catch_up_seconds_left());
        e.applied_bytes_per_second = s.applied_wal_rate();
        e.incoming_bytes_per_second = s.incoming_wal_rate();
        e.window_seconds = 1;  // the rates are known
        if (e.state == catch_up_state::not_converging)
            out << "catch-up     not converging (applying "
                << human_byte_rate(e.applied_bytes_per_second) << " of WAL, "
                << human_byte_rate(e.incoming_bytes_per_second) << " incoming): the lag grows\n";
        else
            out << "catch-up     " << describe_catch_up(e)
                << (s.catch_up_paced() ? " (paced: --catch-up-pace)" : "") << "\n";
    } else if (s.catch_up_paced()) {
        out << "catch-up     (paced: --catch-up-pace)\n";
    }
    // After the swap the job's slot is dropped by design: not a "missing" slot to worry about.
    if (s.phase() == "done" && s.wal_status() == "missing")
        out << "slot         " << s.slot_name() << ", dropped after the cutover as planned\n";
    else
        out << "slot         " << s.slot_name() << ", wal_status " << s.wal_status() << ", retains "
            << human_size(s.retained_wal_bytes()) << " of WAL\n";
    out << "updated at   " << s.updated_at() << "\n";
    if (!s.group_job().empty())
        out << "part of      job " << s.group_job() << " (its tables are copied, followed and "
            << "cut over together: 'partshift status --job " << s.group_job() << "')\n";
    if (s.tables_size() > 0) {
        out << "tables       " << s.tables_size() << ", cut over together in one transaction\n";
        for (const auto& t : s.tables())
            out << "  " << t.source() << " -> " << t.target() << ": " << count(t.rows_copied())
                << " of ~" << count(t.rows_estimate()) << " rows copied (" << count(t.chunks_done())
                << "/" << count(t.chunks_total()) << " chunks)\n";
    }
    out << server_features_text(s);
    if (s.wal_status() == "lost" && s.slot_invalidation_reason() == "idle_timeout")
        out << "slot lost    the server invalidated the slot (nobody read it for longer than "
               "idle_replication_slot_timeout): start over ('partshift abort', then run)\n";
    else if (s.wal_status() == "lost")
        out << "slot lost    the server invalidated the slot (it pinned more WAL than "
               "max_slot_wal_keep_size allows): start over ('partshift abort', then run)\n";
    if (s.phase() != "done") {
        out << "controls     copy " << (s.copy_paused() ? "paused" : "not paused");
        if (s.copy_workers() > 0) out << ", " << static_cast<int>(s.copy_workers()) << " workers";
        if (s.max_copy_rate() > 0) out << ", at most " << human_rate(s.max_copy_rate(), "rows");
        if (!s.throttle_limits().empty()) out << "; throttle limits: " << s.throttle_limits();
        out << "; cutover at lag <= " << human_duration(s.max_lag_seconds()) << "\n";
        out << settings_text(s);
    }
    if (s.copy_throttled()) out << "throttled    " << s.throttle_reason() << "\n";
    if (s.apply_falling_behind()) out << "behind       " << s.apply_behind_reason() << "\n";
    if (!s.summary().empty()) out << "cutover      " << s.summary() << "\n";
    if (s.revert_state() == "open")
        out << "revert       window open until " << s.revert_until() << "; reverse stream "
            << (s.reverse_running() ? "running" : "not running") << ", lag "
            << human_size(s.reverse_lag_bytes()) << ", " << human_duration(s.reverse_lag_seconds())
            << "; its slot retains " << human_size(s.reverse_retained_wal_bytes())
            << " of WAL ('partshift revert' swaps back, 'partshift finish' ends it)\n";
    else if (s.revert_state() == "reverted")
        out << "revert       " << s.revert_summary() << "\n";
    else if (s.revert_state() == "broken")
        out << "revert       window broken: the reverse stream stopped on a row the original "
               "refuses ("
            << s.revert_summary()
            << "); it no longer follows and its slot is dropped; there is no way back without "
               "losing writes ('partshift finish' closes the window)\n";
    else if (s.revert_state() == "finished")
        out << "revert       window closed; the original table is kept, no longer followed\n";
    if (!s.last_error().empty()) out << "last error   " << s.last_error() << "\n";
    return out.str();
}

}  // namespace partshift::monitor
