// hook_env: event names, the PARTSHIFT_* variables, and which inherited variables a hook keeps.
#include "partshift/hooks/hook_env.hpp"

#include <fmt/format.h>

#include "partshift/pg/conninfo.hpp"
#include "partshift/pg/quote.hpp"

namespace partshift::hooks {

const char* event_name(hook_event event) {
    switch (event) {
        case hook_event::before_copy:
            return "before-copy";
        case hook_event::after_copy:
            return "after-copy";
        case hook_event::before_cutover:
            return "before-cutover";
        case hook_event::after_cutover:
            return "after-cutover";
        case hook_event::on_failure:
            return "on-failure";
        case hook_event::on_status:
            return "on-status";
    }
    return "";
}

namespace {

// sql_name: schema.table as SQL writes it; "" while the name is not known.
std::string sql_name(const std::string& schema, const std::string& table) {
    return table.empty() ? "" : pg::quote_ident(schema) + "." + pg::quote_ident(table);
}

}  // namespace

std::vector<std::pair<std::string, std::string>> hook_env(hook_event event, const hook_figures& f) {
    return {
        {"PARTSHIFT_HOOK", event_name(event)},
        {"PARTSHIFT_JOB", f.job},
        {"PARTSHIFT_PHASE", f.phase},
        {"PARTSHIFT_SOURCE", sql_name(f.source_schema, f.source_table)},
        {"PARTSHIFT_SOURCE_SCHEMA", f.source_schema},
        {"PARTSHIFT_SOURCE_TABLE", f.source_table},
        {"PARTSHIFT_TARGET", sql_name(f.target_schema, f.target_table)},
        {"PARTSHIFT_TARGET_SCHEMA", f.target_schema},
        {"PARTSHIFT_TARGET_TABLE", f.target_table},
        {"PARTSHIFT_CONNINFO", f.conninfo},
        {"PARTSHIFT_ROWS_COPIED", std::to_string(f.rows_copied)},
        {"PARTSHIFT_ROWS_ESTIMATE", std::to_string(f.rows_estimate)},
        {"PARTSHIFT_LAG_SECONDS", f.lag_seconds ? fmt::format("{:.3f}", *f.lag_seconds) : ""},
        {"PARTSHIFT_LAG_BYTES", f.lag_bytes ? std::to_string(*f.lag_bytes) : ""},
        {"PARTSHIFT_APPLIED_LSN", f.applied_lsn},
        {"PARTSHIFT_COPY_THROTTLED", f.copy_throttled ? "true" : "false"},
        {"PARTSHIFT_THROTTLE_REASON", f.throttle_reason},
        {"PARTSHIFT_CUTOVER_ATTEMPTS", std::to_string(f.cutover_attempts)},
        {"PARTSHIFT_LOCK_HOLD_MS", f.lock_hold_ms ? fmt::format("{:.1f}", *f.lock_hold_ms) : ""},
        {"PARTSHIFT_ERROR", f.error},
    };
}

bool may_inherit(std::string_view name, std::string_view value) {
    if (name == "PGPASSWORD") return false;
    return pg::conninfo_password(value).empty();
}

}  // namespace partshift::hooks
