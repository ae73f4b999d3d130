// Large source transactions streamed before their commit (pgoutput protocol 2, issue 22 item
// 2), through the real binary: with the database's logical_decoding_work_mem at its 64 kB
// minimum every transaction of a few hundred rows is streamed, and the server's slot counts
// them. A committed one with a ROLLBACK TO SAVEPOINT, TOASTed values and other sessions'
// commits in between, and a rolled-back one, reach the target exactly as the source has them;
// a run killed with -9, or a walsender terminated, while a transaction is staged gets it whole
// when the server streams it again.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <map>
#include <thread>

#include "status.pb.h"
#include "support/job_driver.hpp"
#include "support/metrics_scrape.hpp"

using namespace partshift;
using namespace partshift::testing;
using namespace std::chrono_literals;

namespace {

class StreamedTransactions : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
        ASSERT_TRUE(load_events_table(db_, 8000));
        // Read by the job's walsender, a session of this database (the minimum, 64 kB).
        db_.exec("ALTER DATABASE " + db_.name() + " SET logical_decoding_work_mem = '64kB'");
    }

    std::unique_ptr<child_process> start_run(std::vector<std::string> extra = {}) {
        std::vector<std::string> args{
            PARTSHIFT_BINARY, "run",   "--dsn",       db_.dsn(),     "--table",    "events",
            "--partition-by", "range", "--key",       "ts",          "--interval", "1 month",
            "--premake",      "3",     "--spool-dir", spool_.path(), "--dry-run"};
        args.insert(args.end(), extra.begin(), extra.end());
        return start_with_env({}, args, spool_.path() + "-run" + std::to_string(++runs_) + ".log");
    }

    // staged_files: the streamed transactions staged in the job's spool now.
    std::size_t staged_files() const {
        std::size_t n = 0;
        std::error_code ec;
        for (const auto& e : std::filesystem::recursive_directory_iterator(spool_.path(), ec))
            if (e.path().extension() == ".stream") ++n;
        return n;
    }

    // staged: whether transaction xid is staged in the job's spool now.
    bool staged(const std::string& xid) const {
        std::error_code ec;
        for (const auto& e : std::filesystem::recursive_directory_iterator(spool_.path(), ec))
            if (e.path().filename() == xid + ".stream") return true;
        return false;
    }

    // slot_stats: the slot's streamed transactions and bytes (the statistics lag a little:
    // polled until the streamed transactions reach `want`).
    struct slot_stats {
        int64_t stream_txns = -1;
        int64_t stream_bytes = -1;
    };
    slot_stats slot_counts(const std::string& slot, int64_t want) const {
        auto conn = db_.connect();
        slot_stats stats;
        for (int i = 0; i < 100; ++i) {
            auto r = conn.query(
                "SELECT stream_txns, stream_bytes FROM "
                "pg_catalog.pg_stat_replication_slots WHERE slot_name = $1",
                slot);
            if (r.rows() == 1) stats = {r.get_int(0, 0), r.get_int(0, 1)};
            if (stats.stream_txns >= want) break;
            std::this_thread::sleep_for(100ms);
        }
        return stats;
    }

    void expect_target_matches_source() {
        auto conn = db_.connect();
        EXPECT_EQ(fingerprint(conn, "public.events"), fingerprint(conn, "public.events_new"));
    }

    test_database db_;
    temp_dir spool_;
    int runs_ = 0;
};

// Rows the big transactions write: ts in the table's range, every 10th with a TOASTed value.
const char* const big_rows =
    "INSERT INTO events (ts, customer_id, amount, status, big, payload) "
    "SELECT now() - (g % 150) * interval '1 day', g % 1000, g / 100.0, '{status}', "
    "CASE WHEN g % 10 = 0 THEN (SELECT string_agg(md5(g::text || i::text), '') "
    "FROM generate_series(1, 320) i) END, jsonb_build_object('g', g) "
    "FROM generate_series(1, {rows}) g";

std::string rows_sql(const std::string& status, int rows) {
    std::string sql = big_rows;
    sql.replace(sql.find("{status}"), 8, status);
    sql.replace(sql.find("{rows}"), 6, std::to_string(rows));
    return sql;
}

}  // namespace

