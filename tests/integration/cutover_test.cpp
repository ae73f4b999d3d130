// The cutover end to end, through the real binary: pgbench clients (simple and prepared
// protocol) write across the swap and record every committed write in a ledger in the same
// transaction; afterwards each write is in the partitioned table exactly once. Then the ways a
// cutover must not happen: a lock that is not granted (exit 4, source untouched), a hold that
// would pass --max-lock-hold (rolled back, retried), kill -9 before and after the commit, and
// a second run of the same job.
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>
#include <cstdio>

#include <algorithm>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "status.pb.h"
#include "support/job_driver.hpp"
#include "support/ledger_load.hpp"

#include "partshift/pg/quote.hpp"

using namespace partshift;
using namespace partshift::testing;
using namespace std::chrono_literals;

namespace {

class CutoverTest : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
        db_ = std::make_unique<test_database>();
        ASSERT_TRUE(load_events_table(*db_, 50000));
        // The ledger and the starting amounts, to check every committed write afterwards.
        create_ledger(*db_);
    }

    std::vector<std::string> run_args(std::vector<std::string> extra = {}) {
        std::vector<std::string> args{PARTSHIFT_BINARY, "run",    "--dsn",          db_->dsn(),
                                      "--table",        "events", "--partition-by", "range",
                                      "--key",          "ts",     "--interval",     "1 month",
                                      "--premake",      "3",      "--spool-dir",    spool_.path()};
        args.insert(args.end(), extra.begin(), extra.end());
        return args;
    }

    std::unique_ptr<child_process> start_run(std::vector<std::string> extra = {},
                                             std::vector<std::string> env = {}) {
        return start_with_env(env, run_args(std::move(extra)),
                              spool_.path() + "-run" + std::to_string(++runs_) + ".log");
    }

    // A steady load the applier keeps up with (a busy table, not a saturated server).
    std::unique_ptr<child_process> start_ledger_load(const std::string& mode, int seconds) {
        return partshift::testing::start_ledger_load(*db_, mode, seconds,
                                                     spool_.path() + "-pgbench-" + mode + ".log");
    }

    std::optional<proto::status_report> status() { return job_status(db_->dsn(), "events"); }

    proto::status_report wait_for(const std::function<bool(const proto::status_report&)>& pred,
                                  std::chrono::seconds timeout, child_process* run,
                                  const std::string& what) {
        return wait_for_status(db_->dsn(), "events", pred, timeout, run, what);
    }

    int64_t count(const std::string& sql) {
        auto conn = db_->connect();
        return conn.exec(sql).get_int(0, 0);
    }

    // first_value_within: the first row's value once `sql` returns one (a psql child started
    // just before may take seconds to connect on a busy machine: a fixed sleep was too short).
    int64_t first_value_within(const std::string& sql, std::chrono::seconds timeout = 60s) {
        auto conn = db_->connect();
        const auto until = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            auto r = conn.exec(sql);
            if (r.rows() > 0 || std::chrono::steady_clock::now() > until) return r.get_int(0, 0);
            std::this_thread::sleep_for(100ms);
        }
    }

    void expect_ledger_holds() { partshift::testing::expect_ledger_holds(*db_); }

    // Nothing of the job's stream is left: no slot in this database, no publication.
    void expect_no_slot_or_publication() {
        EXPECT_EQ(count("SELECT count(*) FROM pg_replication_slots WHERE database = "
                        "current_database()"),
                  0);
        EXPECT_EQ(count("SELECT count(*) FROM pg_publication"), 0);
    }

    // The source's definition as pg_dump prints it (table, indexes, triggers, grants).
    std::string source_ddl(const std::string& table = "public.events") {
        return schema_dump(*db_, {table});
    }

    void cut_over_under_load(const std::string& mode, std::vector<std::string> extra = {}) {
        auto load = start_ledger_load(mode, 40);
        extra.insert(extra.end(), {"--max-lag", "2s"});
        auto run = start_run(extra);
        auto code = run->wait(300s);
        ASSERT_TRUE(code.has_value()) << run->log();
        ASSERT_EQ(*code, 0) << run->log();
        EXPECT_TRUE(load->running()) << "the load should run across the cutover";
        expect_pgbench_clean(*load);
        EXPECT_EQ(relkind(*db_, "public.events"), "p");
        EXPECT_EQ(relkind(*db_, "public.events_old"), "r");
        EXPECT_EQ(relkind(*db_, "public.events_new"), "-");
        expect_ledger_holds();
        // The hold is logged, and short: the tail, not the backlog, is applied under the lock.
        auto s = status();
        ASSERT_TRUE(s);
        EXPECT_EQ(s->phase(), "done");
        EXPECT_GT(s->lock_hold_ms(), 0);
        EXPECT_LT(s->lock_hold_ms(), 2000);
        const auto log = run->log();
        const auto held = log.find("lock held");
        EXPECT_NE(held, std::string::npos);
        if (held != std::string::npos)  // the hold's parts, for whoever reads the test output
            std::printf("partshift: %s\n", log.substr(held, log.find('\n', held) - held).c_str());
        if (std::find(extra.begin(), extra.end(), "--verify") != extra.end())
            EXPECT_NE(run->log().find("verify: "), std::string::npos) << run->log();
        // Slot and publication are gone; the spool too.
        expect_no_slot_or_publication();
        // Inserts without an explicit id go on without collisions.
        db_->exec("INSERT INTO events (ts, customer_id) VALUES (now(), 1), (now(), 2)");
    }

    std::unique_ptr<test_database> db_;
    temp_dir spool_;
    int runs_ = 0;
};

}  // namespace

