// throttle_decision: whether the copy must wait, and why, from one second's readings. Pure:
// the throttler reads the server, this decides. The first reason in this order wins: pause,
// WAL retention, replica lag, load, throttle query (most deliberate and most dangerous first).
#pragma once

#include <optional>
#include <string>

#include "partshift/base/throttle_status.hpp"
#include "partshift/throttle/throttle_limits.hpp"
#include "partshift/throttle/wal_guard.hpp"

namespace partshift::throttle {

// server_signals: what the throttler read from the server this second.
struct server_signals {
    std::optional<double> replica_lag_seconds;  // the largest; none = no standby connected
    std::string replica_name;                   // application_name of that standby
    int64_t active_backends = 0;
    int64_t waiting_backends = 0;
    std::optional<double> throttle_query_value;
    std::string throttle_query_error;  // the query failed this time: throttle
};

base::throttle_reason decide_throttle(const throttle_limits& limits, const server_signals& signals,
                                      bool paused, const wal_guard_verdict& guard);

}  // namespace partshift::throttle
