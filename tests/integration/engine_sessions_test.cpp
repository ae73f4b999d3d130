// What the engine's own sessions must set, through the real binary: copy sessions run without
// foreign-key checks or user triggers on the target (a parent row deleted during the copy must
// not fail a chunk), and every session that moves values as text pins the text formats, so a
// database default such as DateStyle = 'SQL, DMY' or extra_float_digits = 0 cannot change a
// replayed value.
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <functional>
#include <thread>

#include "status.pb.h"
#include "support/job_driver.hpp"
#include "support/sandbox.hpp"

#include "partshift/pg/quote.hpp"

using namespace partshift;
using namespace partshift::testing;
using namespace std::chrono_literals;

namespace {

class EngineSessions : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
        db_ = std::make_unique<test_database>();
    }

    std::unique_ptr<child_process> start_run(const std::string& table,
                                             std::vector<std::string> extra,
                                             std::vector<std::string> env = {}) {
        std::vector<std::string> argv{PARTSHIFT_BINARY, "run",         "--dsn",
                                      db_->dsn(),       "--table",     table,
                                      "--spool-dir",    spool_.path(), "--dry-run"};
        argv.insert(argv.end(), extra.begin(), extra.end());
        return start_with_env(env, argv, spool_.path() + "-run.log");
    }

    std::optional<proto::status_report> status(const std::string& job) {
        auto r = run_partshift({"status", "--dsn", db_->dsn(), "--job", job, "--json"});
        if (r.exit_code != 0) return std::nullopt;
        proto::status_report report;
        if (!google::protobuf::util::JsonStringToMessage(r.out, &report).ok()) return std::nullopt;
        return report;
    }

    // wait_for polls status until pred holds; fails the test with the run log otherwise.
    bool wait_for(const std::string& job,
                  const std::function<bool(const proto::status_report&)>& pred,
                  std::chrono::seconds timeout, child_process& run, const std::string& what) {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < deadline) {
            if (auto s = status(job); s && pred(*s)) return true;
            if (!run.running()) {
                ADD_FAILURE() << "partshift exited while waiting for " << what << "\n" << run.log();
                return false;
            }
            std::this_thread::sleep_for(100ms);
        }
        ADD_FAILURE() << "timed out waiting for " << what << "\n" << run.log();
        return false;
    }

    bool wait_until_caught_up(const std::string& job, child_process& run) {
        // lag 0 twice a moment apart: the applier is idle and current.
        for (int i = 0; i < 2; ++i) {
            if (!wait_for(
                    job, [](const auto& s) { return s.phase() == "follow" && s.lag_bytes() == 0; },
                    300s, run, "lag 0 in follow"))
                return false;
            std::this_thread::sleep_for(1500ms);
        }
        return true;
    }

    void stop(child_process& run) {
        run.signal(SIGTERM);
        auto code = run.wait(120s);
        ASSERT_TRUE(code.has_value()) << "partshift did not stop on SIGTERM\n" << run.log();
        EXPECT_EQ(*code, 0) << run.log();
    }

    // A connection whose text output is exact whatever the database's defaults: the
    // fingerprints hash each row's text form, and with extra_float_digits = 0 two different
    // doubles can print the same.
    pg::connection exact_connection() {
        auto conn = db_->connect();
        conn.exec("SET DateStyle = ISO");
        conn.exec("SET IntervalStyle = postgres");
        conn.exec("SET extra_float_digits = 3");
        return conn;
    }

    std::unique_ptr<test_database> db_;
    temp_dir spool_;
};

}  // namespace