// With --verify: every key range compared under the load before the swap (no false alarm).
TEST_F(CutoverTest, NoWriteLostAcrossTheCutoverSimpleProtocol) {
    cut_over_under_load("simple", {"--verify"});
}

TEST_F(CutoverTest, NoWriteLostAcrossTheCutoverPreparedStatements) {
    cut_over_under_load("prepared");
}

TEST_F(CutoverTest, LockNotGrantedRetriesThenExits4WithTheSourceUntouched) {
    const auto before = source_ddl();
    // A long transaction holding a lock on the source, as a forgotten psql session would.
    child_process blocker({"psql", "-X", "-q", "-d", db_->dsn(), "-c",
                           "BEGIN; SELECT count(*) FROM events; SELECT pg_sleep(600);"},
                          spool_.path() + "-blocker.log");
    auto blocker_pid = first_value_within(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE "
        "'%pg_sleep(600)%' AND pid <> pg_backend_pid()");
    auto run = start_run({"--cutover-attempts", "3", "--lock-timeout", "50ms"});
    auto code = run->wait(300s);
    ASSERT_TRUE(code.has_value());
    EXPECT_EQ(*code, 4) << run->log();
    EXPECT_NE(run->log().find("pid " + std::to_string(blocker_pid)), std::string::npos)
        << run->log();
    EXPECT_EQ(relkind(*db_, "public.events"), "r");
    EXPECT_EQ(relkind(*db_, "public.events_new"), "p");
    EXPECT_EQ(source_ddl(), before);
    // Blockers are never terminated without --cutover-terminate-blockers-after.
    EXPECT_TRUE(blocker.running()) << run->log();
    EXPECT_EQ(run->log().find("terminating pid"), std::string::npos) << run->log();
    // With the blocker gone, the next run resumes and cuts over.
    blocker.signal(SIGKILL);
    blocker.wait(10s);
    db_->exec("SELECT pg_terminate_backend(" + std::to_string(blocker_pid) + ")");
    auto again = start_run();
    code = again->wait(300s);
    ASSERT_TRUE(code.has_value());
    EXPECT_EQ(*code, 0) << again->log();
    EXPECT_EQ(relkind(*db_, "public.events"), "p");
}

