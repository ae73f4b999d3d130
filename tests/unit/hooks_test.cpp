// Hooks without a server: the environment a hook sees, its output reaching the log line by
// line (not the terminal), exit codes, the timeout ending the hook and what it started, a
// stop ending it, a missing hook and one that cannot be executed.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "partshift/hooks/hook_env.hpp"
#include "partshift/hooks/hook_runner.hpp"

using namespace partshift::hooks;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

class HooksTest : public ::testing::Test {
  protected:
    void SetUp() override {
        std::string tmpl = (fs::temp_directory_path() / "partshift-hooks-XXXXXX").string();
        ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
        dir_ = tmpl;
        // Everything the hooks log lands here, so the test can see it went to the log.
        auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log_);
        previous_ = spdlog::default_logger();
        spdlog::set_default_logger(std::make_shared<spdlog::logger>("test", sink));
    }
    void TearDown() override {
        if (previous_) spdlog::set_default_logger(previous_);
        fs::remove_all(dir_);
    }

    void write_hook(const std::string& name, const std::string& body, bool executable = true) {
        const auto path = dir_ + "/" + name;
        std::ofstream(path) << "#!/bin/sh\n" << body << "\n";
        ::chmod(path.c_str(), executable ? 0755 : 0644);
    }

    hook_figures sample() const {
        hook_figures f;
        f.job = "events";
        f.phase = "follow";
        f.source_schema = "public";
        f.source_table = "events";
        f.target_schema = "public";
        f.target_table = "events_new";
        f.rows_copied = 1234;
        f.lag_seconds = 0.25;
        f.lag_bytes = 0;
        f.applied_lsn = "0/16B3748";
        return f;
    }

    std::string dir_;
    std::ostringstream log_;
    std::shared_ptr<spdlog::logger> previous_;
};

TEST(HookEnv, EveryVariableIsSetAndUnknownFiguresAreEmpty) {
    hook_figures f;
    f.job = "events";
    f.phase = "copy";
    auto env = hook_env(hook_event::before_copy, f);
    auto value = [&](const std::string& k) -> std::optional<std::string> {
        for (const auto& [name, v] : env)
            if (name == k) return v;
        return std::nullopt;
    };
    EXPECT_EQ(value("PARTSHIFT_HOOK"), "before-copy");
    EXPECT_EQ(value("PARTSHIFT_JOB"), "events");
    EXPECT_EQ(value("PARTSHIFT_PHASE"), "copy");
    EXPECT_EQ(value("PARTSHIFT_LAG_SECONDS"), "");  // not measured yet: present, empty
    EXPECT_EQ(value("PARTSHIFT_ROWS_COPIED"), "0");
    f.lag_seconds = 1.5;
    f.lock_hold_ms = 12.34;
    env = hook_env(hook_event::after_cutover, f);
    EXPECT_EQ(value("PARTSHIFT_LAG_SECONDS"), "1.500");
    EXPECT_EQ(value("PARTSHIFT_LOCK_HOLD_MS"), "12.3");
    EXPECT_EQ(value("PARTSHIFT_HOOK"), "after-cutover");
}

// Issue 18 item 4: the names are unambiguous (SQL's quoted form, and the parts on their own),
// and no password reaches a hook, neither partshift's PGPASSWORD nor one in a connection
// string anywhere in the environment.
TEST(HookEnv, NamesAreQuotedAndSplitAndTheConninfoHasNoPassword) {
    hook_figures f;
    f.source_schema = "Odd Schema";
    f.source_table = "My \"Table\"";
    f.target_schema = "Odd Schema";
    f.target_table = "events_new";
    f.conninfo = "host='db1' dbname='shop'";
    std::map<std::string, std::string> env;
    for (const auto& [k, v] : hook_env(hook_event::before_copy, f)) env[k] = v;
    EXPECT_EQ(env["PARTSHIFT_SOURCE"], "\"Odd Schema\".\"My \"\"Table\"\"\"");
    EXPECT_EQ(env["PARTSHIFT_SOURCE_SCHEMA"], "Odd Schema");
    EXPECT_EQ(env["PARTSHIFT_SOURCE_TABLE"], "My \"Table\"");
    EXPECT_EQ(env["PARTSHIFT_TARGET"], "\"Odd Schema\".events_new");
    EXPECT_EQ(env["PARTSHIFT_TARGET_TABLE"], "events_new");
    EXPECT_EQ(env["PARTSHIFT_CONNINFO"], "host='db1' dbname='shop'");

    EXPECT_FALSE(may_inherit("PGPASSWORD", "s3cret"));
    EXPECT_FALSE(may_inherit("DATABASE_URL", "postgresql://app:s3cret@db1/shop"));
    EXPECT_FALSE(may_inherit("SOME_DSN", "host=db1 password=s3cret"));
    EXPECT_TRUE(may_inherit("PGHOST", "db1"));
    EXPECT_TRUE(may_inherit("PGPASSFILE", "/home/app/.pgpass"));
    EXPECT_TRUE(may_inherit("DATABASE_URL", "postgresql://app@db1/shop"));
    EXPECT_TRUE(may_inherit("PATH", "/usr/bin:/bin"));
}