// The target carries the source's outbound FK. A parent row deleted (ON DELETE SET NULL, so the
// source stays valid) after a chunk's snapshot but before its rows reach the target: with FK
// checks on, the copy session's check waits on the deleting transaction's row lock and then
// fails the chunk with 23503. The replay sets the children's key to NULL later anyway.
TEST_F(EngineSessions, CopyIgnoresAParentRowDeletedDuringTheCopy) {
    db_->exec(
        "CREATE TABLE parent (id int PRIMARY KEY);"
        "INSERT INTO parent SELECT generate_series(1, 100);"
        "CREATE TABLE child (id bigint PRIMARY KEY, "
        "  parent_id int REFERENCES parent ON DELETE SET NULL, ts timestamptz NOT NULL, v text);"
        "INSERT INTO child SELECT g, 1 + g % 100, "
        "  '2025-01-01'::timestamptz + g * interval '1 minute', 'v' || g "
        "FROM generate_series(1, 20000) g;");
    // The pause at the start of the copy lets the deleting transaction begin after the slot
    // exists (creating a slot waits for open transactions) and before any chunk's snapshot.
    auto run = start_run(
        "child",
        {"--partition-by", "range", "--key", "ts", "--interval", "1 month", "--copy-workers", "1"},
        {"PARTSHIFT_TEST_PHASE_PAUSE_MS=3000"});
    ASSERT_TRUE(wait_for(
        "child", [](const auto& s) { return s.phase() == "copy"; }, 120s, *run, "copy"));

    auto deleter = db_->connect();
    deleter.exec("BEGIN");
    deleter.exec("DELETE FROM parent WHERE id = 7");  // sets child.parent_id = NULL on 200 rows

    // Commit once the copy waits on the deleted parent row's lock (the FK check), or once the
    // copy is over without waiting.
    auto watcher = db_->connect();
    auto deadline = std::chrono::steady_clock::now() + 120s;
    bool copy_waited = false;
    while (std::chrono::steady_clock::now() < deadline && run->running()) {
        copy_waited = watcher
                          .exec(
                              "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                              "current_database() AND application_name LIKE 'partshift%' "
                              "AND wait_event_type = 'Lock'")
                          .get_int(0, 0) > 0;
        if (copy_waited) break;
        auto s = status("child");
        if (s && s->phase() != "copy" && s->phase() != "preparing") break;
        std::this_thread::sleep_for(100ms);
    }
    deleter.exec("COMMIT");
    EXPECT_FALSE(copy_waited) << "a copy session waited on a parent row lock: FK checks are on";

    ASSERT_TRUE(wait_until_caught_up("child", *run));
    stop(*run);
    auto conn = exact_connection();
    EXPECT_EQ(fingerprint(conn, "public.child_new"), fingerprint(conn, "public.child"));
    EXPECT_EQ(conn.exec("SELECT count(*) FROM child_new WHERE parent_id = 7").get_int(0, 0), 0);
    EXPECT_EQ(conn.exec("SELECT count(*) FROM child_new WHERE parent_id IS NULL").get_int(0, 0),
              200);
}

