// The copy phase against the sandbox: parallel chunked copy into a partitioned target, composite
// text keys, stop and resume, a chunk killed midway, and concurrent writes on the source.
#include <gtest/gtest.h>

#include <utility>  // before Asio's coroutine headers (GCC 12 + Boost 1.74)

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <future>
#include <optional>
#include <thread>

#include "partshift/copy/chunk_copier.hpp"
#include "partshift/copy/copier.hpp"
#include "partshift/error.hpp"
#include "partshift/state/schema.hpp"
#include "support/sandbox.hpp"

using namespace partshift;
using namespace partshift::testing;
using namespace std::chrono_literals;

namespace {

// A 200k-row source with an int key, every common column kind, and a generated column that
// the copy leaves out and the target computes; a RANGE-partitioned target by ts.
void create_int_source(const test_database& db, int rows = 200'000) {
    db.exec(std::string(state::ensure_schema_sql));
    db.exec(
        "CREATE TABLE src (id bigint PRIMARY KEY, ts timestamptz NOT NULL, amount numeric(12,2), "
        "note text, tags text[], doc jsonb, flag boolean, "
        "total numeric GENERATED ALWAYS AS (amount * 2) STORED);"
        "INSERT INTO src (id, ts, amount, note, tags, doc, flag) SELECT g, "
        "timestamptz '2024-01-01' + g * interval '1 minute', g / 7.0, "
        "CASE WHEN g % 10 = 0 THEN NULL ELSE repeat('n', g % 40) || E'\\t\"q\"' END, "
        "ARRAY['a', g::text], jsonb_build_object('g', g), g % 2 = 0 "
        "FROM generate_series(1, " +
        std::to_string(rows) +
        ") g;"
        "ANALYZE src;"
        "CREATE TABLE src_new (LIKE src INCLUDING GENERATED) PARTITION BY RANGE (ts);"
        "CREATE TABLE src_new_2024_01 PARTITION OF src_new "
        "  FOR VALUES FROM ('2024-01-01') TO ('2024-02-01');"
        "CREATE TABLE src_new_2024_02 PARTITION OF src_new "
        "  FOR VALUES FROM ('2024-02-01') TO ('2024-03-01');"
        "CREATE TABLE src_new_default PARTITION OF src_new DEFAULT;"
        "INSERT INTO partshift.jobs (job, source_schema, source_table, target_schema, "
        "  target_table, final_name, old_name, slot_name, publication_name, spec, phase) "
        "VALUES ('src', 'public', 'src', 'public', 'src_new', 'src', 'src_old', 'partshift_src', "
        "  'partshift_src', '\\x', 'copy')");
}

copy::copy_spec int_spec(const test_database& db) {
    auto conn = db.connect();
    copy::copy_spec spec;
    spec.source = {"public", "src"};
    spec.target = {"public", "src_new"};
    spec.columns = {"id", "ts", "amount", "note", "tags", "doc", "flag"};
    spec.key = {{"id", "bigint"}};
    auto r = conn.exec(
        "SELECT reltuples::bigint, pg_total_relation_size(oid) FROM pg_class WHERE oid = "
        "'src'::regclass");
    spec.row_estimate = r.get_int(0, 0);
    spec.total_bytes = r.get_int(0, 1);
    return spec;
}

copy::copy_options options_with(int workers, int64_t rows_per_chunk) {
    copy::copy_options o;
    o.workers = workers;
    o.chunking.target_rows = rows_per_chunk;
    return o;
}

uint64_t lsn_of(pg::connection& conn, const std::string& lsn) {
    return static_cast<uint64_t>(
        conn.query("SELECT $1::pg_lsn - '0/0'::pg_lsn", lsn).get_int(0, 0));
}

void reset_copy(pg::connection& conn) {
    conn.exec("TRUNCATE src_new; DELETE FROM partshift.chunks");
}

}  // namespace

