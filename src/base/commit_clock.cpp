// commit_clock: a bounded deque of (end LSN, commit time). No I/O.
#include "partshift/base/commit_clock.hpp"

namespace partshift::base {

void commit_clock::received(uint64_t end_lsn, int64_t commit_time_us) {
    std::lock_guard lock(mutex_);
    if (!pending_.empty() && end_lsn <= pending_.back().first) return;  // resent after reconnect
    if (pending_.size() >= capacity_) {
        if (dropped_time_ == 0) dropped_time_ = commit_time_us;
        dropped_until_ = end_lsn;
        return;
    }
    if (dropped_time_ != 0) {
        // Recorded entries must stay in LSN order after the dropped ones: keep dropping until
        // the applier has passed them all.
        dropped_until_ = end_lsn;
        return;
    }
    pending_.emplace_back(end_lsn, commit_time_us);
}

int64_t commit_clock::oldest_unapplied(uint64_t applied_lsn) {
    std::lock_guard lock(mutex_);
    while (!pending_.empty() && pending_.front().first <= applied_lsn) pending_.pop_front();
    if (!pending_.empty()) return pending_.front().second;
    if (dropped_time_ != 0) {
        if (dropped_until_ > applied_lsn) return dropped_time_;
        dropped_time_ = 0;
        dropped_until_ = 0;
    }
    return 0;
}

}  // namespace partshift::base
