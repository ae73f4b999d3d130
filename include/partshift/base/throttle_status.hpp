// throttle_status: why the copy is held back right now, as the throttler last decided it: a
// fixed kind (a metrics label: "paused", "replica_lag", "load", "throttle_query",
// "wal_retention") and a sentence for the log and `status`. Empty kind = not throttled.
// Thread-safe (one mutex): the throttler writes it on the event loop, the metrics exposer's
// thread and the status writer read it.
#pragma once

#include <mutex>
#include <string>
#include <utility>

namespace partshift::base {

struct throttle_reason {
    std::string kind;  // "" when the copy is not throttled
    std::string text;
    bool throttled() const { return !kind.empty(); }
    bool operator==(const throttle_reason&) const = default;
};

class throttle_status {
  public:
    void set(throttle_reason reason) {
        std::lock_guard lock(mutex_);
        reason_ = std::move(reason);
    }
    throttle_reason get() const {
        std::lock_guard lock(mutex_);
        return reason_;
    }

  private:
    mutable std::mutex mutex_;
    throttle_reason reason_;
};

}  // namespace partshift::base
