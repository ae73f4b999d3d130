// hook_env: event names and the PARTSHIFT_* variables.
#include "partshift/hooks/hook_env.hpp"

#include <fmt/format.h>

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

std::vector<std::pair<std::string, std::string>> hook_env(hook_event event, const hook_figures& f) {
    return {
        {"PARTSHIFT_HOOK", event_name(event)},
        {"PARTSHIFT_JOB", f.job},
        {"PARTSHIFT_PHASE", f.phase},
        {"PARTSHIFT_SOURCE", f.source},
        {"PARTSHIFT_TARGET", f.target},
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

}  // namespace partshift::hooks
