// run --partman on the sandbox with Debian's pg_partman 4.x: without the extension the run is
// refused at preflight (exit 3, the fix named, nothing created); with it, the cutover leaves a
// part_config row partman's maintenance works from: run_maintenance() creates the next
// partitions after partshift's, and rows for them land there, not in the default partition.
#include <gtest/gtest.h>

#include <thread>

#include "support/job_driver.hpp"

using namespace partshift;
using namespace partshift::testing;
using namespace std::chrono_literals;

namespace {

class PartmanTest : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
        db_ = std::make_unique<test_database>();
        ASSERT_TRUE(load_events_table(*db_, 3000));
    }

    std::vector<std::string> run_args() {
        return {PARTSHIFT_BINARY, "run",   "--dsn",       db_->dsn(),    "--table",    "events",
                "--partition-by", "range", "--key",       "ts",          "--interval", "1 month",
                "--premake",      "2",     "--spool-dir", spool_.path(), "--partman"};
    }

    int64_t count(const std::string& sql) {
        auto conn = db_->connect();
        return conn.exec(sql).get_int(0, 0);
    }
    std::string text(const std::string& sql) {
        auto conn = db_->connect();
        return conn.exec(sql).get(0, 0);
    }

    std::unique_ptr<test_database> db_;
    temp_dir spool_;
};

TEST_F(PartmanTest, WithoutTheExtensionRunIsRefusedAtPreflight) {
    auto args = run_args();
    args.erase(args.begin());
    auto r = run_partshift(args);
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_TRUE(one_line(r.err)) << r.err;
    EXPECT_NE(r.err.find("CREATE EXTENSION pg_partman"), std::string::npos) << r.err;
    EXPECT_EQ(count("SELECT count(*) FROM pg_namespace WHERE nspname = 'partshift'"), 0);
    EXPECT_EQ(
        count("SELECT count(*) FROM pg_replication_slots WHERE database = current_database()"), 0);
    // plan --partman shows the same verdict, with the plan.
    auto plan = run_partshift({"plan", "--dsn", db_->dsn(), "--table", "events", "--partition-by",
                               "range", "--key", "ts", "--interval", "1 month", "--partman"});
    EXPECT_EQ(plan.exit_code, 3) << plan.err;
    EXPECT_NE(plan.out.find("PREFLIGHT FAILED"), std::string::npos) << plan.out;
    // A spec partman cannot maintain is bad input.
    auto list = run_partshift({"run", "--dsn", db_->dsn(), "--table", "events", "--partition-by",
                               "list", "--key", "status", "--partman"});
    EXPECT_EQ(list.exit_code, 2) << list.err;
    // pg_partman must not maintain a table a revert window may swap away.
    auto window = run_args();
    window.erase(window.begin());
    window.insert(window.end(), {"--revert-window", "1h"});
    auto both = run_partshift(window);
    EXPECT_EQ(both.exit_code, 2) << both.err;
    EXPECT_NE(both.err.find("--partman goes without --revert-window"), std::string::npos)
        << both.err;
}