// --cutover-terminate-blockers-after: a session that has held the source for that long while
// the cutover's lock waited is terminated (and logged with its pid, user, application and
// query start); one that blocked for a shorter time is not.
TEST_F(CutoverTest, TerminateBlockersAfterEndsASessionThatBlockedThatLong) {
    child_process blocker({"psql", "-X", "-q", "-d", db_->dsn() + " application_name=stuck_report",
                           "-c", "BEGIN; SELECT count(*) FROM events; SELECT pg_sleep(600);"},
                          spool_.path() + "-blocker.log");
    auto blocker_pid = first_value_within(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND "
        "application_name = 'stuck_report'");
    ASSERT_GT(blocker_pid, 0);
    const auto start = std::chrono::steady_clock::now();
    auto run = start_run({"--cutover-attempts", "100", "--lock-timeout", "50ms",
                          "--cutover-terminate-blockers-after", "3s"});
    auto code = run->wait(300s);
    ASSERT_TRUE(code.has_value());
    EXPECT_EQ(*code, 0) << run->log();
    EXPECT_EQ(relkind(*db_, "public.events"), "p");
    const auto log = run->log();
    const auto line =
        log.find("cutover: terminating pid " + std::to_string(blocker_pid) + " (user ");
    ASSERT_NE(line, std::string::npos) << log;
    const auto text = log.substr(line, log.find('\n', line) - line);
    EXPECT_NE(text.find("application 'stuck_report'"), std::string::npos) << text;
    EXPECT_NE(text.find("query started 20"), std::string::npos) << text;
    // Not before it had blocked for the 3 s asked for.
    const auto blocked = text.find("blocked the cutover lock for ");
    ASSERT_NE(blocked, std::string::npos) << text;
    EXPECT_GE(std::stod(text.substr(blocked + 29)), 3.0) << text;
    EXPECT_GE(std::chrono::steady_clock::now() - start, 3s);
    auto exited = blocker.wait(10s);
    EXPECT_TRUE(exited.has_value()) << "the blocking session is still there";
    // This database's sessions only: the lanes4 variant of this test runs beside it.
    EXPECT_EQ(count("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND application_name = 'stuck_report'"),
              0);
}

