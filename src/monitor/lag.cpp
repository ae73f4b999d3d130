// lag: the one definition of replication lag. No I/O.
#include "partshift/monitor/lag.hpp"

#include <algorithm>

namespace partshift::monitor {

lag_figures compute_lag(uint64_t source_lsn, uint64_t spooled_commit_lsn, uint64_t acknowledged_lsn,
                        uint64_t applied_lsn, int64_t oldest_unapplied_commit_us, int64_t now_us,
                        bool applying) {
    lag_figures f;
    f.caught_up = applying && applied_lsn >= spooled_commit_lsn;
    f.applied_position = f.caught_up ? std::max(applied_lsn, acknowledged_lsn) : applied_lsn;
    f.lag_bytes = source_lsn > f.applied_position ? source_lsn - f.applied_position : 0;
    if (f.caught_up && f.lag_bytes == 0) {
        f.lag_seconds = 0;
    } else if (oldest_unapplied_commit_us > 0 && now_us > oldest_unapplied_commit_us) {
        f.lag_seconds = static_cast<double>(now_us - oldest_unapplied_commit_us) / 1e6;
    }
    return f;
}

lag_figures compute_lag(const base::progress& p, int64_t now_us, bool applying) {
    return compute_lag(p.received_lsn, p.spooled_commit_lsn,
                       std::max<uint64_t>(p.spooled_lsn, p.complete_lsn), p.applied_lsn,
                       p.oldest_unapplied_commit_us, now_us, applying);
}

}  // namespace partshift::monitor
