// Cutover requests belong to one run (issue 20 item 7), through the real binary: `partshift
// cutover` against a dry run is refused (exit 2) and records nothing; a `--postpone-cutover`
// run ignores a request older than itself; Ctrl-C on a waiting `cutover` withdraws its
// request; a request the run did not carry out ends with that run. A before-cutover hook that
// says "not yet" keeps a request pending for as long as a test needs.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "status.pb.h"
#include "support/job_driver.hpp"

using namespace partshift;
using namespace partshift::testing;
using namespace std::chrono_literals;

namespace {

class CutoverRequest : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
        db_ = std::make_unique<test_database>();
        ASSERT_TRUE(load_events_table(*db_, 5000));
        hooks_ = spool_.path() + "-hooks";
        std::filesystem::create_directories(hooks_);
        // Postpones the cutover until $D/allow exists: a request stays pending meanwhile.
        const auto path = hooks_ + "/before-cutover";
        std::ofstream(path) << "#!/bin/sh\nif [ -e '" << hooks_
                            << "/allow' ]; then exit 0; fi\necho not yet; exit 1\n";
        ::chmod(path.c_str(), 0755);
    }
    void TearDown() override { std::filesystem::remove_all(hooks_); }

    std::unique_ptr<child_process> start_run(std::vector<std::string> extra) {
        std::vector<std::string> args{PARTSHIFT_BINARY, "run",    "--dsn",          db_->dsn(),
                                      "--table",        "events", "--partition-by", "range",
                                      "--key",          "ts",     "--interval",     "1 month",
                                      "--premake",      "3",      "--spool-dir",    spool_.path()};
        args.insert(args.end(), extra.begin(), extra.end());
        return std::make_unique<child_process>(
            args, spool_.path() + "-run" + std::to_string(++runs_) + ".log");
    }

    void wait_for_state(const std::string& state, child_process* run) {
        wait_for_status(
            db_->dsn(), "events", [&](const auto& s) { return s.cutover_state() == state; }, 240s,
            run, state);
    }

    bool requested() {
        auto conn = db_->connect();
        return conn.exec("SELECT cutover_requested FROM partshift.jobs WHERE job = 'events'")
            .get_bool(0, 0);
    }

    void allow_cutover() { std::ofstream(hooks_ + "/allow") << "ok\n"; }
    void hold_cutover() { std::filesystem::remove(hooks_ + "/allow"); }

    std::unique_ptr<test_database> db_;
    temp_dir spool_;
    std::string hooks_;
    int runs_ = 0;
};

// Fails on the code before this change: `cutover --no-wait` against the dry run exited 0 and
// left its request in the row, and the next `run --postpone-cutover` swapped the table two
// seconds after it started.
TEST_F(CutoverRequest, DryRunRefusesItAndAPostponedRunIgnoresAnOlderRequest) {
    auto dry = start_run({"--dry-run"});
    wait_for_status(
        db_->dsn(), "events", [](const auto& s) { return s.phase() == "follow"; }, 240s, dry.get(),
        "follow");
    auto cut = run_partshift({"cutover", "--dsn", db_->dsn(), "--job", "events", "--no-wait"});
    EXPECT_EQ(cut.exit_code, 2) << cut.err;
    EXPECT_TRUE(one_line(cut.err)) << cut.err;
    EXPECT_NE(cut.err.find("is running as a dry run (pid " + std::to_string(dry->pid())),
              std::string::npos)
        << cut.err;
    EXPECT_FALSE(requested());
    dry->signal(SIGTERM);
    ASSERT_EQ(dry->wait(60s).value_or(-1), 0) << dry->log();

    // A request left in the row from before this run (an older partshift, or the bug above).
    db_->exec("UPDATE partshift.jobs SET cutover_requested = true WHERE job = 'events'");
    auto run = start_run({"--postpone-cutover"});
    wait_for_state("waiting for cutover", run.get());
    std::this_thread::sleep_for(3s);
    EXPECT_EQ(relkind(*db_, "public.events"), "r") << "cut over on a request older than the run\n"
                                                   << run->log();
    EXPECT_FALSE(requested());
    run->signal(SIGTERM);
    EXPECT_EQ(run->wait(60s).value_or(-1), 0) << run->log();
    EXPECT_EQ(relkind(*db_, "public.events"), "r");
}

// Fails on the code before this change: Ctrl-C ended `cutover` without withdrawing its request,
// so the run swapped once its hook let it; and the second request outlived the run.
TEST_F(CutoverRequest, CtrlCWithdrawsAWaitingRequestAndARequestEndsWithItsRun) {
    auto run = start_run({"--postpone-cutover", "--hooks-dir", hooks_});
    wait_for_state("waiting for cutover", run.get());
    child_process cut({PARTSHIFT_BINARY, "cutover", "--dsn", db_->dsn(), "--job", "events"},
                      spool_.path() + "-cutover.log");
    wait_for_state("postponed by the before-cutover hook", run.get());
    EXPECT_TRUE(requested());
    cut.signal(SIGINT);
    EXPECT_EQ(cut.wait(30s).value_or(-1), 4) << cut.log();
    EXPECT_NE(cut.log().find("withdrawn; nothing was swapped"), std::string::npos) << cut.log();
    EXPECT_FALSE(requested());
    // The hook lets the cutover go now; without a request the run keeps waiting for one.
    allow_cutover();
    wait_for_state("waiting for cutover", run.get());
    std::this_thread::sleep_for(12s);  // past the hook's retry (10 s)
    EXPECT_EQ(relkind(*db_, "public.events"), "r") << "cut over on a withdrawn request\n"
                                                   << run->log();

    // A request the run has not carried out when it stops is not left for the next run.
    hold_cutover();
    auto again = run_partshift({"cutover", "--dsn", db_->dsn(), "--job", "events", "--no-wait"});
    EXPECT_EQ(again.exit_code, 0) << again.err;
    wait_for_state("postponed by the before-cutover hook", run.get());
    EXPECT_TRUE(requested());
    run->signal(SIGTERM);
    EXPECT_EQ(run->wait(60s).value_or(-1), 0) << run->log();
    EXPECT_FALSE(requested());
    EXPECT_EQ(relkind(*db_, "public.events"), "r");
}

}  // namespace
