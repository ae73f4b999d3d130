// spool_signal: tells the applier's feed that the streamer published spool data (or that the
// run stops), so the feed sleeps until then instead of polling a timer. The poll (every 5 ms)
// was 200 wakeups a second even in a quiet run, and each is a context switch; now the feed
// wakes when there is something to read, in the same turn of the loop as the streamer's read.
// notify() from any thread; the waiter on its own executor. A notify between the feed's last
// look at the spool and its wait is not lost: the wait takes the generation it looked at.
// Must not: carry data or know the spool's format.
#pragma once

#include <utility>  // before Asio's coroutine headers (GCC 12 + Boost 1.74)

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>

namespace partshift::migrate {

class spool_signal {
  public:
    // generation: read before looking at the spool; pass it to wait().
    uint64_t generation() const;
    // notify: new data is readable (or the run stops); wakes a pending wait.
    void notify();
    // wait: until a notify after `seen` (at once if one came already) or the deadline.
    boost::asio::awaitable<void> wait(uint64_t seen,
                                      std::chrono::steady_clock::time_point deadline);

  private:
    mutable std::mutex mutex_;
    uint64_t generation_ = 0;
    std::shared_ptr<boost::asio::steady_timer> waiter_;
};

}  // namespace partshift::migrate
