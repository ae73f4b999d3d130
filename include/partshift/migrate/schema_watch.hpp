// schema_watch: the role that stops a job when its source's schema changes in a way the swap
// would not carry over (issue 20 item 1): every few seconds, on one connection of its own, it
// reads each table's schema print and compares it with the one recorded when the job was
// prepared (state/schema_prints). The cutover checks the same under its lock, so a change
// just before the swap is caught too; once the cutover has started, this role leaves it to it.
// Must not change anything but its own mark of a column change in partshift.schema_prints.
#pragma once

#include <utility>  // before Asio's coroutine headers (GCC 12 + Boost 1.74)

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "partshift/task/task_group.hpp"

namespace partshift::migrate {

struct schema_watch_table {
    std::string job;      // its row in partshift.jobs
    uint32_t oid = 0;     // the source
    std::string display;  // quoted, for messages
};

struct schema_watch_options {
    std::string dsn;
    std::vector<schema_watch_table> tables;
    std::string skip_publication;  // partshift's own
    std::chrono::milliseconds interval{2000};
    std::function<bool()> cutover_started;  // from then on the cutover checks under its lock
};

// watch_schema returns when `tasks` is asked to stop; throws partshift::runtime_error (exit 1,
// the job's last_error) with the difference and the next step at the first change that stops
// the job, starting with the first tick (a change made while no run was active). A lost
// connection is retried on the next tick.
boost::asio::awaitable<void> watch_schema(schema_watch_options options, task::task_group& tasks);

}  // namespace partshift::migrate
