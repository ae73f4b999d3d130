// hook_env: the hook events and the job's figures a hook sees, as PARTSHIFT_* environment
// variables. Pure: values in, name/value pairs out.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
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
    std::string source;  // schema.table, as the job names it
    std::string target;
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
// script can rely on their presence.
std::vector<std::pair<std::string, std::string>> hook_env(hook_event event,
                                                          const hook_figures& figures);

}  // namespace partshift::hooks
