// origin_watch: the role that stops a job whose stream filters by origin (stream/
// origin_filter.hpp) when a replication origin that is not partshift's appears: pgoutput's
// origin 'none' drops every change that carries an origin, so a subscriber's writes to the
// source would be missing from the stream. Once a second, on one connection of its own; the
// cutover checks the same under its lock, so once the cutover has started it leaves it to it.
// Must not change anything.
#pragma once

#include <utility>  // before Asio's coroutine headers (GCC 12 + Boost 1.74)

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <string>

#include "partshift/task/task_group.hpp"

namespace partshift::migrate {

struct origin_watch_options {
    std::string dsn;
    std::string job;  // for the message
    std::chrono::milliseconds interval{1000};
    std::function<bool()> cutover_started;  // from then on the cutover checks under its lock
};

// watch_origins returns when `tasks` is asked to stop; throws partshift::runtime_error (exit 1,
// the job's last_error) naming the origin at the first tick that sees one, starting with the
// first tick (an origin made while no run was active). A lost connection is retried on the
// next tick.
boost::asio::awaitable<void> watch_origins(origin_watch_options options, task::task_group& tasks);

}  // namespace partshift::migrate
