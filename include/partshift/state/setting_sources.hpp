// setting_sources: where each setting of a job in effect came from (issue 21 item 2): the
// command line of the run, `partshift set` (and when), kept from an earlier run, or the
// default; the revert window also `partshift cutover --revert-window` (and when). Kept in the job's
// row (partshift.jobs.control_sources, a JSON object by setting), written when a run starts and by
// `partshift set`, read by `status`. The live settings (copy workers, max copy rate, max lag)
// persist in the row, so a run without the flag keeps what an earlier run or `set` left; the
// run-only ones (max lock hold, throttle limits, revert window) are the run's own and recorded with
// their value for status. Must not: decide the values themselves (job_controls settles them).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "partshift/pg/connection.hpp"

namespace partshift::state {

inline constexpr std::string_view source_command_line = "command line";
inline constexpr std::string_view source_set = "set";
// `partshift cutover --revert-window`: replaces the run's window at the cutover.
inline constexpr std::string_view source_cutover = "cutover";
inline constexpr std::string_view source_kept = "kept from an earlier run";
inline constexpr std::string_view source_default = "default";

struct setting_source {
    std::string source;     // one of the source_* names
    std::string at;         // when it was given (command line, set): UTC, ISO 8601; or empty
    std::string kept_from;  // kept: how the earlier run had it ("command line", "set"), or empty
    std::string value;      // run-only settings: the value as the run had it
    bool operator==(const setting_source&) const = default;
};

// settle_source: a live setting's source at the start of a run. `given`: on this run's
// command line; `previous`: what the row says of it; `row_has_value`: the row holds a value
// (a job of an older partshift has values but no sources). An empty `at` means "now".
setting_source settle_source(bool given, const std::optional<setting_source>& previous,
                             bool row_has_value);

// describe_source: "command line", "set at 2026-12-06T12:03:04Z", "cutover at …", "kept from
// an earlier run (set at …)", "default".
std::string describe_source(const setting_source& s);

// The live settings by their keys in control_sources, and the flag that sets each.
struct live_setting {
    std::string_view key;   // "copy_workers", "max_copy_rate", "max_lag"
    std::string_view flag;  // "--copy-workers", ...
    std::string_view name;  // "copy workers", for people
};
const std::vector<live_setting>& live_settings();

// run_setting: a run-only setting as this run has it.
struct run_setting {
    std::string key;  // "max_lock_hold", "throttle_limits", "revert_window"
    std::string value;
    bool given = false;
};

// record_run_sources, at the start of a run and before job_controls settles the values:
// stores each setting's source. `given` holds the keys of the live settings on this run's
// command line. Returns the live settings kept from an earlier run (for the log).
std::map<std::string, setting_source> record_run_sources(pg::connection& conn,
                                                         const std::string& job,
                                                         const std::vector<std::string>& given,
                                                         const std::vector<run_setting>& run);

// record_cutover_revert_window: `partshift cutover --revert-window` gave the window `value`
// (as people read it): the revert window setting shows it, from `cutover`, stamped now.
void record_cutover_revert_window(pg::connection& conn, const std::string& job,
                                  const std::string& value);

// stamp_set_sql: the SQL expression that marks `$3` (a key) as set now, for the UPDATE of
// `partshift set` ($1 the job, $2 the value, $3 the key).
std::string stamp_set_sql();

// read_sources: the row's sources by key (empty for a job of an older partshift).
std::map<std::string, setting_source> read_sources(pg::connection& conn, const std::string& job);

}  // namespace partshift::state
