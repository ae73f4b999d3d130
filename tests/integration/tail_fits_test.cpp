// Issue 22 item 4: `run --cutover-when tail-fits` under an unthrottled load. The lag gate is
// set where it cannot open while anything writes (--max-lag 1ms: under any write load some change
// waits longer), so only the tail estimate can open it: the cutover goes while pgbench (-M
// prepared, no rate limit) writes as fast as it can, with 0 failed client transactions, every
// committed write in the partitioned table, and the table equal, column by column, to what the
// writes made of it. And a tail that drains slower under the lock than estimated (a test hook slows
// the applier once the cutover starts) rolls back within --max-lock-hold, says why, and leaves the
// source untouched; the next attempt waits until the tail fits at the re-measured pace.
#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <thread>

#include "status.pb.h"
#include "support/job_driver.hpp"
#include "support/ledger_load.hpp"

using namespace partshift;
using namespace partshift::testing;
using namespace std::chrono_literals;

namespace {

class TailFitsTest : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
        db_ = std::make_unique<test_database>();
        ASSERT_TRUE(load_events_table(*db_, 20000));
        create_ledger(*db_);
        // Every write's resulting row, by a trigger the swap carries over to the partitioned
        // table: with the rows as they were before, the table every write should have made.
        db_->exec(
            "CREATE TABLE initial_rows AS SELECT * FROM events;"
            "CREATE TABLE audit (n bigserial PRIMARY KEY, id bigint NOT NULL, r jsonb);"
            "CREATE FUNCTION audit_events() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "IF TG_OP = 'DELETE' THEN INSERT INTO audit (id, r) VALUES (OLD.id, NULL); "
            "ELSE INSERT INTO audit (id, r) VALUES (NEW.id, to_jsonb(NEW)); END IF; "
            "RETURN NULL; END $$;"
            "CREATE TRIGGER events_audit AFTER INSERT OR UPDATE OR DELETE ON events "
            "FOR EACH ROW EXECUTE FUNCTION audit_events();");
    }

    std::unique_ptr<child_process> start_run(const std::vector<std::string>& extra,
                                             const std::vector<std::string>& env) {
        std::vector<std::string> args{
            PARTSHIFT_BINARY, "run",   "--dsn",       db_->dsn(),    "--table",        "events",
            "--partition-by", "range", "--key",       "ts",          "--interval",     "1 month",
            "--premake",      "3",     "--spool-dir", spool_.path(), "--cutover-when", "tail-fits",
            "--max-lag",      "1ms"};
        args.insert(args.end(), extra.begin(), extra.end());
        return start_with_env(env, args, spool_.path() + "-run.log");
    }

    int64_t count(const std::string& sql) {
        auto conn = db_->connect();
        return conn.exec(sql).get_int(0, 0);
    }

    // expect_table_is_what_the_writes_made: `table` equals the initial rows with each written
    // row's last version (deleted rows gone), every column compared, both ways.
    void expect_table_is_what_the_writes_made(const std::string& table) {
        const std::string expected =
            "(SELECT * FROM initial_rows i WHERE NOT EXISTS (SELECT 1 FROM audit a WHERE a.id = "
            "i.id) UNION ALL SELECT (jsonb_populate_record(NULL::initial_rows, l.r)).* FROM "
            "(SELECT DISTINCT ON (id) id, r FROM audit ORDER BY id, n DESC) l WHERE l.r IS NOT "
            "NULL)";
        const std::string actual = "(SELECT * FROM " + table + ")";
        EXPECT_GT(count("SELECT count(*) FROM audit"), 1000);
        EXPECT_EQ(count("SELECT count(*) FROM " + table),
                  count("SELECT count(*) FROM " + expected + " x"));
        EXPECT_EQ(count("SELECT count(*) FROM (" + expected + " EXCEPT ALL " + actual + ") d"), 0)
            << "rows the writes made are missing or different in " << table;
        EXPECT_EQ(count("SELECT count(*) FROM (" + actual + " EXCEPT ALL " + expected + ") d"), 0)
            << "rows the writes did not make are in " << table;
    }

    std::unique_ptr<test_database> db_;
    temp_dir spool_;
};

}  // namespace

TEST_F(TailFitsTest, CutsOverUnderAnUnthrottledLoadWhenTheTailFits) {
    auto load = start_ledger_load(*db_, "prepared", 75, spool_.path() + "-pgbench.log", 0);
    auto run = start_run({"--max-lock-hold", "6s"}, {});
    auto code = run->wait(300s);
    ASSERT_TRUE(code.has_value()) << run->log();
    ASSERT_EQ(*code, 0) << run->log();
    EXPECT_TRUE(load->running()) << "the load should run across the cutover";
    const auto log = run->log();
    // Opened by the tail estimate, the lag being over --max-lag.
    EXPECT_NE(log.find("is over --max-lag (1 ms), but the tail fits (--cutover-when tail-fits)"),
              std::string::npos)
        << log;
    expect_pgbench_clean(*load);
    EXPECT_EQ(relkind(*db_, "public.events"), "p");
    EXPECT_EQ(relkind(*db_, "public.events_old"), "r");
    expect_ledger_holds(*db_);
    expect_table_is_what_the_writes_made("events");
    auto s = job_status(db_->dsn(), "events");
    ASSERT_TRUE(s);
    EXPECT_EQ(s->phase(), "done");
    EXPECT_GT(s->lock_hold_ms(), 0);
    EXPECT_LT(s->lock_hold_ms(), 6000);
    const auto held = log.find("lock held");
    if (held != std::string::npos)
        std::printf("partshift: %s\n", log.substr(held, log.find('\n', held) - held).c_str());
}

TEST_F(TailFitsTest, ATailThatDoesNotDrainInTimeRollsBackWithinTheCapAndSaysWhy) {
    auto load = start_ledger_load(*db_, "prepared", 60, spool_.path() + "-pgbench.log", 0);
    // Once the cutover starts, each source transaction takes 100 ms more to apply: no tail of
    // a busy table drains within the hold.
    auto run = start_run({"--max-lock-hold", "6s", "--cutover-attempts", "3"},
                         {"PARTSHIFT_TEST_APPLY_DELAY_IN_CUTOVER_MS=100"});
    const auto deadline = std::chrono::steady_clock::now() + 240s;
    while (run->log().find("rolled back, source untouched") == std::string::npos &&
           run->running() && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(200ms);
    const auto log = run->log();
    ASSERT_NE(log.find("rolled back, source untouched"), std::string::npos) << log;
    EXPECT_NE(log.find("cutover attempt 1/3: the tail was not applied within --max-lock-hold "
                       "(6000 ms): "),
              std::string::npos)
        << log;
    EXPECT_NE(log.find(" of WAL up to the fence applied (the tail was estimated at ~"),
              std::string::npos)
        << log;
    EXPECT_NE(log.find("the next attempt waits until the tail fits at the pace measured since"),
              std::string::npos)
        << log;
    // The source is as it was, and takes writes; the run stops on request.
    EXPECT_EQ(relkind(*db_, "public.events"), "r");
    EXPECT_EQ(relkind(*db_, "public.events_old"), "-");
    run->signal(SIGTERM);
    EXPECT_EQ(run->wait(120s).value_or(-1), 0) << run->log();
    expect_pgbench_clean(*load);
    EXPECT_EQ(relkind(*db_, "public.events"), "r");
    expect_ledger_holds(*db_);
    expect_table_is_what_the_writes_made("events");
}
