// session_settings: SET statements for the engine's sessions (see the header). Must not hold
// state or decide which sessions need what; the roles call it.
#include "partshift/pg/session_settings.hpp"

#include "partshift/error.hpp"
#include "partshift/pg/pg_error.hpp"

namespace partshift::pg {

asio::awaitable<void> pin_text_formats(async_connection& conn) {
    // set_config in one SELECT: one round trip, and valid SQL on a database walsender too.
    // IntervalStyle matters for input as well: under sql_standard a leading sign applies to
    // every field of an interval literal.
    // client_encoding = the server's: text then crosses no conversion at all, so a default
    // such as LATIN1 (PGCLIENTENCODING, a role or database setting) cannot fail a value it
    // cannot represent, on the walsender, the copy or the apply side.
    co_await conn.exec(
        "SELECT pg_catalog.set_config('DateStyle', 'ISO', false), "
        "pg_catalog.set_config('IntervalStyle', 'postgres', false), "
        "pg_catalog.set_config('extra_float_digits', '3', false), "
        "pg_catalog.set_config('client_encoding', pg_catalog.current_setting('server_encoding'), "
        "false)");
}

asio::awaitable<void> require_replica_role(async_connection& conn, const std::string& session) {
    try {
        co_await conn.exec("SET session_replication_role = replica");
    } catch (const pg_error& e) {
        throw runtime_error("cannot SET session_replication_role = replica on the " + session +
                            " connection (" + std::string(e.what()) +
                            "); run as a superuser or GRANT SET ON PARAMETER "
                            "session_replication_role TO the partshift role");
    }
    auto role = co_await conn.exec("SHOW session_replication_role");
    if (role.get(0, 0) != "replica")
        throw runtime_error("session_replication_role is '" + role.get(0, 0) + "' on the " +
                            session + " connection, expected 'replica'");
}

}  // namespace partshift::pg