// Relation OIDs are per database: a database copied from this one (CREATE DATABASE ...
// TEMPLATE) has `events` under the same OID, and a session holding it there neither blocks the
// cutover nor is ever terminated; only the blocker in this database is.
TEST_F(CutoverTest, TerminateBlockersLeavesOtherDatabasesAlone) {
    const std::string twin = "twin_" + std::to_string(::getpid());
    struct drop_database {
        std::string name;
        ~drop_database() {
            try {
                pg::connection admin(sandbox_dsn("postgres"), "partshift-test");
                admin.exec("DROP DATABASE IF EXISTS " + pg::escape_identifier(name) +
                           " WITH (FORCE)");
            } catch (const std::exception&) {
            }
        }
    } cleanup{twin};
    {
        pg::connection admin(sandbox_dsn("postgres"), "partshift-test");
        admin.exec("DROP DATABASE IF EXISTS " + pg::escape_identifier(twin) + " WITH (FORCE)");
        admin.exec("CREATE DATABASE " + pg::escape_identifier(twin) + " TEMPLATE " +
                   pg::escape_identifier(db_->name()));
    }
    auto twin_conn = app_connection(sandbox_dsn(twin));
    ASSERT_EQ(twin_conn.exec("SELECT 'events'::regclass::oid::bigint").get_int(0, 0),
              count("SELECT 'events'::regclass::oid::bigint"));
    child_process twin_holder(
        {"psql", "-X", "-q", "-d", sandbox_dsn(twin) + " application_name=twin_holder", "-c",
         "BEGIN; LOCK events IN ACCESS SHARE MODE; SELECT pg_sleep(600);"},
        spool_.path() + "-twin.log");
    child_process blocker({"psql", "-X", "-q", "-d", db_->dsn() + " application_name=stuck_here",
                           "-c", "BEGIN; SELECT count(*) FROM events; SELECT pg_sleep(600);"},
                          spool_.path() + "-blocker.log");
    // Both holders have their locks before the run starts (psql may take a while to start on
    // a busy machine: a fixed sleep was once too short).
    auto holding = [&](const std::string& app) {
        return twin_conn
                   .exec(
                       "SELECT pid FROM pg_locks JOIN pg_stat_activity USING (pid) WHERE "
                       "application_name = '" +
                       app + "' AND relation IS NOT NULL AND granted")
                   .rows() > 0;
    };
    for (int i = 0; i < 600 && !(holding("twin_holder") && holding("stuck_here")); ++i)
        std::this_thread::sleep_for(100ms);
    ASSERT_TRUE(holding("twin_holder") && holding("stuck_here"));
    const auto twin_pid = twin_conn
                              .exec(
                                  "SELECT pid FROM pg_stat_activity WHERE datname = "
                                  "current_database() AND application_name = 'twin_holder'")
                              .get_int(0, 0);
    auto run = start_run({"--cutover-attempts", "100", "--lock-timeout", "50ms",
                          "--cutover-terminate-blockers-after", "2s"});
    auto code = run->wait(300s);
    ASSERT_TRUE(code.has_value());
    EXPECT_EQ(*code, 0) << run->log();
    EXPECT_EQ(relkind(*db_, "public.events"), "p");
    EXPECT_NE(run->log().find("application 'stuck_here'"), std::string::npos) << run->log();
    EXPECT_EQ(run->log().find("pid " + std::to_string(twin_pid) + " "), std::string::npos)
        << "a session of another database was taken for a blocker\n"
        << run->log();
    EXPECT_TRUE(twin_holder.running()) << "the other database's session was terminated";
    twin_holder.signal(SIGKILL);
    twin_holder.wait(10s);
}

TEST_F(CutoverTest, HoldCapExceededRollsBackAndRetries) {
    auto run = start_run({"--cutover-attempts", "2", "--max-lock-hold", "200ms"},
                         {"PARTSHIFT_TEST_SLOW_TAIL_MS=500"});
    auto code = run->wait(300s);
    ASSERT_TRUE(code.has_value());
    EXPECT_EQ(*code, 4) << run->log();
    EXPECT_NE(run->log().find("cutover attempt 2/2"), std::string::npos) << run->log();
    EXPECT_NE(run->log().find("--max-lock-hold"), std::string::npos) << run->log();
    EXPECT_EQ(relkind(*db_, "public.events"), "r");
    auto again = start_run();
    code = again->wait(300s);
    ASSERT_TRUE(code.has_value());
    EXPECT_EQ(*code, 0) << again->log();
    EXPECT_EQ(relkind(*db_, "public.events"), "p");
}

TEST_F(CutoverTest, KillDuringTheSwapBeforeCommitThenRunAgain) {
    auto load = start_ledger_load("prepared", 40);
    auto run = start_run({"--max-lock-hold", "60s", "--max-lag", "2s"},
                         {"PARTSHIFT_TEST_PAUSE_BEFORE_COMMIT_MS=20000"});
    // Wait until the swap is done but not committed: the cutover session sits idle in its
    // transaction holding the lock.
    auto deadline = std::chrono::steady_clock::now() + 240s;
    while (count("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND "
                 "application_name = 'partshift-cutover' AND state = 'idle in transaction'") == 0) {
        ASSERT_LT(std::chrono::steady_clock::now(), deadline) << run->log();
        ASSERT_TRUE(run->running()) << run->log();
        std::this_thread::sleep_for(50ms);
    }
    run->signal(SIGKILL);
    run->wait(10s);
    // The server rolls the swap back when the session goes.
    deadline = std::chrono::steady_clock::now() + 30s;
    while (count("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND "
                 "application_name = 'partshift-cutover'") > 0)
        ASSERT_LT(std::chrono::steady_clock::now(), deadline);
    EXPECT_EQ(relkind(*db_, "public.events"), "r");
    EXPECT_EQ(relkind(*db_, "public.events_new"), "p");
    auto again = start_run({"--max-lag", "2s"});
    auto code = again->wait(300s);
    ASSERT_TRUE(code.has_value());
    EXPECT_EQ(*code, 0) << again->log();
    expect_pgbench_clean(*load);
    EXPECT_EQ(relkind(*db_, "public.events"), "p");
    expect_ledger_holds();
}

