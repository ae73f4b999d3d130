// change_feed: where the applier reads decoded pgoutput messages from, in commit order.
// The orchestrator implements it over the spool (it may wait for more data in follow mode);
// tests use vector_change_feed. This header only declares the interface: no I/O here.
#pragma once

#include <utility>  // before Asio's coroutine headers (GCC 12 + Boost 1.74)

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <optional>

#include "partshift/stream/pgoutput_messages.hpp"

namespace partshift::apply {

namespace asio = boost::asio;

class change_feed {
  public:
    virtual ~change_feed() = default;

    // next returns the next message, waiting for more data if the feed follows a live stream;
    // nullopt at the end of the data or when the job is stopping.
    virtual asio::awaitable<std::optional<stream::message>> next() = 0;

    // caught_up is true when next() would have to wait for new data. The applier commits its
    // open batch at a source commit boundary before it waits, so a quiet source does not keep
    // applied changes invisible (and the applied LSN behind) until the next write arrives.
    // The default (never caught up) suits feeds that end instead of waiting.
    virtual bool caught_up() const { return false; }

    // wait_for_data waits until next() has a message without waiting, or the deadline passes,
    // or the feed stops; true if a message is there. The applier keeps a young batch open this
    // way while caught up, so a steady trickle of source commits is not one target commit each.
    // The default suits feeds that never wait.
    virtual asio::awaitable<bool> wait_for_data(std::chrono::steady_clock::time_point deadline) {
        (void)deadline;
        co_return !caught_up();
    }
};

}  // namespace partshift::apply
