// wal_guard: slot WAL levels (SIZE arguments are cli/byte_size). No I/O.
#include "partshift/throttle/wal_guard.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "partshift/error.hpp"
#include "partshift/monitor/byte_size.hpp"

namespace partshift::throttle {

using monitor::human_size;

wal_guard_verdict assess_slot_wal(const slot_wal_reading& r, std::optional<int64_t> own_limit,
                                  const wal_guard_thresholds& t) {
    wal_guard_verdict v;
    if (r.wal_status == "lost" && r.invalidation_reason == "idle_timeout") {
        v.level = wal_guard_level::lost;
        v.idle_timeout = true;
        v.message =
            "the server invalidated the slot (invalidation_reason idle_timeout): nothing "
            "read it for longer than idle_replication_slot_timeout" +
            (r.idle_timeout_seconds > 0 ? " (" + std::to_string(r.idle_timeout_seconds) + " s)"
                                        : std::string()) +
            " while the job was stopped, so the changes it held are gone";
        return v;
    }
    if (r.wal_status == "lost") {
        v.level = wal_guard_level::lost;
        v.message =
            "the server invalidated the slot (wal_status lost): it pinned more WAL than "
            "max_slot_wal_keep_size" +
            (r.server_limit_bytes ? " (" + human_size(*r.server_limit_bytes) + ")"
                                  : std::string()) +
            " allows, so the changes it held are gone";
        return v;
    }
    // The server's own measure when it has one: safe_wal_size is what may still be written
    // before the slot is in danger, rounded to segments as the server rounds.
    double server_used = 0;
    if (r.server_limit_bytes && *r.server_limit_bytes > 0) {
        const double from_retained =
            static_cast<double>(r.retained_bytes) / static_cast<double>(*r.server_limit_bytes);
        const double from_safe = r.safe_wal_bytes
                                     ? 1.0 - static_cast<double>(*r.safe_wal_bytes) /
                                                 static_cast<double>(*r.server_limit_bytes)
                                     : 0.0;
        server_used = std::max(from_retained, from_safe);
    }
    const double own_used = own_limit && *own_limit > 0 ? static_cast<double>(r.retained_bytes) /
                                                              static_cast<double>(*own_limit)
                                                        : 0.0;
    const bool server_counts = server_used >= own_used && r.server_limit_bytes;
    v.used = std::max(server_used, own_used);
    v.limit_bytes = server_counts ? *r.server_limit_bytes : own_limit.value_or(0);
    const std::string limit_name = server_counts ? "max_slot_wal_keep_size" : "--slot-wal-limit";
    if (r.wal_status == "unreserved") {
        // The server will remove WAL the slot needs at its next checkpoint.
        v.level = wal_guard_level::stop;
        v.unreserved = true;
        v.message = "the slot pins " + human_size(static_cast<double>(r.retained_bytes)) +
                    " of WAL and the server no longer reserves it (wal_status unreserved): it "
                    "will be invalidated at the next checkpoint";
        return v;
    }
    if (v.limit_bytes <= 0) return v;
    if (v.used >= t.stop)
        v.level = wal_guard_level::stop;
    else if (v.used >= t.throttle)
        v.level = wal_guard_level::throttle;
    else if (v.used >= t.warn)
        v.level = wal_guard_level::warn;
    char percent[16];
    std::snprintf(percent, sizeof percent, "%.0f%%", v.used * 100);
    v.message = "the slot pins " + human_size(static_cast<double>(r.retained_bytes)) + " of WAL, " +
                percent + " of the " + human_size(static_cast<double>(v.limit_bytes)) + " " +
                limit_name + " allows";
    return v;
}

std::string idle_timeout_warning(const slot_wal_reading& r) {
    if (r.idle_timeout_seconds <= 0) return "";
    return "the server invalidates a replication slot nobody reads for " +
           std::to_string(r.idle_timeout_seconds) +
           " s (idle_replication_slot_timeout): a stopped or killed run of this job must be "
           "started again within that time, or the job has to start over";
}

}  // namespace partshift::throttle