TEST_F(StreamedTransactions, BigTransactionsAreStreamedAndReachTheTargetAsCommitted) {
    auto run = start_run();
    const auto slot = wait_caught_up(db_.dsn(), "events", run.get()).slot_name();
    const auto before = slot_counts(slot, 0);

    // A: streamed, with a rolled-back savepoint, committed after B's small commits.
    auto a = db_.connect();
    a.exec("BEGIN");
    a.exec(rows_sql("streamed", 6000));
    a.exec("SAVEPOINT s1");
    a.exec(rows_sql("doomed", 3000));
    a.exec("UPDATE events SET amount = amount + 1 WHERE id <= 2000");
    a.exec("ROLLBACK TO SAVEPOINT s1");
    a.exec("UPDATE events SET status = 'touched' WHERE id % 3 = 0 AND id <= 5000");
    a.exec("UPDATE events SET big = NULL WHERE id % 100 = 0 AND id <= 5000");
    a.exec("DELETE FROM events WHERE id % 7 = 0 AND id <= 5000");
    auto b = db_.connect();
    for (int id = 6001; id <= 6010; ++id)
        b.query("UPDATE events SET amount = amount + 5 WHERE id = $1", std::to_string(id));
    a.exec(rows_sql("after", 2000));
    a.exec("COMMIT");
    // C: streamed, then rolled back whole. It must be streamed before the rollback: a server
    // that finds a transaction aborted by the time it would stream it drops it instead (18).
    auto c = db_.connect();
    c.exec("BEGIN");
    c.exec(rows_sql("rolled back", 5000));
    const auto c_xid =
        c.exec("SELECT (pg_catalog.pg_current_xact_id()::text::bigint % 4294967296)::text")
            .get(0, 0);
    for (int i = 0; i < 300 && !staged(c_xid); ++i) std::this_thread::sleep_for(100ms);
    ASSERT_TRUE(staged(c_xid)) << "transaction " << c_xid << " was not staged";
    c.exec("ROLLBACK");
    b.exec("UPDATE events SET status = 'last' WHERE id = 7000");

    wait_caught_up(db_.dsn(), "events", run.get());
    // The server streamed the source's big transactions (A and C) instead of spilling them.
    // It still spills others: below PostgreSQL 16 it decodes partshift's own apply
    // transactions too, whose INSERT ... ON CONFLICT rows it cannot stream half-way.
    const auto after = slot_counts(slot, before.stream_txns + 2);
    EXPECT_GE(after.stream_txns, before.stream_txns + 2) << "the server streamed nothing";
    EXPECT_GT(after.stream_bytes, before.stream_bytes);
    EXPECT_EQ(staged_files(), 0u);
    stop_run(*run);
    EXPECT_NE(run->log().find("large transactions streamed before their commit"), std::string::npos)
        << run->log();
    expect_target_matches_source();
    auto conn = db_.connect();
    EXPECT_EQ(conn.exec("SELECT count(*) FROM events_new WHERE status IN ('doomed', 'rolled back')")
                  .get_int(0, 0),
              0);
    EXPECT_EQ(conn.exec("SELECT count(*) FROM events_new WHERE status = 'streamed'").get_int(0, 0),
              6000);
}

// kill -9 while a transaction's first blocks are staged (the metrics show it open): the
// resumed run starts staging afresh (the killed run's files go), the server streams the
// transaction again from its start once it commits, and the target gets it once.
TEST_F(StreamedTransactions, AKilledRunGetsAStagedTransactionWholeAfterItsResume) {
    const int port = free_port();
    auto run = start_run({"--metrics-addr", "127.0.0.1:" + std::to_string(port)});
    wait_caught_up(db_.dsn(), "events", run.get());
    auto a = db_.connect();
    a.exec("BEGIN");
    a.exec(rows_sql("first half", 5000));
    for (int i = 0; i < 300 && staged_files() == 0; ++i) std::this_thread::sleep_for(100ms);
    ASSERT_GT(staged_files(), 0u) << "nothing was staged";
    std::map<std::string, double> m;
    for (int i = 0; i < 100; ++i) {
        m = scrape(port);
        if (m["partshift_streamed_transactions_open{job=\"events\"}"] >= 1) break;
        std::this_thread::sleep_for(100ms);
    }
    EXPECT_EQ(m["partshift_streamed_transactions_open{job=\"events\"}"], 1);
    EXPECT_GT(m["partshift_streamed_staged_bytes{job=\"events\"}"], 100'000);
    run->signal(SIGKILL);
    ASSERT_TRUE(run->wait(30s).has_value());
    a.exec("UPDATE events SET amount = amount * 2 WHERE id <= 3000");
    a.exec(rows_sql("second half", 5000));
    a.exec("COMMIT");

    auto again = start_run();
    wait_caught_up(db_.dsn(), "events", again.get());
    EXPECT_EQ(staged_files(), 0u);
    stop_run(*again);
    expect_target_matches_source();
    auto conn = db_.connect();
    EXPECT_EQ(
        conn.exec("SELECT count(*) FROM events_new WHERE status = 'first half'").get_int(0, 0),
        5000);
}

// The walsender terminated while a transaction is staged, and again at or just after its
// commit: the stream reconnects, drops what it had staged, the server streams the transaction
// again from its start, and the target gets it once.
TEST_F(StreamedTransactions, AWalsenderTerminatedMidStreamStreamsTheTransactionAgain) {
    auto run = start_run();
    wait_caught_up(db_.dsn(), "events", run.get());
    auto terminate_walsender = [&] {
        db_.exec(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
            "backend_type = 'walsender' AND datname = current_database()");
    };
    for (int delay_ms : {0, 300}) {
        const auto status = "walsender " + std::to_string(delay_ms);
        auto a = db_.connect();
        a.exec("BEGIN");
        a.exec(rows_sql(status, 4000));
        for (int i = 0; i < 300 && staged_files() == 0; ++i) std::this_thread::sleep_for(100ms);
        ASSERT_GT(staged_files(), 0u) << "nothing was staged";
        terminate_walsender();
        a.exec("UPDATE events SET amount = amount + 1 WHERE id <= 2000");
        a.exec(rows_sql(status, 4000));
        a.exec("COMMIT");
        std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
        terminate_walsender();
    }
    wait_caught_up(db_.dsn(), "events", run.get());
    EXPECT_EQ(staged_files(), 0u);
    stop_run(*run);
    EXPECT_NE(run->log().find("replication connection lost"), std::string::npos) << run->log();
    expect_target_matches_source();
    auto conn = db_.connect();
    for (const char* status : {"walsender 0", "walsender 300"})
        EXPECT_EQ(
            conn.query("SELECT count(*) FROM events_new WHERE status = $1", std::string(status))
                .get_int(0, 0),
            8000)
            << status;
}
