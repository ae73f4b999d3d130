// partition_watch: the role that stops a re-partitioning job when partitions are attached to
// or detached from its partitioned source (a tick a second, one connection): their rows would
// come or go without a change in the stream. The cutover checks the same under its lock, so a
// change just before the swap is caught too (state/source_partitions).
// Must not change anything; it only reads the catalog and the recorded tree.
#pragma once

#include <utility>  // before Asio's coroutine headers (GCC 12 + Boost 1.74)

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <string>

#include "partshift/task/task_group.hpp"

namespace partshift::migrate {

struct partition_watch_options {
    std::string dsn;
    std::string job;
    uint32_t source_oid = 0;  // the partitioned source, as inspected by this run
    std::string source;       // quoted, for messages
    std::chrono::milliseconds interval{1000};
};

// watch_partitions returns when `tasks` is asked to stop; throws partshift::runtime_error (which
// ends the run with exit 1 and the job's last_error) at the first difference from the recorded
// tree, starting with the first tick (a tree changed while no run was active). A lost connection is
// retried on the next tick: the roles that need the server notice its loss themselves.
boost::asio::awaitable<void> watch_partitions(partition_watch_options options,
                                              task::task_group& tasks);

}  // namespace partshift::migrate
