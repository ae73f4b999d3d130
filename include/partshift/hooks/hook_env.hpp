// hook_env: the hook events and the job's figures a hook sees, as PARTSHIFT_* environment
// variables. Pure: values in, name/value pairs out.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace partshift::hooks {

enum class hook_event {
    before_copy,
    after_copy,
    before_cutover,
    after_cutover,
    on_failure,
    on_status
};

// event_name: the hook's file name, "before-cutover".
const char* event_name(hook_event event);

struct hook_figures {
    std::string job;
    std::string phase;
    // The tables' names unquoted, as the catalog spells them ("Odd Schema", "My Table").
    std::string source_schema;
    std::string source_table;
    std::string target_schema;
    std::string target_table;
    // The --dsn's settings without its password (pg::conninfo_without_password).
    std::string conninfo;
    int64_t rows_copied = 0;
    int64_t rows_estimate = 0;
    std::optional<double> lag_seconds;  // unknown until measured
    std::optional<int64_t> lag_bytes;
    std::string applied_lsn;  // "0/16B3748"
    bool copy_throttled = false;
    std::string throttle_reason;
    int64_t cutover_attempts = 0;
    std::optional<double> lock_hold_ms;  // after-cutover
    std::string error;                   // on-failure
};

// hook_env: the variables for `event`, every one always set (empty when unknown), so a
// script can rely on their presence. PARTSHIFT_SOURCE and PARTSHIFT_TARGET are the names as
// SQL writes them ("Odd Schema"."My Table"); the _SCHEMA and _TABLE variables hold the parts
// unquoted.
std::vector<std::pair<std::string, std::string>> hook_env(hook_event event,
                                                          const hook_figures& figures);

// may_inherit: whether a variable of partshift's own environment is passed on to a hook:
// not PGPASSWORD, and not a variable whose value is a connection string (key=value or URI)
// that carries a password. A hook gets PARTSHIFT_CONNINFO instead and finds its password
// where partshift's libpq would (~/.pgpass, PGPASSFILE, a service file).
bool may_inherit(std::string_view name, std::string_view value);

}  // namespace partshift::hooks
