// Issue 22 (the clients pay right after the catch-up): run --catch-up-pace holds a catch-up
// to its share of the time. The applier is slowed by a test hook (2 ms per source transaction,
// ~500 a second unpaced) so that a backlog takes seconds to apply and the monitor, which judges
// once a second, sees the lag over --max-lag. Paced, the status says so, the backlog takes at
// least what the pace allows, the pace ends once caught up, and the target equals the source.
// A pace the load outruns is lifted, and the job catches up anyway. `partshift set
// --catch-up-pace` paces a running catch-up and ends the pace, and a later run keeps it.
#include <gtest/gtest.h>

#include <thread>

#include "status.pb.h"
#include "support/job_driver.hpp"
#include "support/ledger_load.hpp"

using namespace partshift;
using namespace partshift::testing;
using namespace std::chrono_literals;

namespace {

class CatchUpPaceTest : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
        db_ = std::make_unique<test_database>();
        ASSERT_TRUE(load_events_table(*db_, 20000));
        create_ledger(*db_);
    }

    std::unique_ptr<child_process> start_dry_run(const std::string& delay_ms,
                                                 const std::string& pace,
                                                 const std::string& log_name) {
        return std::make_unique<child_process>(
            std::vector<std::string>{"env",
                                     "PARTSHIFT_TEST_APPLY_DELAY_MS=" + delay_ms,
                                     PARTSHIFT_BINARY,
                                     "run",
                                     "--dsn",
                                     db_->dsn(),
                                     "--table",
                                     "events",
                                     "--partition-by",
                                     "range",
                                     "--key",
                                     "ts",
                                     "--interval",
                                     "1 month",
                                     "--premake",
                                     "3",
                                     "--spool-dir",
                                     spool_.path(),
                                     "--dry-run",
                                     "--catch-up-pace",
                                     pace},
            spool_.path() + "-" + log_name + ".log");
    }

    // backlog: the job followed to the present, stopped, and `seconds` of the ledger load at
    // `rate` transactions/s written while nothing follows.
    void build_backlog(int seconds, int rate) {
        auto first = start_dry_run("0", "100", "first");
        wait_caught_up(db_->dsn(), "events", first.get());
        stop_run(*first);
        auto load =
            start_ledger_load(*db_, "prepared", seconds, spool_.path() + "-backlog.log", rate);
        expect_pgbench_clean(*load);
    }

    std::unique_ptr<test_database> db_;
    temp_dir spool_;
};

}  // namespace

TEST_F(CatchUpPaceTest, ABacklogIsAppliedAtThePaceWhichEndsOnceCaughtUp) {
    build_backlog(10, 300);  // ~3,000 source transactions
    const auto started = std::chrono::steady_clock::now();
    auto run = start_dry_run("2", "20%", "paced");
    auto paced = wait_for_status(
        db_->dsn(), "events", [](const auto& s) { return s.catch_up_paced(); }, 60s, run.get(),
        "status says the catch-up is paced");
    auto text = run_partshift({"status", "--dsn", db_->dsn(), "--job", "events"});
    EXPECT_NE(text.out.find("(paced: --catch-up-pace)"), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("setting      catch-up pace 20% (command line)"), std::string::npos)
        << text.out;
    wait_caught_up(db_->dsn(), "events", run.get());
    const auto took = std::chrono::steady_clock::now() - started;
    EXPECT_FALSE(job_status(db_->dsn(), "events")->catch_up_paced());
    const auto log = run->log();
    EXPECT_NE(log.find("catch-up paced: the lag (not measured yet)"), std::string::npos) << log;
    // The lag in bytes counts every database's WAL: tests writing beside this one on the shared
    // server can outrun the paced applier's ~100 kB/s, and the pace is then lifted, as it
    // must be when the lag does not shrink. Otherwise it ends once caught up, and its length
    // shows: unpaced, 3,000 transactions at 2 ms take 6 s; paced at 20% of each 50 ms, the
    // applier starts transactions in 10 ms of it, at most ~6 per slice, ~120 a second, so the
    // backlog takes at least 12 s (a slower machine only makes it longer).
    if (log.find("catch-up pace lifted") == std::string::npos) {
        EXPECT_NE(log.find("catch-up pace ended"), std::string::npos) << log;
        EXPECT_GE(took, 12s) << log;
    }
    auto conn = db_->connect();
    EXPECT_EQ(fingerprint(conn, "public.events"), fingerprint(conn, "public.events_new"));
    stop_run(*run);
}

