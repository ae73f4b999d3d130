// lag: how far the target is behind the source, computed from the progress counters.
// Pure, so the definition is unit-tested and shared by status, dry-run output and metrics.
#pragma once

#include <cstdint>

#include "partshift/base/progress.hpp"

namespace partshift::monitor {

struct lag_figures {
    uint64_t applied_position = 0;  // applied LSN, or the idle position once caught up
    uint64_t lag_bytes = 0;
    double lag_seconds = 0;
    bool caught_up = false;
};

// compute_lag: lag in bytes is the source position (the server's WAL position, known to have
// been passed by the walsender or not) minus what is applied.
// When the applier has applied every spooled transaction, everything up to the acknowledged
// idle position is applied too (nothing published happened in between), so lag is 0 there.
// applying: whether the applier runs yet (during the copy nothing is applied).
lag_figures compute_lag(uint64_t source_lsn, uint64_t spooled_commit_lsn, uint64_t acknowledged_lsn,
                        uint64_t applied_lsn, int64_t oldest_unapplied_commit_us, int64_t now_us,
                        bool applying);

lag_figures compute_lag(const base::progress& p, int64_t now_us, bool applying);

}  // namespace partshift::monitor
