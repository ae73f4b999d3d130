// Issue 9 item 1: when the applier itself cannot keep up, status says so. A source that writes
// faster than the applier applies (the applier slowed down by a test hook to ~50 source
// transactions a second, the load at several hundred) shows `apply_falling_behind` with the
// reason in `status`, and a warning in the run's log; without the slowdown, the same load
// does not. A slower drift is reported too (issue 22 item 4).
#include <gtest/gtest.h>

#include <thread>

#include "status.pb.h"
#include "support/job_driver.hpp"
#include "support/ledger_load.hpp"

using namespace partshift;
using namespace partshift::testing;
using namespace std::chrono_literals;

namespace {

class ApplyPaceTest : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
        db_ = std::make_unique<test_database>();
        ASSERT_TRUE(load_events_table(*db_, 20000));
        create_ledger(*db_);
    }

    std::unique_ptr<child_process> start_dry_run(const std::string& delay_ms) {
        return std::make_unique<child_process>(
            std::vector<std::string>{"env", "PARTSHIFT_TEST_APPLY_DELAY_MS=" + delay_ms,
                                     PARTSHIFT_BINARY, "run", "--dsn", db_->dsn(), "--table",
                                     "events", "--partition-by", "range", "--key", "ts",
                                     "--interval", "1 month", "--premake", "3", "--spool-dir",
                                     spool_.path(), "--dry-run"},
            spool_.path() + "-run-" + delay_ms + ".log");
    }

    std::unique_ptr<test_database> db_;
    temp_dir spool_;
};

}  // namespace

TEST_F(ApplyPaceTest, AnApplierSlowerThanTheSourceIsReportedAsFallingBehind) {
    auto run = start_dry_run("20");
    wait_for_status(
        db_->dsn(), "events", [](const auto& s) { return s.phase() == "follow"; }, 120s, run.get(),
        "follow");
    auto load = start_ledger_load(*db_, "prepared", 90, spool_.path() + "-pgbench.log");
    auto s = wait_for_status(
        db_->dsn(), "events", [](const auto& st) { return st.apply_falling_behind(); }, 120s,
        run.get(), "status says the applier is falling behind");
    EXPECT_NE(s.apply_behind_reason().find("not keeping up"), std::string::npos)
        << s.apply_behind_reason();
    auto text = run_partshift({"status", "--dsn", db_->dsn(), "--job", "events"});
    EXPECT_NE(text.out.find("behind       the applier is not keeping up"), std::string::npos)
        << text.out;
    EXPECT_NE(run->log().find("the applier is not keeping up"), std::string::npos);
    run->signal(SIGTERM);
    EXPECT_EQ(run->wait(60s).value_or(-1), 0) << run->log();
    // A stopped job's last verdict is not shown as current.
    EXPECT_FALSE(job_status(db_->dsn(), "events")->apply_falling_behind());
}

// Issue 22 item 4: an applier only somewhat slower than the source (~240 source transactions a
// second against ~300) never lets the gate open either: its lag's age grows by ~0.2 s per
// second, which the first verdict (at least half a second per second) never reported. Said
// once in the log with the measured incoming and apply rates and what would make the lag
// converge; status (JSON and text) shows it while it lasts; once the load stops and the lag
// drains, the run says it keeps up again and status clears.
TEST_F(ApplyPaceTest, ALagThatGrowsSlowlyIsReportedOnceWithTheRatesAndClearsWhenItDrains) {
    // 6 ms per transaction: the applier manages ~160 source transactions a second against the
    // load's ~300, and still fewer than the ~200 a CPU-starved pgbench reaches when the whole
    // suite runs beside it (at 4 ms, ~240, the applier kept up then and the test failed).
    auto run = start_dry_run("6");
    wait_for_status(
        db_->dsn(), "events", [](const auto& s) { return s.phase() == "follow"; }, 120s, run.get(),
        "follow");
    auto load = start_ledger_load(*db_, "prepared", 75, spool_.path() + "-pgbench.log", 100);
    auto s = wait_for_status(
        db_->dsn(), "events", [](const auto& st) { return st.apply_falling_behind(); }, 75s,
        run.get(), "status says the lag does not converge");
    const auto& why = s.apply_behind_reason();
    EXPECT_NE(why.find("the source writes "), std::string::npos) << why;
    EXPECT_NE(why.find("B/s of WAL (~"), std::string::npos) << why;
    EXPECT_NE(why.find(" changes/s), partshift applies "), std::string::npos) << why;
    EXPECT_NE(why.find("cannot open"), std::string::npos) << why;
    EXPECT_NE(why.find("throttle the application"), std::string::npos) << why;
    auto text = run_partshift({"status", "--dsn", db_->dsn(), "--job", "events"});
    EXPECT_NE(text.out.find("behind       the applier is not keeping up: the source writes"),
              std::string::npos)
        << text.out;
    // The load ends; the backlog drains; the verdict clears, and the log says so once.
    load->wait(120s);
    wait_for_status(
        db_->dsn(), "events", [](const auto& st) { return !st.apply_falling_behind(); }, 120s,
        run.get(), "status says the applier keeps up again");
    run->signal(SIGTERM);
    EXPECT_EQ(run->wait(60s).value_or(-1), 0) << run->log();
    const auto log = run->log();
    auto count = [&](const std::string& what) {
        int n = 0;
        for (size_t at = log.find(what); at != std::string::npos; at = log.find(what, at + 1)) ++n;
        return n;
    };
    EXPECT_EQ(count("the applier is not keeping up"), 1) << log;
    EXPECT_EQ(count("the applier is keeping up again"), 1) << log;
}

TEST_F(ApplyPaceTest, AnApplierThatKeepsUpIsNotReported) {
    auto run = start_dry_run("0");
    wait_for_status(
        db_->dsn(), "events", [](const auto& s) { return s.phase() == "follow"; }, 120s, run.get(),
        "follow");
    auto load = start_ledger_load(*db_, "prepared", 45, spool_.path() + "-pgbench.log");
    for (int i = 0; i < 40; ++i) {
        std::this_thread::sleep_for(1s);
        auto s = job_status(db_->dsn(), "events");
        ASSERT_TRUE(s);
        ASSERT_FALSE(s->apply_falling_behind()) << s->apply_behind_reason();
    }
    EXPECT_EQ(run->log().find("not keeping up"), std::string::npos);
    run->signal(SIGTERM);
    EXPECT_EQ(run->wait(60s).value_or(-1), 0) << run->log();
}