TEST_F(CatchUpPaceTest, APaceTheLoadOutrunsIsLiftedAndTheJobCatchesUp) {
    build_backlog(5, 300);
    // 6 ms per transaction: ~160 a second unpaced, ~25 at 10%, against a load of 100.
    auto run = start_dry_run("6", "10", "outrun");
    auto load = start_ledger_load(*db_, "prepared", 40, spool_.path() + "-outrun-load.log", 100);
    wait_for_status(
        db_->dsn(), "events", [](const auto& s) { return s.catch_up_paced(); }, 60s, run.get(),
        "status says the catch-up is paced");
    wait_for_status(
        db_->dsn(), "events",
        [&](const auto& s) {
            return !s.catch_up_paced() &&
                   run->log().find("catch-up pace lifted") != std::string::npos;
        },
        90s, run.get(), "the pace is lifted");
    expect_pgbench_clean(*load);
    wait_caught_up(db_->dsn(), "events", run.get());
    const auto log = run->log();
    EXPECT_NE(log.find("does not shrink (the source writes"), std::string::npos) << log;
    auto conn = db_->connect();
    EXPECT_EQ(fingerprint(conn, "public.events"), fingerprint(conn, "public.events_new"));
    stop_run(*run);
}

TEST_F(CatchUpPaceTest, SetPacesTheRunningCatchUpAndALaterRunKeepsIt) {
    build_backlog(10, 300);  // ~3,000 source transactions: ~12 s at 4 ms each, unpaced
    auto run = start_dry_run("4", "100", "set");
    // After the run settled its controls (its --catch-up-pace 100 replaces the row's value at
    // its start), before the backlog is applied.
    for (int i = 0; i < 600 && run->log().find("applier: job events resumes") == std::string::npos;
         ++i)
        std::this_thread::sleep_for(100ms);
    ASSERT_NE(run->log().find("applier: job events resumes"), std::string::npos) << run->log();
    auto set =
        run_partshift({"set", "--dsn", db_->dsn(), "--job", "events", "--catch-up-pace", "20%"});
    ASSERT_EQ(set.exit_code, 0) << set.err;
    EXPECT_NE(set.err.find("catch-up pace 20%"), std::string::npos) << set.err;
    auto paced = wait_for_status(
        db_->dsn(), "events", [](const auto& s) { return s.catch_up_paced(); }, 60s, run.get(),
        "the running catch-up is paced after partshift set");
    EXPECT_EQ(paced.catch_up_pace(), 20);
    EXPECT_NE(run->log().find("catch-up pace now 20% ('partshift set')"), std::string::npos)
        << run->log();
    // Back to full speed: the pace ends within a second or two, and the job catches up.
    set = run_partshift({"set", "--dsn", db_->dsn(), "--job", "events", "--catch-up-pace", "100"});
    ASSERT_EQ(set.exit_code, 0) << set.err;
    wait_for_status(
        db_->dsn(), "events", [](const auto& s) { return !s.catch_up_paced(); }, 30s, run.get(),
        "the pace ends at 100%");
    wait_caught_up(db_->dsn(), "events", run.get());
    const auto log = run->log();
    EXPECT_NE(log.find("catch-up pace now 100% ('partshift set'): catch-ups run at full speed"),
              std::string::npos)
        << log;
    EXPECT_NE(log.find("catch-up pace ended"), std::string::npos) << log;
    auto status = job_status(db_->dsn(), "events");
    ASSERT_TRUE(status);
    const auto* pace = find_setting(*status, "catch-up pace");
    EXPECT_TRUE(pace) << status->DebugString();
    if (pace) {
        EXPECT_EQ(pace->value(), "100% (full speed)");
        EXPECT_EQ(pace->source(), "set");
    }
    auto conn = db_->connect();
    EXPECT_EQ(fingerprint(conn, "public.events"), fingerprint(conn, "public.events_new"));
    stop_run(*run);

    // A run without the flag keeps what was set, and says so.
    set = run_partshift({"set", "--dsn", db_->dsn(), "--job", "events", "--catch-up-pace", "40"});
    ASSERT_EQ(set.exit_code, 0) << set.err;
    auto rerun = run_partshift({"run", "--dsn", db_->dsn(), "--table", "events", "--partition-by",
                                "range", "--key", "ts", "--interval", "1 month", "--premake", "3",
                                "--spool-dir", spool_.path(), "--dry-run", "--dry-run-for", "1s"},
                               120s);
    EXPECT_EQ(rerun.exit_code, 0) << rerun.err;
    EXPECT_NE(rerun.err.find("catch-up pace 40%: kept from an earlier run (set at "),
              std::string::npos)
        << rerun.err;
    EXPECT_EQ(job_status(db_->dsn(), "events")->catch_up_pace(), 40);
    // Out of range: a clear error, nothing changed.
    auto bad =
        run_partshift({"set", "--dsn", db_->dsn(), "--job", "events", "--catch-up-pace", "0"});
    EXPECT_EQ(bad.exit_code, 2) << bad.err;
    EXPECT_TRUE(one_line(bad.err)) << bad.err;
    EXPECT_NE(bad.err.find("--catch-up-pace takes a number from 1 to 100, not '0'"),
              std::string::npos)
        << bad.err;
    EXPECT_EQ(job_status(db_->dsn(), "events")->catch_up_pace(), 40);
}
