// async_connection against the sandbox: queries, a binary COPY pipe between two connections,
// and pipeline mode with prepared statements.
#include <gtest/gtest.h>

#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include "partshift/pg/async_connection.hpp"
#include "partshift/pg/pg_error.hpp"
#include "support/sandbox.hpp"

using namespace partshift;
using namespace partshift::testing;
namespace asio = boost::asio;

namespace {

template <typename F>
void run_coroutine(F&& body) {
    asio::io_context io;
    auto future = asio::co_spawn(io, std::forward<F>(body), asio::use_future);
    io.run();
    future.get();
}

}  // namespace

TEST(AsyncConnection, QueriesCopyAndPipeline) {
    if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
    test_database db;
    db.exec(
        "CREATE TABLE src (id bigint primary key, v text, j jsonb);"
        "INSERT INTO src SELECT g, repeat('x', g % 50), jsonb_build_object('g', g) "
        "FROM generate_series(1, 20000) g;"
        "CREATE TABLE dst (LIKE src)");
    run_coroutine([&]() -> asio::awaitable<void> {
        auto a = co_await pg::async_connection::connect(db.dsn(), "test-a");
        auto b = co_await pg::async_connection::connect(db.dsn(), "test-b");
        auto r =
            co_await a.exec("SELECT count(*) FROM public.src WHERE id > $1", pg::make_params(100));
        EXPECT_EQ(r.get_int(0, 0), 19900);

        co_await a.exec("COPY (SELECT * FROM public.src) TO STDOUT (FORMAT binary)");
        co_await b.exec("COPY public.dst FROM STDIN (FORMAT binary)");
        while (auto chunk = co_await a.read_copy()) co_await b.write_copy(chunk->view());
        co_await a.finish_copy();
        auto done = co_await b.end_copy();
        EXPECT_STREQ(PQcmdTuples(done.native()), "20000");

        b.enter_pipeline();
        b.send_prepare("upd", "UPDATE public.dst SET v = $2 WHERE id = $1", 2, nullptr);
        for (int i = 1; i <= 1000; ++i) b.send_prepared("upd", pg::make_params(i, "p"));
        b.pipeline_sync();
        int ok = 0;
        while (true) {
            auto res = co_await b.next_result();
            if (!res) continue;
            if (res.status() == PGRES_PIPELINE_SYNC) break;
            if (res.status() == PGRES_COMMAND_OK) ++ok;
        }
        EXPECT_EQ(ok, 1001);  // the PREPARE and 1000 updates
        b.exit_pipeline();

        bool failed = false;
        try {
            co_await a.exec("SELECT * FROM no_such_table");
        } catch (const pg::pg_error& e) {
            failed = true;
            EXPECT_EQ(e.sqlstate(), "42P01");
        }
        EXPECT_TRUE(failed);
    });
    auto conn = db.connect();
    EXPECT_EQ(fingerprint(conn, "src", "id, j").checksum,
              fingerprint(conn, "dst", "id, j").checksum);
    EXPECT_EQ(conn.exec("SELECT count(*) FROM dst WHERE v = 'p'").get_int(0, 0), 1000);
}