TEST_F(PartmanTest, CutoverRegistersTheTableAndMaintenanceCreatesTheNextPartitions) {
    db_->exec("CREATE SCHEMA partman; CREATE EXTENSION pg_partman SCHEMA partman");
    child_process run(run_args(), spool_.path() + "-run.log");
    auto code = run.wait(300s);
    ASSERT_TRUE(code.has_value()) << run.log();
    ASSERT_EQ(*code, 0) << run.log();
    EXPECT_NE(run.log().find("partman: registered public.events with pg_partman 4."),
              std::string::npos)
        << run.log();

    // A working part_config row: the table, its key, the interval and premake of the job.
    EXPECT_EQ(text("SELECT format('%s|%s|%s|%s|%s', parent_table, control, partition_interval, "
                   "premake, partition_type) FROM partman.part_config"),
              "public.events|ts|1 mon|2|native");
    const auto partitions = [&] {
        return count(
            "SELECT count(*) FROM pg_inherits WHERE inhparent = 'public.events'::regclass");
    };
    const auto last_upper = [&] {
        return text(
            "SELECT max((regexp_match(pg_get_expr(c.relpartbound, c.oid), "
            "'TO \\(''(.*)''\\)'))[1]::timestamptz)::text FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = "
            "'public.events'::regclass");
    };
    const auto before = partitions();
    const auto upper_before = last_upper();

    // Maintenance creates the next partitions (two more months ahead asked for), after
    // partshift's own, without overlapping them.
    db_->exec(
        "UPDATE partman.part_config SET premake = premake + 2 WHERE parent_table = "
        "'public.events'");
    db_->exec("SELECT partman.run_maintenance('public.events')");
    EXPECT_GT(partitions(), before);
    const auto upper_after = last_upper();
    EXPECT_GT(count("SELECT ('" + upper_after + "'::timestamptz > '" + upper_before +
                    "'::timestamptz)::int"),
              0)
        << upper_before << " -> " << upper_after;
    // A row for the newest month goes to a partition of its own, not to the default.
    db_->exec("INSERT INTO events (ts, customer_id) VALUES ('" + upper_after +
              "'::timestamptz - interval '1 day', 1)");
    EXPECT_NE(text("SELECT tableoid::regclass::text FROM events ORDER BY ts DESC LIMIT 1"),
              "events_default");
    EXPECT_EQ(count("SELECT count(*) FROM events_default"), 0);

    // Running the same command again changes nothing (already registered).
    auto args = run_args();
    args.erase(args.begin());
    auto again = run_partshift(args);
    EXPECT_EQ(again.exit_code, 0) << again.err;
    EXPECT_EQ(count("SELECT count(*) FROM partman.part_config"), 1);
}

// Without --partman: plan --next-partitions N prints the statements for the N months after the
// last partition, with the job's interval; they run (twice, harmlessly) and take new rows.
TEST_F(PartmanTest, NextPartitionsPrintsRunnableStatementsAfterTheLastPartition) {
    auto args = run_args();
    args.pop_back();  // no --partman
    child_process run(args, spool_.path() + "-run.log");
    auto code = run.wait(300s);
    ASSERT_TRUE(code.has_value()) << run.log();
    ASSERT_EQ(*code, 0) << run.log();
    const auto partitions = [&] {
        return count(
            "SELECT count(*) FROM pg_inherits WHERE inhparent = 'public.events'::regclass");
    };
    const auto before = partitions();
    const auto last_upper = text(
        "SELECT max((regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \\(''(.*)''\\)'))[1]"
        "::timestamptz)::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'public.events'::regclass");
    auto plan =
        run_partshift({"plan", "--dsn", db_->dsn(), "--table", "events", "--next-partitions", "2"});
    ASSERT_EQ(plan.exit_code, 0) << plan.err;
    size_t creates = 0;
    for (size_t at = 0; (at = plan.out.find("CREATE TABLE IF NOT EXISTS", at)) != std::string::npos;
         ++at)
        ++creates;
    EXPECT_EQ(creates, 2u) << plan.out;
    ASSERT_EQ(run_psql(db_->dsn(), plan.out).exit_code, 0) << plan.out;
    EXPECT_EQ(partitions(), before + 2);
    ASSERT_EQ(run_psql(db_->dsn(), plan.out).exit_code, 0) << "not safe to run twice";
    EXPECT_EQ(partitions(), before + 2);
    // The first new month starts where the last partition ended.
    db_->exec("INSERT INTO events (ts, customer_id) VALUES ('" + last_upper + "'::timestamptz, 1)");
    EXPECT_EQ(count("SELECT count(*) FROM events WHERE ts = '" + last_upper + "'::timestamptz"), 1);
    // Not a RANGE-partitioned table: bad input.
    auto old = run_partshift({"plan", "--dsn", db_->dsn(), "--table", "events_old",
                              "--next-partitions", "2", "--interval", "1 month"});
    EXPECT_EQ(old.exit_code, 2) << old.err;
    EXPECT_TRUE(one_line(old.err)) << old.err;
}

}  // namespace