TEST_F(HooksTest, AHookFileOthersCanWriteIsNotRun) {
    const auto ran = dir_ + "/ran";
    write_hook("before-cutover", "touch " + ran);
    ::chmod((dir_ + "/before-cutover").c_str(), 0777);
    hook_runner runner(dir_, 10s);
    auto outcome = runner.run(hook_event::before_cutover, sample());
    EXPECT_TRUE(outcome.ran);
    EXPECT_FALSE(outcome.ok());
    EXPECT_FALSE(fs::exists(ran));
    EXPECT_NE(outcome.describe(hook_event::before_cutover).find("writable by others (mode 0777)"),
              std::string::npos)
        << outcome.describe(hook_event::before_cutover);
}

TEST_F(HooksTest, FiguresReachTheHookAndItsOutputGoesToTheLog) {
    write_hook("on-status",
               "echo \"job=$PARTSHIFT_JOB phase=$PARTSHIFT_PHASE lag=$PARTSHIFT_LAG_SECONDS\"\n"
               "echo 'to stderr' >&2\nprintf 'no newline at the end'");
    hook_runner runner(dir_, 10s);
    auto outcome = runner.run(hook_event::on_status, sample());
    EXPECT_TRUE(outcome.ran);
    EXPECT_TRUE(outcome.ok()) << outcome.describe(hook_event::on_status);
    const auto log = log_.str();
    EXPECT_NE(log.find("hook on-status: job=events phase=follow lag=0.250"), std::string::npos)
        << log;
    EXPECT_NE(log.find("hook on-status: to stderr"), std::string::npos) << log;
    EXPECT_NE(log.find("hook on-status: no newline at the end"), std::string::npos) << log;
}

TEST_F(HooksTest, NonZeroExitIsAFailureThatNamesTheHook) {
    write_hook("before-cutover", "echo not now; exit 3");
    hook_runner runner(dir_, 10s);
    auto outcome = runner.run(hook_event::before_cutover, sample());
    EXPECT_TRUE(outcome.ran);
    EXPECT_FALSE(outcome.ok());
    EXPECT_EQ(outcome.process.exit_code, 3);
    EXPECT_EQ(outcome.describe(hook_event::before_cutover),
              "hook before-cutover (" + dir_ + "/before-cutover) exited with 3");
}

TEST_F(HooksTest, NoFileMeansNoHook) {
    hook_runner runner(dir_, 10s);
    auto outcome = runner.run(hook_event::after_copy, sample());
    EXPECT_FALSE(outcome.ran);
    EXPECT_TRUE(outcome.ok());
}

TEST_F(HooksTest, ANonExecutableFileFailsWithTheReason) {
    write_hook("before-cutover", "exit 0", /*executable=*/false);
    hook_runner runner(dir_, 10s);
    auto outcome = runner.run(hook_event::before_cutover, sample());
    EXPECT_TRUE(outcome.ran);
    EXPECT_FALSE(outcome.ok());
    EXPECT_NE(outcome.describe(hook_event::before_cutover).find("could not be started"),
              std::string::npos);
}

// The timeout ends the hook and the background process it started (its process group), and
// does not wait for a child that keeps the output pipe open.
TEST_F(HooksTest, TimeoutEndsTheHookAndWhatItStarted) {
    const auto marker = dir_ + "/child-survived";
    write_hook("on-status", "(sleep 3; touch " + marker + ") &\necho started\nsleep 30");
    hook_runner runner(dir_, 500ms);
    const auto start = std::chrono::steady_clock::now();
    auto outcome = runner.run(hook_event::on_status, sample());
    const auto took = std::chrono::steady_clock::now() - start;
    EXPECT_TRUE(outcome.process.timed_out);
    EXPECT_FALSE(outcome.ok());
    EXPECT_LT(took, 5s);
    EXPECT_NE(log_.str().find("hook on-status: started"), std::string::npos) << log_.str();
    std::this_thread::sleep_for(3500ms);
    EXPECT_FALSE(fs::exists(marker)) << "the hook's background child outlived the timeout";
}

TEST_F(HooksTest, AHookThatExitsLeavingAChildHoldingThePipeDoesNotBlock) {
    write_hook("after-copy", "sleep 20 &\necho done");
    hook_runner runner(dir_, 10s);
    const auto start = std::chrono::steady_clock::now();
    auto outcome = runner.run(hook_event::after_copy, sample());
    EXPECT_TRUE(outcome.ok()) << outcome.describe(hook_event::after_copy);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

TEST_F(HooksTest, StopEndsARunningHook) {
    write_hook("on-status", "sleep 30");
    hook_runner runner(dir_, 60s);
    std::atomic<bool> stop{false};
    std::thread stopper([&] {
        std::this_thread::sleep_for(300ms);
        stop = true;
    });
    auto outcome = runner.run(hook_event::on_status, sample(), &stop);
    stopper.join();
    EXPECT_TRUE(outcome.process.stopped);
    EXPECT_LT(outcome.process.seconds, 5.0);
}

}  // namespace
