// origin_watch: the tick loop (see the header).
#include "partshift/migrate/origin_watch.hpp"

#include <spdlog/spdlog.h>

#include <optional>

#include "partshift/error.hpp"
#include "partshift/pg/async_connection.hpp"
#include "partshift/pg/pg_error.hpp"
#include "partshift/stream/origin_filter.hpp"

namespace partshift::migrate {

boost::asio::awaitable<void> watch_origins(origin_watch_options options, task::task_group& tasks) {
    std::optional<pg::async_connection> conn;
    while (!tasks.stop_requested() && !options.cutover_started()) {
        std::vector<std::string> foreign;
        try {
            if (!conn) {
                auto connected =
                    co_await pg::async_connection::connect(options.dsn, "partshift-origins");
                conn.emplace(std::move(connected));
            }
            foreign = co_await stream::foreign_origins(*conn);
        } catch (const pg::pg_error& e) {
            spdlog::debug("origin check failed: {}", e.what());
            conn.reset();
        }
        // The cutover may have begun while this tick read: its own check decides then.
        if (!foreign.empty() && !options.cutover_started())
            throw runtime_error(stream::foreign_origin_message(foreign, options.job));
        // A stop wakes the wait at once.
        const bool slept = co_await tasks.sleep_for(options.interval);
        if (!slept) break;
    }
}

}  // namespace partshift::migrate