TEST(Copy, IntKeyIntoRangePartitionsWithTwoAndFourWorkers) {
    if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
    test_database db;
    create_int_source(db);
    auto conn = db.connect();
    auto spec = int_spec(db);
    auto source_print = fingerprint(conn, "src");
    ASSERT_EQ(source_print.rows, 200'000);

    // Inside the server (the default) with 2 and 4 workers, and piped through partshift.
    for (auto [workers, piped] : {std::pair{2, false}, std::pair{4, false}, std::pair{2, true}}) {
        SCOPED_TRACE("workers=" + std::to_string(workers) + (piped ? ", piped" : ""));
        reset_copy(conn);
        std::string start_lsn = conn.exec("SELECT pg_current_wal_insert_lsn()::text").get(0, 0);
        base::progress progress;
        std::atomic<bool> stop{false};
        auto t0 = std::chrono::steady_clock::now();
        auto options = options_with(workers, 20'000);
        options.relay_always = piped;
        auto result = copy::copy_table(db.dsn(), "src", spec, options, progress, stop);
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - t0)
                      .count();
        std::printf("copy 200k rows, %d workers%s: %lld ms, %d chunks\n", workers,
                    piped ? " piped" : "", static_cast<long long>(ms), result.chunks_total);

        EXPECT_TRUE(result.completed);
        EXPECT_EQ(result.rows_copied, 200'000);
        EXPECT_EQ(result.chunks_total, 10);
        EXPECT_EQ(result.chunks_done, 10);
        EXPECT_EQ(progress.rows_copied.load(), 200'000);
        EXPECT_EQ(progress.chunks_done.load(), 10);
        EXPECT_EQ(progress.chunks_total.load(), 10);

        // Every column, the generated one included (computed on the target).
        EXPECT_EQ(fingerprint(conn, "src_new"), source_print);
        EXPECT_EQ(conn.exec("SELECT count(*) FROM src_new WHERE total IS DISTINCT FROM amount * 2")
                      .get_int(0, 0),
                  0);
        EXPECT_GT(conn.exec("SELECT count(*) FROM src_new_2024_02").get_int(0, 0), 0);

        // Every chunk recorded, with a high LSN at or after the LSN before the copy started.
        auto chunks = conn.exec(
            "SELECT count(*) FILTER (WHERE done AND high_lsn >= $1::pg_lsn AND copied_at IS NOT "
            "NULL), sum(rows), max(high_lsn)::text FROM partshift.chunks WHERE job = 'src'",
            pg::make_params(start_lsn));
        EXPECT_EQ(chunks.get_int(0, 0), 10);
        EXPECT_EQ(chunks.get_int(0, 1), 200'000);
        EXPECT_EQ(chunks.get(0, 2), result.max_high_lsn);
        EXPECT_GE(lsn_of(conn, result.max_high_lsn), lsn_of(conn, start_lsn));
        auto job = conn.exec("SELECT max_chunk_high_lsn::text, rows_copied FROM partshift.jobs");
        EXPECT_EQ(job.get(0, 0), result.max_high_lsn);
        EXPECT_EQ(job.get_int(0, 1), 200'000);
        // First chunk open below, last open above.
        EXPECT_EQ(conn.exec("SELECT count(*) FROM partshift.chunks WHERE lower_key IS NULL AND "
                            "chunk_id = 1")
                      .get_int(0, 0),
                  1);
        EXPECT_EQ(conn.exec("SELECT count(*) FROM partshift.chunks WHERE upper_key IS NULL AND "
                            "chunk_id = 10")
                      .get_int(0, 0),
                  1);
    }
}

TEST(Copy, CompositeTextKeyIsChunkedBySampledBoundaries) {
    if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
    test_database db;
    db.exec(std::string(state::ensure_schema_sql));
    db.exec(
        "CREATE TABLE \"Order Lines\" (region text COLLATE \"C\", code varchar(20), seq int, "
        "v text, PRIMARY KEY (region, code));"
        "INSERT INTO \"Order Lines\" SELECT "
        "  (ARRAY['eu', 'us', 'apac', 'o''neil', 'a,b', 'ü \"x\"'])[1 + g % 6], "
        "  'c' || g, g, md5(g::text) FROM generate_series(1, 30000) g;"
        "ANALYZE \"Order Lines\";"
        "CREATE TABLE \"Order Lines_new\" (LIKE \"Order Lines\") PARTITION BY LIST (region);"
        "CREATE TABLE ol_eu PARTITION OF \"Order Lines_new\" FOR VALUES IN ('eu');"
        "CREATE TABLE ol_rest PARTITION OF \"Order Lines_new\" DEFAULT;"
        "INSERT INTO partshift.jobs (job, source_schema, source_table, target_schema, "
        "  target_table, final_name, old_name, slot_name, publication_name, spec, phase) "
        "VALUES ('ol', 'public', 'Order Lines', 'public', 'Order Lines_new', 'Order Lines', "
        "  'old', 's', 'p', '\\x', 'copy')");
    copy::copy_spec spec;
    spec.source = {"public", "Order Lines"};
    spec.target = {"public", "Order Lines_new"};
    spec.columns = {"region", "code", "seq", "v"};
    spec.key = {{"region", "text"}, {"code", "character varying(20)"}};
    spec.row_estimate = 30'000;
    base::progress progress;
    std::atomic<bool> stop{false};
    auto result = copy::copy_table(db.dsn(), "ol", spec, options_with(3, 1000), progress, stop);
    EXPECT_TRUE(result.completed);
    EXPECT_EQ(result.chunks_total, 31);  // 30 sampled boundaries
    auto conn = db.connect();
    EXPECT_EQ(fingerprint(conn, "\"Order Lines_new\""), fingerprint(conn, "\"Order Lines\""));
    // Boundaries are every 1000th key in key order, so inner chunks hold exactly 1000 rows
    // (the first 999, the last the single row from the 30000th key on).
    auto sizes = conn.exec(
        "SELECT min(rows), max(rows), min(cardinality(lower_key)) "
        "FROM partshift.chunks WHERE job = 'ol' AND chunk_id BETWEEN 2 AND 30");
    EXPECT_EQ(sizes.get_int(0, 0), 1000);
    EXPECT_EQ(sizes.get_int(0, 1), 1000);
    EXPECT_EQ(sizes.get_int(0, 2), 2);
}

// stop_midway_then_resume: a stop while chunks are in flight (inside the server, or piped)
// leaves exactly the done chunks, and a second run copies the rest once.
static void stop_midway_then_resume(bool piped) {
    test_database db;
    create_int_source(db);
    auto conn = db.connect();
    auto spec = int_spec(db);
    auto options = options_with(2, 5000);  // 40 chunks
    options.relay_always = piped;

    base::progress progress;
    std::atomic<bool> stop{false};
    std::thread stopper([&] {
        while (progress.rows_copied.load() < 60'000) std::this_thread::sleep_for(1ms);
        stop = true;
    });
    copy::copy_result first;
    try {
        first = copy::copy_table(db.dsn(), "src", spec, options, progress, stop);
    } catch (...) {
        stop = true;
        progress.rows_copied = 1'000'000;  // release the stopper
        stopper.join();
        throw;
    }
    stopper.join();
    EXPECT_FALSE(first.completed);
    EXPECT_GT(first.chunks_done, 0);
    EXPECT_LT(first.chunks_done, 40);
    // Nothing of an unfinished chunk was committed: the target holds exactly the done chunks.
    EXPECT_EQ(conn.exec("SELECT count(*) FROM src_new").get_int(0, 0), first.rows_copied);
    EXPECT_EQ(conn.exec("SELECT max_chunk_high_lsn IS NULL FROM partshift.jobs").get_bool(0, 0),
              true);
    const char* done_sql =
        "SELECT chunk_id, copied_at::text, high_lsn::text, rows FROM partshift.chunks "
        "WHERE done ORDER BY chunk_id";
    auto done_before = conn.exec(done_sql);

    base::progress resumed_progress;
    stop = false;
    auto second = copy::copy_table(db.dsn(), "src", spec, options, resumed_progress, stop);
    EXPECT_TRUE(second.completed);
    EXPECT_EQ(second.chunks_total, 40);
    EXPECT_EQ(second.rows_copied, 200'000);
    EXPECT_EQ(resumed_progress.rows_copied.load(), 200'000);
    EXPECT_EQ(fingerprint(conn, "src_new"), fingerprint(conn, "src"));
    // Chunks done by the first run were not copied again: their records are untouched.
    auto done_after = conn.exec(done_sql);
    ASSERT_EQ(done_after.rows(), 40);
    int matched = 0;
    for (int i = 0; i < done_before.rows(); ++i)
        for (int j = 0; j < done_after.rows(); ++j)
            if (done_after.get(j, 0) == done_before.get(i, 0)) {
                EXPECT_EQ(done_after.get(j, 1), done_before.get(i, 1));
                EXPECT_EQ(done_after.get(j, 2), done_before.get(i, 2));
                ++matched;
            }
    EXPECT_EQ(matched, done_before.rows());
}

TEST(Copy, StopMidwayThenResumeCopiesEveryRowOnce) {
    if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
    stop_midway_then_resume(false);
}

TEST(Copy, StopMidwayThenResumeCopiesEveryRowOncePiped) {
    if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
    stop_midway_then_resume(true);
}

TEST(Copy, StopCancelsAChunkBlockedInsideTheServer) {
    if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
    test_database db;
    create_int_source(db);
    auto conn = db.connect();
    auto spec = int_spec(db);
    // The first chunk's INSERT waits for a lock on the partition its first rows go to: only a
    // cancel can end it before the lock is released.
    auto holder = db.connect();
    holder.exec("BEGIN; LOCK TABLE src_new_2024_01 IN ACCESS EXCLUSIVE MODE");

    base::progress progress;
    std::atomic<bool> stop{false};
    auto options = options_with(1, 50'000);
    auto copy = std::async(std::launch::async, [&] {
        return copy::copy_table(db.dsn(), "src", spec, options, progress, stop);
    });
    const char* waiting_sql =
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND "
        "application_name LIKE 'partshift-copy-dst-%' AND query LIKE 'INSERT%' AND "
        "wait_event_type = 'Lock'";
    const auto until = std::chrono::steady_clock::now() + 30s;
    while (conn.exec(waiting_sql).get_int(0, 0) == 0 && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(20ms);
    ASSERT_EQ(conn.exec(waiting_sql).get_int(0, 0), 1);
    stop = true;
    const bool ended = copy.wait_for(10s) == std::future_status::ready;
    holder.exec("ROLLBACK");
    ASSERT_TRUE(ended) << "the stopped copy kept waiting for the lock";
    auto result = copy.get();
    EXPECT_FALSE(result.completed);
    EXPECT_EQ(result.chunks_done, 0);
    EXPECT_EQ(conn.exec("SELECT count(*) FROM src_new").get_int(0, 0), 0);
    // The cancelled chunk's session ended its transaction: nothing holds a lock on the target.
    EXPECT_EQ(conn.exec("SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                        "WHERE c.relname LIKE 'src_new%' AND l.pid <> pg_backend_pid()")
                  .get_int(0, 0),
              0);
}

TEST(Copy, ChunkKilledMidwayFailsLoudlyAndResumes) {
    if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
    test_database db;
    create_int_source(db);
    auto conn = db.connect();
    auto spec = int_spec(db);
    auto options = options_with(2, 5000);

    // Kill one target backend while it is inside a COPY, once some chunks are done.
    base::progress progress;
    std::atomic<bool> stop{false};
    std::atomic<bool> killed{false};
    std::thread killer([&] {
        auto admin = db.connect();
        while (!stop && !killed) {
            if (progress.rows_copied.load() >= 40'000) {
                auto r = admin.exec(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                    "application_name LIKE 'partshift-copy-dst-%' "
                    "AND (query LIKE 'COPY%' OR query LIKE 'INSERT%') "
                    "AND state = 'active' AND datname = current_database() LIMIT 1");
                if (r.rows() == 1) killed = true;
            }
            std::this_thread::sleep_for(1ms);
        }
    });
    std::string message;
    try {
        copy::copy_table(db.dsn(), "src", spec, options, progress, stop);
    } catch (const partshift::runtime_error& e) {
        message = e.what();
    }
    stop = true;
    killer.join();
    ASSERT_TRUE(killed.load());
    EXPECT_NE(message.find("copy of chunk "), std::string::npos) << message;
    EXPECT_NE(message.find(" [("), std::string::npos) << message;  // the chunk's key range
    auto done = conn.exec(
        "SELECT count(*), coalesce(sum(rows), 0) FROM partshift.chunks "
        "WHERE done");
    EXPECT_LT(done.get_int(0, 0), 40);
    EXPECT_EQ(conn.exec("SELECT count(*) FROM src_new").get_int(0, 0), done.get_int(0, 1));

    stop = false;
    base::progress resumed;
    auto result = copy::copy_table(db.dsn(), "src", spec, options, resumed, stop);
    EXPECT_TRUE(result.completed);
    EXPECT_EQ(fingerprint(conn, "src_new"), fingerprint(conn, "src"));
}

TEST(Copy, ConcurrentWritesNeitherBlockNorFail) {
    if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
    test_database db;
    create_int_source(db);
    auto conn = db.connect();
    auto spec = int_spec(db);
    std::string start_lsn = conn.exec("SELECT pg_current_wal_insert_lsn()::text").get(0, 0);

    std::atomic<bool> copy_finished{false};
    std::atomic<int> writes{0};
    std::atomic<int64_t> slowest_us{0};
    std::string writer_error;
    std::thread writer([&] {
        try {
            auto w = db.connect();
            int64_t next_id = 300'000;
            for (int i = 0; !copy_finished; ++i) {
                auto t0 = std::chrono::steady_clock::now();
                int64_t id = 1 + (i * 7919) % 200'000;
                w.query("UPDATE src SET note = 'updated', amount = amount + 1 WHERE id = $1", id);
                w.query("INSERT INTO src (id, ts, amount) VALUES ($1, '2024-02-15', 1)", next_id++);
                if (i % 5 == 0) w.query("DELETE FROM src WHERE id = $1", id + 1);
                auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                              std::chrono::steady_clock::now() - t0)
                              .count();
                if (us > slowest_us) slowest_us = us;
                ++writes;
            }
        } catch (const std::exception& e) {
            writer_error = e.what();
        }
    });
    base::progress progress;
    std::atomic<bool> stop{false};
    copy::copy_result result;
    try {
        result = copy::copy_table(db.dsn(), "src", spec, options_with(2, 10'000), progress, stop);
    } catch (...) {
        copy_finished = true;
        writer.join();
        throw;
    }
    copy_finished = true;
    writer.join();
    std::printf("concurrent writes during copy: %d rounds, slowest round %lld us\n", writes.load(),
                static_cast<long long>(slowest_us.load()));
    EXPECT_EQ(writer_error, "");
    EXPECT_GT(writes.load(), 0);
    EXPECT_LT(slowest_us.load(), 1'000'000);  // nothing waited on the copy's locks
    EXPECT_TRUE(result.completed);
    EXPECT_EQ(conn.exec("SELECT count(*) FROM partshift.chunks WHERE done AND high_lsn >= "
                        "$1::pg_lsn",
                        pg::make_params(start_lsn))
                  .get_int(0, 0),
              result.chunks_total);
    // Each chunk saw its own snapshot; the target has no key twice and stays within what the
    // source held at some point (the applier reconciles the rest).
    EXPECT_EQ(conn.exec("SELECT count(*) - count(DISTINCT id) FROM src_new").get_int(0, 0), 0);
    int64_t copied = conn.exec("SELECT count(*) FROM src_new").get_int(0, 0);
    EXPECT_EQ(copied, result.rows_copied);
    EXPECT_GE(copied, 200'000 - writes.load() / 5 - 1);
    EXPECT_LE(copied, 200'000 + writes.load());
}

// A TRUNCATE that commits after a chunk's snapshot empties the table for that snapshot too
// (TRUNCATE is not MVCC-safe): the chunk would copy nothing while its high LSN says "the
// source as of before the TRUNCATE". The chunk locks the source before its snapshot, so a
// TRUNCATE waiting on it ends either before the snapshot (high LSN after it) or after the chunk.
TEST(Copy, TruncateCommittedWhileAChunkWaitsIsBeforeItsSnapshot) {
    if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
    test_database db;
    create_int_source(db, 1000);
    auto conn = db.connect();
    conn.exec("INSERT INTO partshift.chunks (job, chunk_id) VALUES ('src', 1)");

    auto truncator = db.connect();
    truncator.exec("BEGIN");
    truncator.exec("TRUNCATE src");  // holds ACCESS EXCLUSIVE until COMMIT

    copy::quoted_copy_spec spec;
    spec.source = "\"public\".\"src\"";
    spec.target = "\"public\".\"src_new\"";
    spec.columns = {"id", "ts", "amount", "note", "tags", "doc", "flag"};
    spec.key_columns = {"id"};
    spec.key_types = {"bigint"};
    copy::chunk c;
    c.id = 1;
    std::promise<copy::chunk_outcome> outcome;
    auto result = outcome.get_future();
    std::thread copier([&] {
        try {
            boost::asio::io_context io;
            auto done = boost::asio::co_spawn(
                io,
                [&]() -> boost::asio::awaitable<std::optional<copy::chunk_outcome>> {
                    auto source = co_await pg::async_connection::connect(db.dsn(), "chunk-src");
                    auto target = co_await pg::async_connection::connect(db.dsn(), "chunk-dst");
                    co_return co_await copy::copy_chunk(source, target, spec, "src", c,
                                                        [] { return false; });
                },
                boost::asio::use_future);
            io.run();
            outcome.set_value(*done.get());
        } catch (...) {
            outcome.set_exception(std::current_exception());
        }
    });
    // Wait until the chunk's source session waits on the TRUNCATE's lock.
    bool waiting = false;
    for (int i = 0; i < 1000 && !waiting; ++i) {
        waiting = conn.exec(
                          "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                          "current_database() AND application_name = 'chunk-src' AND "
                          "wait_event_type = 'Lock'")
                      .get_int(0, 0) == 1;
        if (!waiting) std::this_thread::sleep_for(10ms);
    }
    std::string before_commit = conn.exec("SELECT pg_current_wal_insert_lsn()::text").get(0, 0);
    truncator.exec("COMMIT");
    copier.join();
    ASSERT_TRUE(waiting);
    auto chunk = result.get();
    EXPECT_EQ(chunk.rows, 0);
    // The chunk's rows (none) are the source as of its high LSN: after the TRUNCATE.
    EXPECT_GT(lsn_of(conn, chunk.high_lsn), lsn_of(conn, before_commit))
        << "high LSN " << chunk.high_lsn << ", TRUNCATE committed after " << before_commit;
}