TEST_F(CutoverTest, KillRightAfterTheCommitThenRunAgainFinishes) {
    // An inbound foreign key the swap re-points NOT VALID; its validation must survive the kill.
    db_->exec(
        "ALTER TABLE events ADD CONSTRAINT events_id_ts UNIQUE (id, ts);"
        "CREATE TABLE refs (n serial PRIMARY KEY, event_id bigint, event_ts timestamptz, "
        "CONSTRAINT refs_event_fk FOREIGN KEY (event_id, event_ts) REFERENCES events (id, ts));"
        "INSERT INTO refs (event_id, event_ts) SELECT id, ts FROM events WHERE id <= 10;");
    auto run = start_run({}, {"PARTSHIFT_TEST_PAUSE_AFTER_COMMIT_MS=20000"});
    wait_for([](const auto& s) { return s.phase() == "done"; }, 240s, run.get(), "phase done");
    run->signal(SIGKILL);
    run->wait(10s);
    EXPECT_EQ(relkind(*db_, "public.events"), "p");
    EXPECT_EQ(count("SELECT count(*) FROM pg_replication_slots WHERE database = "
                    "current_database()"),
              1);
    // The rerun learns from the job row that the swap committed and finishes the rest.
    auto again = start_run();
    auto code = again->wait(120s);
    ASSERT_TRUE(code.has_value());
    EXPECT_EQ(*code, 0) << again->log();
    expect_no_slot_or_publication();
    EXPECT_EQ(relkind(*db_, "public.events"), "p");
    EXPECT_EQ(relkind(*db_, "public.events_old"), "r");
    auto conn = db_->connect();
    EXPECT_EQ(fingerprint(conn, "public.events"), fingerprint(conn, "public.events_old"));
    EXPECT_EQ(count("SELECT count(*) FROM pg_constraint WHERE conname = 'refs_event_fk' AND "
                    "confrelid = 'public.events'::regclass AND convalidated"),
              1)
        << again->log();
    // And once more: nothing left to do, still exit 0.
    auto args = run_args();
    auto third = run_partshift(std::vector<std::string>(args.begin() + 1, args.end()));
    EXPECT_EQ(third.exit_code, 0) << third.err;
}

// The swap commits without waiting for its WAL to reach disk (the lock is not held through an
// fsync), then waits for it. An immediate server stop in that wait either keeps the swap (its WAL
// was written) or undoes it with the job row; either way the same run reconnects and ends with
// the table partitioned, equal to the original, and nothing left behind. (RUN_SERIAL: restarts
// the shared server.)
TEST_F(CutoverTest, ServerRestartBeforeTheSwapIsOnDiskStillCutsOver) {
    auto run = start_run({}, {"PARTSHIFT_TEST_PAUSE_BEFORE_DURABLE_MS=3000"});
    wait_for([](const auto& s) { return s.phase() == "done"; }, 240s, run.get(), "phase done");
    restart_sandbox("immediate");
    auto code = run->wait(240s);
    ASSERT_TRUE(code.has_value()) << run->log();
    EXPECT_EQ(*code, 0) << run->log();
    EXPECT_NE(run->log().find("lost the server"), std::string::npos) << run->log();
    EXPECT_EQ(relkind(*db_, "public.events"), "p");
    EXPECT_EQ(relkind(*db_, "public.events_old"), "r");
    auto conn = db_->connect();
    EXPECT_EQ(fingerprint(conn, "public.events"), fingerprint(conn, "public.events_old"));
    expect_no_slot_or_publication();
}

