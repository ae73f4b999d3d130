// restart_point: logging xl_running_xacts records for the streamer's stop (see the header).
#include "partshift/stream/restart_point.hpp"

#include <spdlog/spdlog.h>

#include "partshift/pg/async_connection.hpp"
#include "partshift/pg/pg_error.hpp"

namespace partshift::stream {

restart_point_logger::restart_point_logger(std::string dsn) : dsn_(std::move(dsn)) {}

restart_point_logger::~restart_point_logger() = default;

boost::asio::awaitable<std::optional<lsn_t>> restart_point_logger::log_record() {
    if (unavailable_) co_return std::nullopt;
    try {
        if (!conn_) {
            auto conn = co_await pg::async_connection::connect(dsn_, "partshift-restart-point");
            if (conn.server_version() < 160000) {
                spdlog::debug("restart point: PostgreSQL {} cannot log one on demand (16+)",
                              conn.server_version() / 10000);
                unavailable_ = true;
                co_return std::nullopt;
            }
            // Revoked from PUBLIC: a superuser's, or a role's granted EXECUTE. Asked first, so
            // a role without it leaves no ERROR in the server's log at every stop.
            auto may = co_await conn.exec(
                "SELECT pg_catalog.has_function_privilege("
                "'pg_catalog.pg_log_standby_snapshot()', 'EXECUTE')");
            if (may.get(0, 0) != "t") {
                spdlog::debug(
                    "restart point: this role may not run pg_log_standby_snapshot(); a resume "
                    "decodes again from the slot's older restart point");
                unavailable_ = true;
                co_return std::nullopt;
            }
            // The flush below must not wait on a synchronous standby.
            co_await conn.exec(
                "SELECT pg_catalog.set_config('synchronous_commit', 'local', false)");
            conn_ = std::make_unique<pg::async_connection>(std::move(conn));
        }
        // The record is written, not flushed, and the walsender decodes only flushed WAL: on a
        // quiet server it would wait for the WAL writer or someone's commit. A transaction that
        // wrote WAL and holds an xid flushes at its commit (synchronous_commit above); the xid
        // is taken after the record, so it is not running in it, and the transaction changes
        // nothing, so the walsender sends nothing of it.
        co_await conn_->exec("BEGIN");
        auto logged = co_await conn_->exec("SELECT pg_catalog.pg_log_standby_snapshot()");
        co_await conn_->exec("SELECT pg_catalog.pg_current_xact_id()");
        co_await conn_->exec("COMMIT");
        auto lsn = parse_lsn(logged.get(0, 0));
        if (!lsn) throw pg::pg_error("pg_log_standby_snapshot() returned " + logged.get(0, 0), "");
        co_return lsn;
    } catch (const pg::pg_error& e) {
        spdlog::debug("restart point: cannot log one ({})", e.what());
    }
    unavailable_ = true;
    conn_.reset();
    co_return std::nullopt;
}

}  // namespace partshift::stream
