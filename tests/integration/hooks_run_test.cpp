// run --hooks-dir through the real binary: every event's hook runs with the job's figures in
// its environment; a failing before-cutover hook postpones the cutover (status and the log say
// which hook) until it passes; on-failure gets the reason; a bad --hooks-dir is bad input.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "status.pb.h"
#include "support/job_driver.hpp"

using namespace partshift;
using namespace partshift::testing;
using namespace std::chrono_literals;

namespace {

class HooksRun : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
        db_ = std::make_unique<test_database>();
        ASSERT_TRUE(load_events_table(*db_, 5000));
        hooks_ = spool_.path() + "-hooks";
        std::filesystem::create_directories(hooks_);
    }
    void TearDown() override { std::filesystem::remove_all(hooks_); }

    // hook: an executable shell script for `event`; "$D" in it is the hooks directory.
    void hook(const std::string& event, const std::string& body) {
        const auto path = hooks_ + "/" + event;
        std::ofstream(path) << "#!/bin/sh\nD='" << hooks_ << "'\n" << body << "\n";
        ::chmod(path.c_str(), 0755);
    }
    // dump_env: a hook body that saves the PARTSHIFT_* variables to $D/<event>.env.
    static std::string dump_env(const std::string& event) {
        return "env | grep '^PARTSHIFT_' | sort > \"$D/" + event + ".env\"";
    }
    std::string read(const std::string& name) {
        std::ifstream in(hooks_ + "/" + name);
        std::stringstream s;
        s << in.rdbuf();
        return s.str();
    }

    std::vector<std::string> run_args(std::vector<std::string> extra) {
        std::vector<std::string> args{
            PARTSHIFT_BINARY, "run",   "--dsn",       db_->dsn(),    "--table",     "events",
            "--partition-by", "range", "--key",       "ts",          "--interval",  "1 month",
            "--premake",      "3",     "--spool-dir", spool_.path(), "--hooks-dir", hooks_};
        args.insert(args.end(), extra.begin(), extra.end());
        return args;
    }

    std::unique_ptr<test_database> db_;
    temp_dir spool_;
    std::string hooks_;
};

