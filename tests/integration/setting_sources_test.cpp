// Each setting in effect and where it came from (issue 21 item 2): a run with a flag and a
// `partshift set` during it show both in `status` with their sources; a rerun without the
// flag keeps the earlier values, says so in its log, and status says "kept from an earlier
// run". The job list (status without --job) shows them too.
#include <gtest/gtest.h>

#include <csignal>

#include "support/job_driver.hpp"

using namespace partshift::testing;
using namespace std::chrono_literals;

namespace {

TEST(SettingSources, StatusShowsEachSettingAndWhereItCameFrom) {
    if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
    test_database db;
    ASSERT_TRUE(load_events_table(db, 5000));
    temp_dir spool;
    std::vector<std::string> args{PARTSHIFT_BINARY, "run",        "--dsn",          db.dsn(),
                                  "--table",        "events",     "--partition-by", "range",
                                  "--key",          "ts",         "--interval",     "1 month",
                                  "--spool-dir",    spool.path(), "--dry-run"};
    auto first_args = args;
    for (const char* a : {"--max-copy-rate", "100000", "--max-lock-hold", "3s"})
        first_args.push_back(a);
    auto run = start_with_env({}, first_args, spool.path() + "-run1.log");
    wait_for_status(
        db.dsn(), "events", [](const auto& s) { return s.phase() == "follow"; }, 180s, run.get(),
        "the first run in follow");
    auto set = run_partshift({"set", "--dsn", db.dsn(), "--job", "events", "--copy-workers", "3"});
    ASSERT_EQ(set.exit_code, 0) << set.err;

    auto status = job_status(db.dsn(), "events");
    ASSERT_TRUE(status);
    const auto* rate = find_setting(*status, "max copy rate");
    ASSERT_TRUE(rate) << status->DebugString();
    EXPECT_EQ(rate->source(), "command line");
    EXPECT_EQ(rate->value(), "100,000 rows/s");
    EXPECT_FALSE(rate->at().empty());
    const auto* workers = find_setting(*status, "copy workers");
    ASSERT_TRUE(workers);
    EXPECT_EQ(workers->source(), "set");
    EXPECT_EQ(workers->value(), "3");
    EXPECT_FALSE(workers->at().empty());
    const auto* lag = find_setting(*status, "max lag");
    ASSERT_TRUE(lag);
    EXPECT_EQ(lag->source(), "default");
    const auto* hold = find_setting(*status, "max lock hold");
    ASSERT_TRUE(hold);
    EXPECT_EQ(hold->source(), "command line");
    EXPECT_EQ(hold->value(), "3.0 s");
    auto text = run_partshift({"status", "--dsn", db.dsn(), "--job", "events"});
    EXPECT_NE(text.out.find("setting      copy workers 3 (set at "), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("setting      max copy rate 100,000 rows/s (command line)"),
              std::string::npos)
        << text.out;
    // The job list (no --job): a line of the settings not at their default under the job's
    // row; in JSON each job's object has the whole settings array.
    auto list = run_partshift({"status", "--dsn", db.dsn()});
    ASSERT_EQ(list.exit_code, 0) << list.err;
    EXPECT_NE(list.out.find("\n  settings: copy workers 3 (set), max copy rate 100,000 rows/s "
                            "(command line), max lock hold 3.0 s (command line)\n"),
              std::string::npos)
        << list.out;
    EXPECT_EQ(list.out.find("max lag"), std::string::npos) << list.out;
    auto list_json = run_partshift({"status", "--dsn", db.dsn(), "--json"});
    ASSERT_EQ(list_json.exit_code, 0) << list_json.err;
    EXPECT_NE(list_json.out.find(
                  R"("settings":[{"name":"copy workers","value":"3","source":"set","at":")"),
              std::string::npos)
        << list_json.out;
    EXPECT_NE(list_json.out.find(R"({"name":"max lag","value":"1.0 s","source":"default")"),
              std::string::npos)
        << list_json.out;

    run->signal(SIGTERM);
    auto code = run->wait(120s);
    ASSERT_TRUE(code.has_value());
    ASSERT_EQ(*code, 0) << run->log();

    // The rerun gives neither flag: it keeps both, says so, and status says where from.
    auto rerun_args = args;
    for (const char* a : {"--dry-run-for", "1s"}) rerun_args.push_back(a);
    auto rerun = run_command(rerun_args);
    ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
    EXPECT_NE(rerun.err.find("max copy rate 100,000 rows/s: kept from an earlier run (command "
                             "line); --max-copy-rate on the command line"),
              std::string::npos)
        << rerun.err;
    EXPECT_NE(rerun.err.find("copy workers 3: kept from an earlier run (set at "),
              std::string::npos)
        << rerun.err;
    status = job_status(db.dsn(), "events");
    ASSERT_TRUE(status);
    rate = find_setting(*status, "max copy rate");
    ASSERT_TRUE(rate);
    EXPECT_EQ(rate->source(), "kept from an earlier run");
    EXPECT_EQ(rate->kept_from(), "command line");
    workers = find_setting(*status, "copy workers");
    ASSERT_TRUE(workers);
    EXPECT_EQ(workers->source(), "kept from an earlier run");
    EXPECT_EQ(workers->kept_from(), "set");
    hold = find_setting(*status, "max lock hold");
    ASSERT_TRUE(hold);
    EXPECT_EQ(hold->source(), "default") << "a run-only setting is not kept";
    text = run_partshift({"status", "--dsn", db.dsn(), "--job", "events"});
    EXPECT_NE(text.out.find("(kept from an earlier run (command line))"), std::string::npos)
        << text.out;
}

}  // namespace