// Database defaults that change how values print: the walsender's text output is what the
// applier replays, so without pinned formats floats lose digits (0.30000000000000004 prints as
// 0.3) and dates and intervals come out in another style.
TEST_F(EngineSessions, DatabaseTextFormatDefaultsDoNotChangeReplayedValues) {
    db_->exec(
        "CREATE TABLE measures (id bigint PRIMARY KEY, ts timestamptz NOT NULL, f8 float8, "
        "  f4 real, d date, iv interval, n numeric);"
        "INSERT INTO measures SELECT g, '2025-01-01'::timestamptz + g * interval '1 hour', "
        "  g / 3.0::float8, (g / 7.0)::real, date '2025-01-01' + g, "
        "  g * interval '1 day 2 hours 3.5 seconds' - interval '1 month', g / 3.0 "
        "FROM generate_series(1, 5000) g;");
    // Scoped to this test's own database (tests share the server); new sessions take it.
    {
        auto conn = db_->connect();
        const std::string db = pg::escape_identifier(db_->name());
        conn.exec("ALTER DATABASE " + db + " SET DateStyle = 'SQL, DMY'");
        conn.exec("ALTER DATABASE " + db + " SET extra_float_digits = 0");
        conn.exec("ALTER DATABASE " + db + " SET IntervalStyle = 'sql_standard'");
    }
    auto run =
        start_run("measures", {"--partition-by", "range", "--key", "ts", "--interval", "1 month"});
    ASSERT_TRUE(wait_for(
        "measures", [](const auto& s) { return s.phase() == "follow"; }, 300s, *run, "follow"));

    // Changes replayed as text: inserts, updates (partition key moves included), deletes.
    db_->exec(
        "INSERT INTO measures SELECT g, '2025-03-04 05:06:07.123456+00'::timestamptz + "
        "  g * interval '1 minute', 0.1::float8 + 0.2 * g, (1 / 3.0 * g)::real, "
        "  date '2025-12-31' - g, interval '-1 year 2 mons -3 days 04:05:06.789' * g, 1 / 7.0 * g "
        "FROM generate_series(10001, 10500) g;"
        "UPDATE measures SET f8 = f8 + 0.1, f4 = f4 * 1.1, d = d + 1, "
        "  iv = iv - interval '1 year 3 days 00:00:00.5', ts = ts + interval '13 days' "
        "WHERE id % 3 = 0;"
        "DELETE FROM measures WHERE id % 11 = 0;");
    ASSERT_TRUE(wait_until_caught_up("measures", *run));
    stop(*run);
    auto conn = exact_connection();
    EXPECT_EQ(fingerprint(conn, "public.measures_new"), fingerprint(conn, "public.measures"));
    EXPECT_EQ(conn.exec("SELECT count(*) FROM measures_new n JOIN measures m USING (id) WHERE "
                        "(n.f8, n.f4, n.d, n.iv, n.ts) IS DISTINCT FROM (m.f8, m.f4, m.d, m.iv, "
                        "m.ts)")
                  .get_int(0, 0),
              0);
}

// A database default client_encoding that cannot hold every stored character: the walsender
// and the copy would convert each value to it (and fail on '€'), so the engine's sessions pin
// the server's encoding.
TEST_F(EngineSessions, DatabaseClientEncodingDefaultDoesNotFailOrChangeValues) {
    db_->exec(
        "CREATE TABLE notes (id bigint PRIMARY KEY, ts timestamptz NOT NULL, v text);"
        "INSERT INTO notes SELECT g, '2025-01-01'::timestamptz + g * interval '1 hour', "
        "  'ж€ é ' || g FROM generate_series(1, 2000) g;");
    {
        auto conn = db_->connect();
        conn.exec("ALTER DATABASE " + pg::escape_identifier(db_->name()) +
                  " SET client_encoding = 'LATIN1'");
    }
    auto run =
        start_run("notes", {"--partition-by", "range", "--key", "ts", "--interval", "1 month"});
    ASSERT_TRUE(wait_for(
        "notes", [](const auto& s) { return s.phase() == "follow"; }, 300s, *run, "follow"));
    {
        auto conn = db_->connect();
        conn.exec("SET client_encoding = 'UTF8'");
        conn.exec(
            "INSERT INTO notes SELECT g, '2025-02-01'::timestamptz + g * interval '1 minute', "
            "  '€ ∑ 😀 ' || g FROM generate_series(3001, 3200) g;"
            "UPDATE notes SET v = v || ' ✓' WHERE id % 5 = 0;");
    }
    ASSERT_TRUE(wait_until_caught_up("notes", *run));
    stop(*run);
    auto conn = exact_connection();
    conn.exec("SET client_encoding = 'UTF8'");
    EXPECT_EQ(fingerprint(conn, "public.notes_new"), fingerprint(conn, "public.notes"));
    EXPECT_EQ(conn.exec("SELECT count(*) FROM notes_new WHERE v LIKE '%€%'").get_int(0, 0), 2200);
}
