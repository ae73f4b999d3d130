// connection: a blocking libpq connection for catalog reads, DDL and short transactions.
// The async twin for COPY, pipelines and replication is async_connection; both own their
// PGconn through the same deleter and are move-only.
#pragma once

#include <libpq-fe.h>

#include <memory>
#include <string>
#include <string_view>

#include "partshift/pg/params.hpp"
#include "partshift/pg/result.hpp"

namespace partshift::pg {

struct conn_deleter {
    void operator()(PGconn* c) const noexcept { PQfinish(c); }
};
using conn_handle = std::unique_ptr<PGconn, conn_deleter>;

// open_handle connects (blocking) and throws pg_error with libpq's message on failure.
// application_name is set so the user can find partshift's sessions in pg_stat_activity.
conn_handle open_handle(const std::string& conninfo, const std::string& application_name,
                        bool replication = false);

class connection {
  public:
    explicit connection(const std::string& conninfo,
                        const std::string& application_name = "partshift");
    explicit connection(conn_handle handle);

    PGconn* native() const noexcept { return conn_.get(); }

    // exec runs one statement (or several, simple protocol, when params are empty) and throws
    // pg_error on failure.
    result exec(std::string_view sql);
    result exec(std::string_view sql, const param_list& params);
    template <typename... Args>
    result query(std::string_view sql, Args&&... args) {
        return exec(sql, make_params(std::forward<Args>(args)...));
    }

    int server_version() const noexcept { return PQserverVersion(conn_.get()); }
    int backend_pid() const noexcept { return PQbackendPID(conn_.get()); }

  private:
    conn_handle conn_;
};

// throw_if_failed turns a bad PGresult into pg_error; returns the result otherwise.
result check_result(result res, PGconn* conn, std::string_view what);

// transaction rolls back in its destructor unless commit() was called.
class transaction {
  public:
    explicit transaction(connection& conn, std::string_view begin_sql = "BEGIN");
    ~transaction();
    transaction(const transaction&) = delete;
    transaction& operator=(const transaction&) = delete;
    void commit();

  private:
    connection& conn_;
    bool open_ = true;
};

}  // namespace partshift::pg