TEST_F(HooksRun, FailingBeforeCutoverPostponesUntilItPassesAndEveryEventSeesTheFigures) {
    hook("before-copy", dump_env("before-copy"));
    hook("after-copy", dump_env("after-copy"));
    hook("on-status", "echo \"$PARTSHIFT_PHASE $PARTSHIFT_LAG_SECONDS\" >> \"$D/status.log\"");
    hook("before-cutover",
         "if [ -e \"$D/allow\" ]; then echo go; exit 0; fi\n"
         "echo \"not yet (lag $PARTSHIFT_LAG_SECONDS s)\"; exit 1");
    hook("after-cutover", dump_env("after-cutover"));
    child_process run(run_args({"--hooks-status-interval", "1s"}), spool_.path() + "-run.log");
    auto s = wait_for_status(
        db_->dsn(), "events",
        [](const auto& s) { return s.cutover_state() == "postponed by the before-cutover hook"; },
        180s, &run, "postponed by the before-cutover hook");
    EXPECT_EQ(s.phase(), "follow");
    std::this_thread::sleep_for(2s);
    auto later = job_status(db_->dsn(), "events");
    ASSERT_TRUE(later);
    EXPECT_EQ(later->phase(), "follow") << run.log();
    std::ofstream(hooks_ + "/allow") << "ok\n";
    auto code = run.wait(120s);
    ASSERT_TRUE(code.has_value()) << run.log();
    EXPECT_EQ(*code, 0) << run.log();
    later = job_status(db_->dsn(), "events");
    ASSERT_TRUE(later);
    EXPECT_EQ(later->phase(), "done");

    const auto log = run.log();
    // Which hook postponed it and why, and its output as log lines.
    EXPECT_NE(log.find("cutover postponed: hook before-cutover (" + hooks_ +
                       "/before-cutover) exited with 1"),
              std::string::npos)
        << log;
    EXPECT_NE(log.find("hook before-cutover: not yet (lag "), std::string::npos) << log;
    EXPECT_NE(log.find("hook before-cutover: go"), std::string::npos) << log;

    const auto before_copy = read("before-copy.env");
    EXPECT_NE(before_copy.find("PARTSHIFT_JOB=events\n"), std::string::npos) << before_copy;
    EXPECT_NE(before_copy.find("PARTSHIFT_PHASE=copy\n"), std::string::npos) << before_copy;
    EXPECT_NE(before_copy.find("PARTSHIFT_SOURCE=public.events\n"), std::string::npos);
    EXPECT_NE(before_copy.find("PARTSHIFT_TARGET=public.events_new\n"), std::string::npos);
    const auto after_copy = read("after-copy.env");
    EXPECT_NE(after_copy.find("PARTSHIFT_ROWS_COPIED=5000\n"), std::string::npos) << after_copy;
    const auto after_cutover = read("after-cutover.env");
    EXPECT_NE(after_cutover.find("PARTSHIFT_PHASE=done\n"), std::string::npos) << after_cutover;
    EXPECT_NE(after_cutover.find("PARTSHIFT_HOOK=after-cutover\n"), std::string::npos);
    EXPECT_EQ(after_cutover.find("PARTSHIFT_LOCK_HOLD_MS=\n"), std::string::npos)
        << "no lock hold given to after-cutover\n"
        << after_cutover;
    EXPECT_NE(after_cutover.find("PARTSHIFT_LAG_SECONDS="), std::string::npos);
    // on-status ran at least twice, with a measured lag in follow.
    const auto status_log = read("status.log");
    EXPECT_GE(std::count(status_log.begin(), status_log.end(), '\n'), 2) << status_log;
    EXPECT_NE(status_log.find("follow 0."), std::string::npos) << status_log;
}

// A run that fails (a new row no partition takes) runs on-failure with the reason and the
// phase it failed in.
TEST_F(HooksRun, OnFailureGetsTheReason) {
    hook("on-failure", dump_env("on-failure"));
    auto args = run_args({"--dry-run"});
    child_process run(args, spool_.path() + "-run.log");
    wait_for_status(
        db_->dsn(), "events", [](const auto& s) { return s.phase() == "follow"; }, 180s, &run,
        "follow");
    db_->exec("INSERT INTO events (ts, customer_id) VALUES ('2200-01-01', 1)");
    auto code = run.wait(120s);
    ASSERT_TRUE(code.has_value()) << run.log();
    EXPECT_EQ(*code, 1) << run.log();
    const auto env = read("on-failure.env");
    EXPECT_NE(env.find("PARTSHIFT_HOOK=on-failure\n"), std::string::npos) << env << run.log();
    EXPECT_NE(env.find("PARTSHIFT_ERROR="), std::string::npos) << env;
    EXPECT_NE(env.find("2200"), std::string::npos) << "the reason names the value\n" << env;
    // Issue 21: the phase it failed in, not the one the run started in (copy).
    EXPECT_NE(env.find("PARTSHIFT_PHASE=follow\n"), std::string::npos) << env;
}

