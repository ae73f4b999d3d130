// partition_watch: the tick loop (see the header).
#include "partshift/migrate/partition_watch.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <optional>

#include "partshift/catalog/partition_tree.hpp"
#include "partshift/error.hpp"
#include "partshift/pg/async_connection.hpp"
#include "partshift/pg/pg_error.hpp"
#include "partshift/state/source_partitions.hpp"

namespace partshift::migrate {

namespace asio = boost::asio;

asio::awaitable<void> watch_partitions(partition_watch_options options, task::task_group& tasks) {
    std::optional<pg::async_connection> conn;
    while (!tasks.stop_requested()) {
        std::optional<std::string> change;
        try {
            if (!conn)
                conn.emplace(
                    co_await pg::async_connection::connect(options.dsn, "partshift-partitions"));
            std::string load = state::load_source_partitions_sql;
            auto recorded = state::recorded_members(
                co_await conn->exec(std::move(load), pg::make_params(options.job)));
            std::string tree = catalog::partition_tree_sql;
            auto now = catalog::partition_members(co_await conn->exec(
                std::move(tree), pg::make_params(std::to_string(options.source_oid))));
            change = catalog::describe_tree_change(recorded, now, options.source);
        } catch (const pg::pg_error& e) {
            spdlog::debug("partition check failed: {}", e.what());
            conn.reset();
        }
        if (change) {
            // Kept, so that undoing the change before the next run does not hide it.
            try {
                std::string mark = state::mark_source_partitions_changed_sql;
                co_await conn->exec(std::move(mark), pg::make_params(options.job, *change));
            } catch (const pg::pg_error& e) {
                spdlog::warn("could not record the partition change: {}", e.what());
            }
            throw runtime_error(*change);
        }
        // A stop wakes the wait at once.
        const bool slept = co_await tasks.sleep_for(options.interval);
        if (!slept) break;
    }
}

}  // namespace partshift::migrate
