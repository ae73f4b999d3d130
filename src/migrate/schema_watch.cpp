// schema_watch: the tick loop (see the header).
#include "partshift/migrate/schema_watch.hpp"

#include <spdlog/spdlog.h>

#include <optional>
#include <set>

#include "partshift/catalog/schema_print.hpp"
#include "partshift/error.hpp"
#include "partshift/pg/async_connection.hpp"
#include "partshift/pg/pg_error.hpp"
#include "partshift/state/schema_prints.hpp"

namespace partshift::migrate {

namespace asio = boost::asio;

namespace {

// check_table: the verdict on one table now (an empty message: nothing stops the job).
asio::awaitable<state::schema_stop> check_table(pg::async_connection& conn,
                                                const schema_watch_table& t,
                                                const std::string& skip_publication) {
    // Statements and parameters named before each co_await (GCC 12: no temporaries owning
    // heap data inside a co_await expression).
    std::string load = state::load_schema_print_sql;
    auto load_params = pg::make_params(t.job);
    auto recorded_rows = co_await conn.exec(std::move(load), std::move(load_params));
    const auto recorded = catalog::print_items(recorded_rows);
    std::string print = catalog::schema_print_sql;
    auto print_params = pg::make_params(std::to_string(t.oid), skip_publication);
    auto now_rows = co_await conn.exec(std::move(print), std::move(print_params));
    const auto now = catalog::print_items(now_rows);
    co_return state::judge_schema_print(recorded, now, t.display, t.job);
}

}  // namespace

asio::awaitable<void> watch_schema(schema_watch_options options, task::task_group& tasks) {
    std::optional<pg::async_connection> conn;
    std::set<std::string> logged;  // carried differences are logged once
    while (!tasks.stop_requested() && !options.cutover_started()) {
        std::optional<state::schema_stop> stop;
        const schema_watch_table* stopped = nullptr;
        try {
            if (!conn) {
                auto connected =
                    co_await pg::async_connection::connect(options.dsn, "partshift-schema");
                conn.emplace(std::move(connected));
                // The print's texts are compared as read under an empty search_path.
                std::string path = "SET search_path = ''";
                co_await conn->exec(std::move(path));
            }
            for (const auto& t : options.tables) {
                auto verdict = co_await check_table(*conn, t, options.skip_publication);
                for (const auto& line : verdict.carried)
                    if (logged.insert(t.job + line).second)
                        spdlog::info("{}: {}; the swap carries it over", t.display, line);
                if (!verdict.message.empty()) {
                    stop = std::move(verdict);
                    stopped = &t;
                    break;
                }
            }
        } catch (const pg::pg_error& e) {
            spdlog::debug("schema check failed: {}", e.what());
            conn.reset();
        }
        // The cutover may have begun while this tick read: its own check decides then.
        if (stop && !options.cutover_started()) {
            if (stop->restart) {
                // Kept, so that undoing the change before the next run does not hide it.
                try {
                    std::string mark = state::mark_schema_changed_sql;
                    auto mark_params = pg::make_params(stopped->job, stop->message);
                    co_await conn->exec(std::move(mark), std::move(mark_params));
                } catch (const pg::pg_error& e) {
                    spdlog::warn("could not record the schema change: {}", e.what());
                }
            }
            throw runtime_error(stop->message);
        }
        // A stop wakes the wait at once.
        const bool slept = co_await tasks.sleep_for(options.interval);
        if (!slept) break;
    }
}

}  // namespace partshift::migrate
