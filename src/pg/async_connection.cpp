// async_connection: libpq's non-blocking API on Asio. The only file that waits on a libpq
// socket; no SQL of partshift's own lives here.
#include "partshift/pg/async_connection.hpp"

#include <spdlog/spdlog.h>

#include <unistd.h>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "partshift/pg/pg_error.hpp"
#include "partshift/pg/session_defaults.hpp"

namespace partshift::pg {
namespace {

using asio::use_awaitable;
using asio::posix::stream_descriptor;

std::string one_line(const char* message) {
    std::string text = message ? message : "";
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    for (auto& ch : text)
        if (ch == '\n') ch = ' ';
    return text;
}

// A descriptor Asio may close: a dup() of libpq's socket.
std::unique_ptr<stream_descriptor> watch_socket(const asio::any_io_executor& ex, PGconn* conn) {
    int fd = PQsocket(conn);
    if (fd < 0) throw pg_error("connection has no socket", "08006");
    int copy = ::dup(fd);
    if (copy < 0) throw pg_error("dup() of the libpq socket failed", "08006");
    return std::make_unique<stream_descriptor>(ex, copy);
}

}  // namespace

async_connection::async_connection(conn_handle conn, stream_descriptor socket)
    : conn_(std::move(conn)), socket_(std::make_unique<stream_descriptor>(std::move(socket))) {}

asio::awaitable<async_connection> async_connection::connect(std::string conninfo,
                                                            std::string application_name,
                                                            bool replication) {
    auto ex = co_await asio::this_coro::executor;
    const char* keys[] = {"dbname", "application_name", replication ? "replication" : nullptr,
                          nullptr};
    const char* values[] = {conninfo.c_str(), application_name.c_str(), "database", nullptr};
    conn_handle conn(PQconnectStartParams(keys, values, 1));
    if (!conn || PQstatus(conn.get()) == CONNECTION_BAD)
        throw pg_error("cannot connect to PostgreSQL: " +
                           one_line(conn ? PQerrorMessage(conn.get()) : "out of memory"),
                       "08001");
    // The socket may change between PQconnectPoll calls, so watch a fresh dup each round.
    PostgresPollingStatusType poll = PGRES_POLLING_WRITING;
    while (poll != PGRES_POLLING_OK) {
        if (poll == PGRES_POLLING_FAILED)
            throw pg_error("cannot connect to PostgreSQL: " + one_line(PQerrorMessage(conn.get())),
                           "08001");
        auto socket = watch_socket(ex, conn.get());
        co_await socket->async_wait(poll == PGRES_POLLING_READING ? stream_descriptor::wait_read
                                                                  : stream_descriptor::wait_write,
                                    use_awaitable);
        poll = PQconnectPoll(conn.get());
    }
    if (PQsetnonblocking(conn.get(), 1) != 0)
        throw pg_error("cannot make the connection non-blocking", "08006");
    // Server NOTICEs go to the debug log, never raw onto the user's terminal.
    PQsetNoticeProcessor(
        conn.get(),
        [](void*, const char* message) { spdlog::debug("server: {}", one_line(message)); },
        nullptr);
    auto socket = watch_socket(ex, conn.get());
    async_connection connected(std::move(conn), std::move(*socket));
    co_await connected.exec(session_defaults_sql);
    co_return connected;
}

void async_connection::throw_connection_error(std::string_view what) const {
    std::string state = PQstatus(conn_.get()) == CONNECTION_BAD ? "08006" : "";
    throw pg_error(std::string(what) + ": " + one_line(PQerrorMessage(conn_.get())), state);
}

asio::awaitable<void> async_connection::wait_readable() {
    co_await socket_->async_wait(stream_descriptor::wait_read, use_awaitable);
}

asio::awaitable<void> async_connection::wait_writable() {
    co_await socket_->async_wait(stream_descriptor::wait_write, use_awaitable);
}

asio::awaitable<void> async_connection::wait_readable_or_writable() {
    // Boost 1.74 has no awaitable operators: start both waits with plain handlers and use a
    // timer as the event the coroutine sleeps on; whichever wait fires first wakes it.
    auto ex = co_await asio::this_coro::executor;
    auto wake = std::make_shared<asio::steady_timer>(ex, asio::steady_timer::time_point::max());
    auto fired = std::make_shared<bool>(false);
    auto on_ready = [wake, fired](boost::system::error_code) {
        if (!*fired) {
            *fired = true;
            wake->cancel();
        }
    };
    socket_->async_wait(stream_descriptor::wait_read, on_ready);
    socket_->async_wait(stream_descriptor::wait_write, on_ready);
    boost::system::error_code ignored;
    co_await wake->async_wait(asio::redirect_error(use_awaitable, ignored));
    // Cancel the wait that did not fire; its handler runs later and finds fired set.
    socket_->cancel();
}

asio::awaitable<void> async_connection::flush() {
    while (true) {
        int rc = PQflush(conn_.get());
        if (rc == 0) co_return;
        if (rc < 0) throw_connection_error("sending to the server failed");
        co_await wait_readable_or_writable();
        // Reading here keeps the server from blocking on a full send buffer while we send.
        if (PQconsumeInput(conn_.get()) == 0) throw_connection_error("connection lost");
    }
}

asio::awaitable<void> async_connection::consume_until_not_busy() {
    while (true) {
        if (PQconsumeInput(conn_.get()) == 0) throw_connection_error("connection lost");
        if (!PQisBusy(conn_.get())) co_return;
        co_await wait_readable();
    }
}

asio::awaitable<result> async_connection::collect_command_results() {
    co_await flush();
    result last;
    while (true) {
        co_await consume_until_not_busy();
        result next(PQgetResult(conn_.get()));
        if (!next) break;
        auto status = next.status();
        last = std::move(next);
        // COPY results come before the end of the command; hand them to the caller now.
        if (status == PGRES_COPY_OUT || status == PGRES_COPY_IN || status == PGRES_COPY_BOTH) break;
    }
    co_return check_result(std::move(last), conn_.get(), "query failed");
}

asio::awaitable<result> async_connection::exec(std::string sql) {
    if (PQsendQuery(conn_.get(), sql.c_str()) == 0) throw_connection_error("cannot send query");
    co_return co_await collect_command_results();
}

asio::awaitable<result> async_connection::exec(std::string sql, param_list params) {
    param_pointers pointers(params);
    if (PQsendQueryParams(conn_.get(), sql.c_str(), pointers.count(), nullptr, pointers.data(),
                          nullptr, nullptr, 0) == 0)
        throw_connection_error("cannot send query");
    co_return co_await collect_command_results();
}

std::optional<copy_chunk> async_connection::try_read_copy(bool& ended) {
    char* buffer = nullptr;
    int n = PQgetCopyData(conn_.get(), &buffer, 1);
    ended = n == -1;
    if (n > 0) return copy_chunk{std::unique_ptr<char, copy_chunk::deleter>(buffer), n};
    if (n == -2) throw_connection_error("COPY failed");
    return std::nullopt;
}

asio::awaitable<std::optional<copy_chunk>> async_connection::read_copy() {
    while (true) {
        char* buffer = nullptr;
        int n = PQgetCopyData(conn_.get(), &buffer, 1);
        if (n > 0) co_return copy_chunk{std::unique_ptr<char, copy_chunk::deleter>(buffer), n};
        if (n == -1) co_return std::nullopt;
        if (n == -2) throw_connection_error("COPY failed");
        // n == 0: nothing complete buffered; wait for the socket, then read what arrived.
        co_await wait_readable();
        if (PQconsumeInput(conn_.get()) == 0) throw_connection_error("connection lost");
    }
}

asio::awaitable<result> async_connection::finish_copy() {
    result last;
    while (true) {
        co_await consume_until_not_busy();
        result next(PQgetResult(conn_.get()));
        if (!next) break;
        last = std::move(next);
    }
    co_return check_result(std::move(last), conn_.get(), "COPY failed");
}

asio::awaitable<void> async_connection::write_copy(std::string_view data) {
    while (true) {
        int rc = PQputCopyData(conn_.get(), data.data(), static_cast<int>(data.size()));
        if (rc == 1) break;
        if (rc < 0) throw_connection_error("COPY send failed");
        co_await wait_readable_or_writable();  // rc == 0: libpq's buffer is full
        if (PQconsumeInput(conn_.get()) == 0) throw_connection_error("connection lost");
    }
    co_await flush();
}

asio::awaitable<result> async_connection::end_copy(const char* error_message) {
    while (true) {
        int rc = PQputCopyEnd(conn_.get(), error_message);
        if (rc == 1) break;
        if (rc < 0) throw_connection_error("COPY end failed");
        co_await wait_writable();
    }
    co_await flush();
    co_return co_await finish_copy();
}

void async_connection::enter_pipeline() {
    if (PQenterPipelineMode(conn_.get()) == 0) throw_connection_error("cannot enter pipeline mode");
}

void async_connection::exit_pipeline() {
    if (PQexitPipelineMode(conn_.get()) == 0) throw_connection_error("cannot exit pipeline mode");
}

void async_connection::send_prepare(const std::string& name, const std::string& sql, int nparams,
                                    const Oid* types) {
    if (PQsendPrepare(conn_.get(), name.c_str(), sql.c_str(), nparams, types) == 0)
        throw_connection_error("cannot queue PREPARE");
}

void async_connection::send_prepared(const std::string& name, const param_list& params) {
    param_pointers pointers(params);
    if (PQsendQueryPrepared(conn_.get(), name.c_str(), pointers.count(), pointers.data(), nullptr,
                            nullptr, 0) == 0)
        throw_connection_error("cannot queue statement");
}

void async_connection::send_query(const std::string& sql, const param_list& params) {
    param_pointers pointers(params);
    if (PQsendQueryParams(conn_.get(), sql.c_str(), pointers.count(), nullptr, pointers.data(),
                          nullptr, nullptr, 0) == 0)
        throw_connection_error("cannot queue statement");
}

void async_connection::pipeline_sync() {
    if (PQpipelineSync(conn_.get()) == 0) throw_connection_error("cannot queue pipeline sync");
}

asio::awaitable<result> async_connection::next_result() {
    co_await flush();
    co_await consume_until_not_busy();
    co_return result(PQgetResult(conn_.get()));
}

asio::awaitable<bool> async_connection::wait_readable_for(
    std::chrono::steady_clock::duration timeout) {
    auto ex = co_await asio::this_coro::executor;
    auto wake = std::make_shared<asio::steady_timer>(ex, timeout);
    auto readable = std::make_shared<bool>(false);
    socket_->async_wait(stream_descriptor::wait_read,
                        [wake, readable](boost::system::error_code ec) {
                            if (!ec) {
                                *readable = true;
                                wake->cancel();
                            }
                        });
    boost::system::error_code ignored;
    co_await wake->async_wait(asio::redirect_error(use_awaitable, ignored));
    if (!*readable) socket_->cancel();
    co_return *readable;
}

asio::awaitable<void> async_connection::pause_unwatched(
    std::chrono::steady_clock::duration how_long) {
    auto ex = socket_->get_executor();
    socket_.reset();  // closes the dup and takes it off the event loop; libpq's socket stays
    asio::steady_timer pause(ex, how_long);
    boost::system::error_code ignored;  // cancelled: watch the socket again all the same
    co_await pause.async_wait(asio::redirect_error(use_awaitable, ignored));
    socket_ = watch_socket(ex, conn_.get());
}

void async_connection::consume_input() {
    if (PQconsumeInput(conn_.get()) == 0) throw_connection_error("connection lost");
}

void async_connection::cancel() noexcept {
    std::unique_ptr<PGcancel, decltype(&PQfreeCancel)> handle(PQgetCancel(conn_.get()),
                                                              &PQfreeCancel);
    if (!handle) return;
    char message[256];
    PQcancel(handle.get(), message, sizeof message);
}

}  // namespace partshift::pg
