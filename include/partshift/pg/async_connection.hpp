// async_connection: one non-blocking libpq connection driven by Boost.Asio coroutines.
// It owns everything libpq-and-Asio (DESIGN.md §4): non-blocking mode, socket waits,
// PQconsumeInput/PQflush, COPY in both directions, pipeline mode. Asio waits on a dup() of
// PQsocket, so closing the Asio descriptor never closes libpq's socket.
// Not thread-safe: one connection, one strand (the single io_context thread), and one
// coroutine at a time per connection (waits cancel each other's descriptor operations).
#pragma once

#include <libpq-fe.h>

#include <utility>  // before Asio's coroutine headers (GCC 12 + Boost 1.74)

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "partshift/pg/connection.hpp"
#include "partshift/pg/params.hpp"
#include "partshift/pg/result.hpp"

namespace partshift::pg {

namespace asio = boost::asio;

// copy_chunk: one buffer from PQgetCopyData, freed with PQfreemem.
struct copy_chunk {
    struct deleter {
        void operator()(char* p) const noexcept { PQfreemem(p); }
    };
    std::unique_ptr<char, deleter> data;
    int size = 0;
    std::string_view view() const { return {data.get(), static_cast<size_t>(size)}; }
};

class async_connection {
  public:
    // connect opens a connection without blocking the io_context (PQconnectStart/Poll).
    static asio::awaitable<async_connection> connect(std::string conninfo,
                                                     std::string application_name,
                                                     bool replication = false);

    async_connection(async_connection&&) noexcept = default;
    async_connection& operator=(async_connection&&) noexcept = default;
    ~async_connection() = default;

    PGconn* native() const noexcept { return conn_.get(); }
    int backend_pid() const noexcept { return PQbackendPID(conn_.get()); }
    int server_version() const noexcept { return PQserverVersion(conn_.get()); }

    // exec sends one statement and returns its (last) result; throws pg_error on failure.
    // Without params it uses the simple protocol (required on replication connections).
    asio::awaitable<result> exec(std::string sql);
    asio::awaitable<result> exec(std::string sql, param_list params);

    // COPY OUT / COPY BOTH: the next row or frame; nullopt when the copy stream ended (the
    // command's final result is then available from finish_copy()).
    asio::awaitable<std::optional<copy_chunk>> read_copy();
    // try_read_copy: a row already buffered by libpq, without waiting (nullopt if none);
    // sets `ended` when the server ended the copy stream. Throws on a copy error.
    std::optional<copy_chunk> try_read_copy(bool& ended);
    // COPY IN / COPY BOTH: queue data and flush it, waiting while the socket is full.
    asio::awaitable<void> write_copy(std::string_view data);
    // end_copy ends a COPY IN (or aborts it with error_message) and returns the final result.
    asio::awaitable<result> end_copy(const char* error_message = nullptr);
    // finish_copy collects the final result after read_copy() returned nullopt.
    asio::awaitable<result> finish_copy();

    // Pipeline mode for the applier: queue statements, sync, then read results in order.
    void enter_pipeline();
    void exit_pipeline();
    void send_prepare(const std::string& name, const std::string& sql, int nparams,
                      const Oid* types);
    void send_prepared(const std::string& name, const param_list& params);
    void send_query(const std::string& sql, const param_list& params);
    void pipeline_sync();
    // next_result returns the next result of the pipeline; a null result separates the
    // results of one queued statement from the next. Does not throw on error results.
    asio::awaitable<result> next_result();
    asio::awaitable<void> flush();

    // wait_readable_for waits until the socket is readable or the timeout passes; true when
    // readable. Lets one coroutine both read a stream and send periodic messages on it.
    asio::awaitable<bool> wait_readable_for(std::chrono::steady_clock::duration timeout);
    // consume_input reads what the socket has into libpq's buffer; throws on a lost connection.
    void consume_input();
    // pause_unwatched sleeps for `how_long` while what the server sends piles up unread. The
    // socket leaves the event loop meanwhile: Asio watches it edge-triggered, so each packet
    // would wake the loop (a context switch) even with no wait pending on it.
    asio::awaitable<void> pause_unwatched(std::chrono::steady_clock::duration how_long);

    // cancel asks the server to cancel the running query (blocking but brief).
    void cancel() noexcept;

  private:
    async_connection(conn_handle conn, asio::posix::stream_descriptor socket);

    asio::awaitable<void> wait_readable();
    asio::awaitable<void> wait_writable();
    // Wait until the socket is readable or writable, as PQflush's contract requires.
    asio::awaitable<void> wait_readable_or_writable();
    asio::awaitable<void> consume_until_not_busy();
    // collect_command_results flushes the sent command and returns its last result (or its
    // COPY result, which comes before the command ends); throws pg_error on failure.
    asio::awaitable<result> collect_command_results();
    [[noreturn]] void throw_connection_error(std::string_view what) const;

    conn_handle conn_;
    std::unique_ptr<asio::posix::stream_descriptor> socket_;
};

}  // namespace partshift::pg