// Issue 18 item 4: a hook gets the connection facts but no password — not partshift's
// PGPASSWORD, not the one in --dsn, not one in a connection string partshift inherited — and
// names that stay unambiguous for a schema and table with a space and a dot in them.
TEST_F(HooksRun, AHookGetsNoPasswordAndUnambiguousNames) {
    db_->exec(R"sql(
        CREATE SCHEMA "Odd Schema";
        CREATE TABLE "Odd Schema"."My.Table" (id bigint PRIMARY KEY, ts timestamptz NOT NULL);
        INSERT INTO "Odd Schema"."My.Table"
        SELECT g, '2025-01-01'::timestamptz + g * interval '1 hour' FROM generate_series(1, 500) g;
    )sql");
    const std::string secret = "hook-s3cret-" + db_->name();
    hook("before-copy",
         "env | sort > \"$D/before-copy.env\"\n"
         "psql -X -At -d \"$PARTSHIFT_CONNINFO\" -c 'SELECT current_database()' > \"$D/db.txt\" "
         "2>&1\n"
         "touch \"$D/before-copy.done\"");
    auto run = start_with_env(
        {"PGPASSWORD=" + secret, "APP_DATABASE_URL=postgresql://app:" + secret + "@db1/shop"},
        {PARTSHIFT_BINARY, "run", "--dsn", db_->dsn() + " password=" + secret, "--table",
         R"("Odd Schema"."My.Table")", "--partition-by", "range", "--key", "ts", "--interval",
         "1 month", "--spool-dir", spool_.path(), "--hooks-dir", hooks_, "--dry-run"},
        spool_.path() + "-run.log");
    for (int i = 0;
         i < 1200 && run->running() && !std::filesystem::exists(hooks_ + "/before-copy.done"); ++i)
        std::this_thread::sleep_for(100ms);
    ASSERT_TRUE(std::filesystem::exists(hooks_ + "/before-copy.done")) << run->log();
    run->signal(SIGTERM);
    run->wait(60s);

    const auto env = read("before-copy.env");
    EXPECT_EQ(env.find(secret), std::string::npos) << env;
    EXPECT_EQ(env.find("PGPASSWORD="), std::string::npos) << env;
    EXPECT_NE(env.find("PARTSHIFT_SOURCE=\"Odd Schema\".\"My.Table\"\n"), std::string::npos) << env;
    EXPECT_NE(env.find("PARTSHIFT_SOURCE_SCHEMA=Odd Schema\n"), std::string::npos) << env;
    EXPECT_NE(env.find("PARTSHIFT_SOURCE_TABLE=My.Table\n"), std::string::npos) << env;
    EXPECT_NE(env.find("PARTSHIFT_TARGET=\"Odd Schema\".\"My.Table_new\"\n"), std::string::npos)
        << env;
    EXPECT_NE(env.find("PARTSHIFT_TARGET_TABLE=My.Table_new\n"), std::string::npos) << env;
    EXPECT_NE(env.find("PARTSHIFT_CONNINFO="), std::string::npos) << env;
    EXPECT_NE(env.find("dbname='" + db_->name() + "'"), std::string::npos) << env;
    // The facts are enough to connect (the password, were one needed, comes from ~/.pgpass).
    EXPECT_EQ(read("db.txt"), db_->name() + "\n");
}

// Issue 18 item 5: partshift executes what the hooks directory holds, so a directory another
// user could add a file to is refused before anything runs.
TEST_F(HooksRun, AHooksDirOthersCanWriteIsRefusedBeforeAnythingRuns) {
    ::chmod(hooks_.c_str(), 0777);
    auto r =
        run_partshift({"run", "--dsn", db_->dsn(), "--table", "events", "--partition-by", "range",
                       "--key", "ts", "--interval", "1 month", "--spool-dir", spool_.path(),
                       "--hooks-dir", hooks_, "--dry-run", "--dry-run-for", "1s"});
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_TRUE(one_line(r.err)) << r.err;
    EXPECT_NE(r.err.find("--hooks-dir " + hooks_), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("writable by others (mode 0777)"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("chmod go-w " + hooks_), std::string::npos) << r.err;
    auto conn = db_->connect();
    EXPECT_TRUE(conn.exec("SELECT to_regnamespace('partshift') IS NULL").get_bool(0, 0));
}

TEST_F(HooksRun, AHooksDirThatIsNotADirectoryIsBadInput) {
    auto r =
        run_partshift({"run", "--dsn", db_->dsn(), "--table", "events", "--partition-by", "range",
                       "--key", "ts", "--interval", "1 month", "--hooks-dir", hooks_ + "/missing"});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_TRUE(one_line(r.err)) << r.err;
    EXPECT_NE(r.err.find("--hooks-dir"), std::string::npos) << r.err;
}

}  // namespace
