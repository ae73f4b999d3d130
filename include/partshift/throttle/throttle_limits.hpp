// throttle_limits: the limits a run's copy is throttled on (run --max-replica-lag, --max-load,
// --throttle-query), and the --max-load SPEC parser. Pure; no I/O.
// The copy ceiling (--max-copy-rate) and pause are live settings kept in the job's row
// instead (partshift set / pause), so they are not here.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace partshift::throttle {

// load_limits: server signals a DBA recognises, read from pg_stat_activity. partshift's own
// sessions (application_name partshift-*) are not counted.
struct load_limits {
    // client backends running a statement (state = 'active'), like MySQL's Threads_running
    std::optional<int64_t> active_backends;
    // client backends waiting for a heavyweight lock (wait_event_type = 'Lock')
    std::optional<int64_t> waiting_backends;
    bool empty() const { return !active_backends && !waiting_backends; }
};

// parse_load_spec reads "active_backends=40,waiting_backends=10"; throws usage_error naming
// the item for an unknown name, a missing '=' or a value that is not a positive integer.
load_limits parse_load_spec(const std::string& spec);

struct throttle_limits {
    // the largest write/flush/replay lag of the source's physical standbys
    std::optional<std::chrono::milliseconds> max_replica_lag;
    load_limits max_load;
    // a query returning one number; > 0 throttles (gh-ost's --throttle-query)
    std::optional<std::string> throttle_query;
};

// describe: the limits in the flags' own words, for the log and status ("" when none).
std::string describe(const throttle_limits& limits);

// parse_copy_rate reads --max-copy-rate: rows per second as "5000" or "5000/s"; 0 = no
// ceiling. Throws usage_error naming `option`.
double parse_copy_rate(const std::string& text, const std::string& option);

}  // namespace partshift::throttle
