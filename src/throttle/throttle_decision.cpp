// throttle_decision: limits × signals → reason. No I/O.
#include "partshift/throttle/throttle_decision.hpp"

#include <cstdio>

namespace partshift::throttle {
namespace {

std::string seconds_text(double s) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f s", s);
    return buf;
}

}  // namespace

base::throttle_reason decide_throttle(const throttle_limits& limits, const server_signals& s,
                                      bool paused, const wal_guard_verdict& guard) {
    if (paused) return {"paused", "paused by 'partshift pause' (run 'partshift resume')"};
    if (guard.level == wal_guard_level::throttle || guard.level == wal_guard_level::stop)
        return {"wal_retention", guard.message};
    if (limits.max_replica_lag && s.replica_lag_seconds) {
        const double limit = static_cast<double>(limits.max_replica_lag->count()) / 1000.0;
        if (*s.replica_lag_seconds > limit)
            return {"replica_lag", "replica lag " + seconds_text(*s.replica_lag_seconds) +
                                       (s.replica_name.empty() ? "" : " (" + s.replica_name + ")") +
                                       " > --max-replica-lag " + seconds_text(limit)};
    }
    if (limits.max_load.active_backends && s.active_backends > *limits.max_load.active_backends)
        return {"load", "active_backends " + std::to_string(s.active_backends) + " > " +
                            std::to_string(*limits.max_load.active_backends)};
    if (limits.max_load.waiting_backends && s.waiting_backends > *limits.max_load.waiting_backends)
        return {"load", "waiting_backends " + std::to_string(s.waiting_backends) + " > " +
                            std::to_string(*limits.max_load.waiting_backends)};
    if (limits.throttle_query) {
        if (!s.throttle_query_error.empty())
            return {"throttle_query", "--throttle-query failed: " + s.throttle_query_error};
        if (s.throttle_query_value && *s.throttle_query_value > 0) {
            char buf[48];
            std::snprintf(buf, sizeof buf, "%g", *s.throttle_query_value);
            return {"throttle_query", std::string("--throttle-query returned ") + buf};
        }
    }
    return {};
}

}  // namespace partshift::throttle
