// Issue 9 item 4: `partshift set --copy-workers N` changes the copy's parallelism while it runs:
// workers are added within a second or two, retired between chunks, the value is kept with the
// job, and the copy still ends with the target equal to the source.
#include <gtest/gtest.h>

#include <thread>

#include "status.pb.h"
#include "support/job_driver.hpp"

using namespace partshift;
using namespace partshift::testing;
using namespace std::chrono_literals;

namespace {

class CopyWorkersTest : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
        db_ = std::make_unique<test_database>();
        ASSERT_TRUE(load_events_table(*db_, 400000));
    }

    // copy_sessions: the copy's source sessions in this test's database, one per worker.
    int64_t copy_sessions() {
        auto conn = db_->connect();
        return conn
            .exec(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND application_name LIKE 'partshift-copy-src-%'")
            .get_int(0, 0);
    }

    // wait_for_sessions: until exactly `n` copy sessions are there; false after `timeout`.
    bool wait_for_sessions(int64_t n, std::chrono::seconds timeout) {
        const auto until = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < until) {
            if (copy_sessions() == n) return true;
            std::this_thread::sleep_for(100ms);
        }
        return false;
    }

    std::unique_ptr<test_database> db_;
    temp_dir spool_;
};

}  // namespace

TEST_F(CopyWorkersTest, SetCopyWorkersAddsAndRetiresWorkersWhileCopying) {
    // A rate ceiling keeps the copy going for a while (about 16 s for 400k rows).
    child_process run({PARTSHIFT_BINARY,
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
                       "--copy-workers",
                       "1",
                       "--max-copy-rate",
                       "25000"},
                      spool_.path() + "-run.log");
    wait_for_status(
        db_->dsn(), "events",
        [](const auto& s) { return s.phase() == "copy" && s.chunks_total() > 0; }, 120s, &run,
        "copying");
    ASSERT_TRUE(wait_for_sessions(1, 10s)) << copy_sessions() << "\n" << run.log();

    auto more =
        run_partshift({"set", "--dsn", db_->dsn(), "--job", "events", "--copy-workers", "3"});
    ASSERT_EQ(more.exit_code, 0) << more.err;
    EXPECT_TRUE(wait_for_sessions(3, 5s)) << copy_sessions() << "\n" << run.log();
    EXPECT_EQ(job_status(db_->dsn(), "events")->copy_workers(), 3);

    auto fewer =
        run_partshift({"set", "--dsn", db_->dsn(), "--job", "events", "--copy-workers", "1"});
    ASSERT_EQ(fewer.exit_code, 0) << fewer.err;
    // Retired between chunks: a chunk in flight finishes first.
    EXPECT_TRUE(wait_for_sessions(1, 20s)) << copy_sessions() << "\n" << run.log();
    EXPECT_NE(run.log().find("copy workers now 3"), std::string::npos) << run.log();

    // A bad value changes nothing.
    auto bad =
        run_partshift({"set", "--dsn", db_->dsn(), "--job", "events", "--copy-workers", "0"});
    EXPECT_EQ(bad.exit_code, 2);
    EXPECT_EQ(job_status(db_->dsn(), "events")->copy_workers(), 1);

    wait_for_status(
        db_->dsn(), "events", [](const auto& s) { return s.phase() == "follow"; }, 180s, &run,
        "follow");
    auto conn = db_->connect();
    EXPECT_EQ(fingerprint(conn, "public.events"), fingerprint(conn, "public.events_new"));
    run.signal(SIGTERM);
    EXPECT_EQ(run.wait(60s).value_or(-1), 0) << run.log();
}
