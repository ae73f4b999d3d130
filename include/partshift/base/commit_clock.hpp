// commit_clock: the commit times of source transactions received but not yet applied, so lag
// in seconds can be the age of the oldest committed change not yet on the target (not the
// time since the target was last exactly current, which never happens under steady load).
// The streamer records each commit it takes in; lag readers ask with the applied LSN.
// Bounded: at most `capacity` entries; past that, the oldest commit not recorded stands for
// all later ones until the applier has passed them, so the figure can only err on the old
// side (the cutover gate stays safe).
// Thread-safe (one mutex); the streamer and the readers may live on different threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <utility>

namespace partshift::base {

class commit_clock {
  public:
    explicit commit_clock(size_t capacity = 1 << 16) : capacity_(capacity) {}

    // received: a source transaction ending at end_lsn, committed at commit_time_us (pg epoch
    // microseconds), is now on its way to the target.
    void received(uint64_t end_lsn, int64_t commit_time_us);

    // oldest_unapplied: the commit time of the oldest recorded transaction ending after
    // applied_lsn, 0 when none is known. Forgets the applied ones.
    int64_t oldest_unapplied(uint64_t applied_lsn);

  private:
    size_t capacity_;
    std::mutex mutex_;
    std::deque<std::pair<uint64_t, int64_t>> pending_;  // (end LSN, commit time), LSN order
    // When full: the first commit that could not be recorded; until the applier passes the
    // last one dropped, the oldest unapplied is at least as old as it.
    int64_t dropped_time_ = 0;
    uint64_t dropped_until_ = 0;
};

}  // namespace partshift::base
