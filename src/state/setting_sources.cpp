// setting_sources: deciding and storing the sources of a job's settings (see the header).
// Values are parameters; the keys are partshift's own.
#include "partshift/state/setting_sources.hpp"

#include <algorithm>

namespace partshift::state {

namespace {

// now_utc_sql: the time stamp form status prints (as updated_at).
constexpr const char* now_utc_sql =
    "pg_catalog.to_char(pg_catalog.now() AT TIME ZONE 'UTC', "
    "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')";

void store_source(pg::connection& conn, const std::string& job, const std::string& key,
                  const setting_source& s) {
    conn.query(
        std::string("UPDATE partshift.jobs SET control_sources = pg_catalog.jsonb_set("
                    "coalesce(control_sources, '{}'), ARRAY[$2::text], "
                    "pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object("
                    "'source', $3::text, 'at', coalesce(nullif($4::text, ''), ") +
            (s.source == source_command_line || s.source == source_cutover ? now_utc_sql : "NULL") +
            "), 'kept_from', nullif($5::text, ''), 'value', nullif($6::text, '')))) WHERE job = $1",
        job, key, s.source, s.at, s.kept_from, s.value);
}

}  // namespace

setting_source settle_source(bool given, const std::optional<setting_source>& previous,
                             bool row_has_value) {
    if (given) return {std::string(source_command_line), "", "", ""};
    if (previous && previous->source != source_default) {
        // Kept again: it still came from where it first came from.
        const bool kept_before = previous->source == source_kept;
        return {std::string(source_kept), previous->at,
                kept_before ? previous->kept_from : previous->source, ""};
    }
    if (!previous && row_has_value) return {std::string(source_kept), "", "", ""};
    return {std::string(source_default), "", "", ""};
}

std::string describe_source(const setting_source& s) {
    auto with_time = [](const std::string& how, const std::string& at) {
        if (how.empty()) return std::string();
        const bool timed = how == source_set || how == source_cutover;
        return timed && !at.empty() ? how + " at " + at : how;
    };
    if (s.source == source_kept) {
        const auto earlier = with_time(s.kept_from, s.at);
        return s.source + (earlier.empty() ? "" : " (" + earlier + ")");
    }
    return with_time(s.source, s.at);
}

const std::vector<live_setting>& live_settings() {
    static const std::vector<live_setting> settings{
        {"copy_workers", "--copy-workers", "copy workers"},
        {"max_copy_rate", "--max-copy-rate", "max copy rate"},
        {"max_lag", "--max-lag", "max lag"},
        {"apply_workers", "--apply-workers", "apply workers"},
        {"catch_up_pace", "--catch-up-pace", "catch-up pace"},
    };
    return settings;
}

void record_cutover_revert_window(pg::connection& conn, const std::string& job,
                                  const std::string& value) {
    store_source(conn, job, "revert_window", {std::string(source_cutover), "", "", value});
}

std::string stamp_set_sql() {
    return std::string(
               "pg_catalog.jsonb_set(coalesce(control_sources, '{}'), ARRAY[$3::text], "
               "pg_catalog.jsonb_build_object('source', 'set', 'at', ") +
           now_utc_sql + "))";
}

std::map<std::string, setting_source> read_sources(pg::connection& conn, const std::string& job) {
    // Through jsonb: a job of an older partshift has no control_sources column.
    auto r = conn.query(
        "SELECT e.key, coalesce(e.value->>'source', ''), coalesce(e.value->>'at', ''), "
        "coalesce(e.value->>'kept_from', ''), coalesce(e.value->>'value', '') "
        "FROM partshift.jobs j, pg_catalog.jsonb_each(coalesce(pg_catalog.to_jsonb(j)->"
        "'control_sources', '{}')) e WHERE j.job = $1",
        job);
    std::map<std::string, setting_source> out;
    for (int i = 0; i < r.rows(); ++i)
        out[r.get(i, 0)] = {r.get(i, 1), r.get(i, 2), r.get(i, 3), r.get(i, 4)};
    return out;
}

std::map<std::string, setting_source> record_run_sources(pg::connection& conn,
                                                         const std::string& job,
                                                         const std::vector<std::string>& given,
                                                         const std::vector<run_setting>& run) {
    const auto previous = read_sources(conn, job);
    auto values = conn.query(
        "SELECT max_copy_rate IS NOT NULL, max_lag_ms IS NOT NULL, copy_workers IS NOT NULL, "
        "apply_workers IS NOT NULL, catch_up_pace IS NOT NULL FROM partshift.jobs WHERE job = $1",
        job);
    if (values.rows() == 0) return {};
    const std::map<std::string, bool> has_value{{"max_copy_rate", values.get_bool(0, 0)},
                                                {"max_lag", values.get_bool(0, 1)},
                                                {"copy_workers", values.get_bool(0, 2)},
                                                {"apply_workers", values.get_bool(0, 3)},
                                                {"catch_up_pace", values.get_bool(0, 4)}};
    std::map<std::string, setting_source> kept;
    for (const auto& s : live_settings()) {
        const std::string key(s.key);
        const bool on_command_line = std::find(given.begin(), given.end(), key) != given.end();
        const auto before = previous.find(key);
        const auto settled =
            settle_source(on_command_line,
                          before == previous.end() ? std::nullopt : std::optional(before->second),
                          has_value.at(key));
        store_source(conn, job, key, settled);
        if (settled.source == source_kept) kept[key] = settled;
    }
    for (const auto& r : run)
        store_source(
            conn, job, r.key,
            {std::string(r.given ? source_command_line : source_default), "", "", r.value});
    return kept;
}

}  // namespace partshift::state