TEST_F(CutoverTest, PostponedUntilPartshiftCutoverFromAnotherShell) {
    // Without a running process there is nobody to cut over.
    auto early = run_partshift({"cutover", "--dsn", db_->dsn(), "--job", "events"});
    EXPECT_NE(early.exit_code, 0);
    auto run = start_run({"--postpone-cutover"});
    wait_for([](const auto& s) { return s.cutover_state() == "waiting for cutover"; }, 240s,
             run.get(), "waiting for cutover");
    std::this_thread::sleep_for(2s);
    EXPECT_EQ(relkind(*db_, "public.events"), "r") << "cut over without being asked";
    auto cut = run_partshift({"cutover", "--dsn", db_->dsn(), "--job", "events"});
    EXPECT_EQ(cut.exit_code, 0) << cut.err;
    EXPECT_NE(cut.out.find("is now partitioned"), std::string::npos) << cut.out;
    auto code = run->wait(60s);
    ASSERT_TRUE(code.has_value());
    EXPECT_EQ(*code, 0) << run->log();
    EXPECT_EQ(relkind(*db_, "public.events"), "p");
    auto conn = db_->connect();
    EXPECT_EQ(fingerprint(conn, "public.events"), fingerprint(conn, "public.events_old"));
    // verify after the cutover compares the partitioned table with the kept original.
    auto verify = run_partshift({"verify", "--dsn", db_->dsn(), "--job", "events"});
    EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
}

TEST_F(CutoverTest, NoRunningProcessMeansCutoverExits1) {
    auto run = start_run({"--dry-run", "--dry-run-for", "1s"});
    ASSERT_EQ(run->wait(240s).value_or(-1), 0) << run->log();
    auto cut = run_partshift({"cutover", "--dsn", db_->dsn(), "--job", "events"});
    EXPECT_EQ(cut.exit_code, 1) << cut.err;
    EXPECT_TRUE(one_line(cut.err)) << cut.err;
    EXPECT_NE(cut.err.find("no run of job events is active"), std::string::npos) << cut.err;
}

// Issue 8 item 1: a second run of a running job exits 1 at once and touches nothing.
TEST_F(CutoverTest, ASecondRunOfARunningJobExits1AndTouchesNothing) {
    auto run = start_run({"--dry-run"});
    wait_for([](const auto& s) { return s.phase() == "follow"; }, 240s, run.get(), "follow");
    auto applied_before = status()->applied_lsn();
    auto args = run_args({"--dry-run"});
    auto second = run_partshift(std::vector<std::string>(args.begin() + 1, args.end()), 60s);
    EXPECT_EQ(second.exit_code, 1) << second.err;
    EXPECT_TRUE(one_line(second.err)) << second.err;
    EXPECT_NE(second.err.find("job events is running (pid " + std::to_string(run->pid())),
              std::string::npos)
        << second.err;
    EXPECT_EQ(second.err.find("resumes after"), std::string::npos) << second.err;
    auto abort = run_partshift({"abort", "--dsn", db_->dsn(), "--job", "events"});
    EXPECT_EQ(abort.exit_code, 1) << abort.err;
    EXPECT_TRUE(run->running()) << run->log();
    // The first run carries on.
    db_->exec("UPDATE events SET amount = amount + 1 WHERE id <= 100");
    wait_for([&](const auto& s) { return s.applied_lsn() != applied_before && s.lag_bytes() == 0; },
             120s, run.get(), "the first run applying");
    run->signal(SIGTERM);
    EXPECT_EQ(run->wait(60s).value_or(-1), 0) << run->log();
}
