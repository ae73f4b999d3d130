// connection: blocking libpq calls; no Asio here.
#include "partshift/pg/connection.hpp"

#include <spdlog/spdlog.h>

#include "partshift/pg/pg_error.hpp"
#include "partshift/pg/session_defaults.hpp"

namespace partshift::pg {
namespace {

std::string trimmed(const char* message) {
    std::string text = message ? message : "";
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    // libpq prefixes some messages with "FATAL:  " or "ERROR:  "; keep them one line.
    for (auto& ch : text)
        if (ch == '\n') ch = ' ';
    return text;
}

}  // namespace

conn_handle open_handle(const std::string& conninfo, const std::string& application_name,
                        bool replication) {
    // Pass the user's string as "dbname" with expand_dbname so both key=value strings and URIs
    // work, and PG* environment variables fill in the rest as in psql.
    const char* keys[] = {"dbname", "application_name", "replication", nullptr};
    const char* values[] = {conninfo.c_str(), application_name.c_str(),
                            replication ? "database" : nullptr, nullptr};
    if (!replication) keys[2] = nullptr;
    conn_handle conn(PQconnectdbParams(keys, values, 1));
    if (!conn) throw pg_error("out of memory connecting to PostgreSQL", "");
    if (PQstatus(conn.get()) != CONNECTION_OK)
        throw pg_error("cannot connect to PostgreSQL: " + trimmed(PQerrorMessage(conn.get())),
                       "08001");
    // Server NOTICEs ("drop cascades to ...", "... does not exist, skipping") are not for the
    // user's terminal: libpq would print them raw on stderr.
    PQsetNoticeProcessor(
        conn.get(),
        [](void*, const char* message) { spdlog::debug("server: {}", trimmed(message)); }, nullptr);
    result defaults(PQexec(conn.get(), session_defaults_sql));
    if (!defaults || defaults.status() != PGRES_TUPLES_OK)
        throw pg_error("cannot set up the session: " + trimmed(PQerrorMessage(conn.get())),
                       "08006");
    return conn;
}

connection::connection(const std::string& conninfo, const std::string& application_name)
    : conn_(open_handle(conninfo, application_name)) {}

connection::connection(conn_handle handle) : conn_(std::move(handle)) {}

result check_result(result res, PGconn* conn, std::string_view what) {
    if (!res) throw pg_error(std::string(what) + ": " + trimmed(PQerrorMessage(conn)), "08006");
    switch (res.status()) {
        case PGRES_COMMAND_OK:
        case PGRES_TUPLES_OK:
        case PGRES_COPY_IN:
        case PGRES_COPY_OUT:
        case PGRES_COPY_BOTH:
        case PGRES_SINGLE_TUPLE:
        case PGRES_PIPELINE_SYNC:
        case PGRES_EMPTY_QUERY:
            return res;
        default:
            break;
    }
    std::string state = res.sqlstate();
    if (state.empty() && PQstatus(conn) == CONNECTION_BAD) state = "08006";
    throw pg_error(res.error_message(), state);
}

result connection::exec(std::string_view sql) {
    std::string text(sql);
    return check_result(result(PQexec(conn_.get(), text.c_str())), conn_.get(), "query failed");
}

result connection::exec(std::string_view sql, const param_list& params) {
    std::string text(sql);
    param_pointers pointers(params);
    return check_result(result(PQexecParams(conn_.get(), text.c_str(), pointers.count(), nullptr,
                                            pointers.data(), nullptr, nullptr, 0)),
                        conn_.get(), "query failed");
}

transaction::transaction(connection& conn, std::string_view begin_sql) : conn_(conn) {
    conn_.exec(begin_sql);
}

transaction::~transaction() {
    if (!open_) return;
    try {
        conn_.exec("ROLLBACK");
    } catch (const std::exception& e) {
        // The connection may already be gone; the server rolls back on its own then.
        spdlog::debug("rollback failed: {}", e.what());
    }
}

void transaction::commit() {
    conn_.exec("COMMIT");
    open_ = false;
}

}  // namespace partshift::pg
