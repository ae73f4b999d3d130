// change_feed: where the applier reads decoded pgoutput messages from, in commit order.
// The orchestrator implements it over the spool (it may wait for more data in follow mode);
// tests use vector_change_feed. This header only declares the interface: no I/O here.
#pragma once

#include <utility>  // before Asio's coroutine headers (GCC 12 + Boost 1.74)

#include <boost/asio/awaitable.hpp>
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
};

}  // namespace partshift::apply
