// copy_gate: where the copier (and the index builder, between leaf builds) asks whether it may
// go on. Between chunks it waits while the throttler says the copy is throttled (or paused);
// between write buffers it paces itself to the live --max-copy-rate ceiling. Shared by every
// copy (or index build) worker on one io_context thread.
// Must not decide whether to throttle (the throttler does) or touch the applier: the applier
// is never throttled, so lag does not grow while the copy waits.
#pragma once

#include <utility>  // before Asio's coroutine headers (GCC 12 + Boost 1.74)

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>

#include "partshift/base/progress.hpp"

namespace partshift::throttle {

class copy_gate {
  public:
    explicit copy_gate(base::progress& progress) : progress_(progress) {}

    // wait_open returns once the throttler has judged the copy and found it not throttled,
    // or halted() turned true. Called
    // before a chunk starts, never inside one: a chunk holds a source snapshot, which must
    // stay short however long the throttle lasts.
    boost::asio::awaitable<void> wait_open(const std::function<bool()>& halted);

    // pace is called with the rows of each buffer before it is written; it sleeps as long as
    // keeps every worker together under max_copy_rate rows/s. Polls halted() while it waits.
    boost::asio::awaitable<void> pace(int64_t rows, const std::function<bool()>& halted);

    // has_ceiling: a --max-copy-rate ceiling is set now (pace would wait).
    bool has_ceiling() const { return progress_.max_copy_rate > 0; }

  private:
    base::progress& progress_;
    // When the rows paced so far may all have been copied at the ceiling.
    std::chrono::steady_clock::time_point next_free_{};
};

}  // namespace partshift::throttle
