// What partshift does differently per server version, through the real binary, on whichever
// PostgreSQL the sandbox runs (scripts/test.sh --pg N): status names the server and the
// version-dependent features a job uses; on 17+ the job's slot is a failover slot; on 18 a
// stopped job's slot invalidated by idle_replication_slot_timeout ends the next run with exit 5
// and that cause. A test that needs a newer server than the sandbox's is reported skipped.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <thread>

#include "status.pb.h"
#include "support/job_driver.hpp"

using namespace partshift;
using namespace partshift::testing;
using namespace std::chrono_literals;

namespace {

int sandbox_version() {
    return app_connection(sandbox_dsn("postgres")).server_version();
}

bool has_feature(const proto::status_report& s, const std::string& name) {
    return std::find(s.server_features().begin(), s.server_features().end(), name) !=
           s.server_features().end();
}

std::string last_line(const std::string& text) {
    const auto end = text.size() >= 2 ? text.rfind('\n', text.size() - 2) : std::string::npos;
    return end == std::string::npos ? text : text.substr(end + 1);
}

class ServerVersions : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
        version_ = sandbox_version();
    }

    // follow: a dry run of `dsn`'s items table, until it runs in phase follow.
    std::unique_ptr<child_process> follow(const std::string& dsn, const std::string& suffix) {
        auto run = std::make_unique<child_process>(
            std::vector<std::string>{PARTSHIFT_BINARY, "run", "--dsn", dsn, "--table", "items",
                                     "--partition-by", "hash", "--key", "id", "--modulus", "4",
                                     "--spool-dir", spool_.path(), "--dry-run"},
            spool_.path() + "-run" + suffix + ".log");
        // running: a resumed job's row says follow before the new run has started.
        wait_for_status(
            dsn, "items", [](const auto& s) { return s.phase() == "follow" && s.running(); }, 300s,
            run.get(), "follow");
        return run;
    }

    static void make_items(const std::string& dsn) {
        app_connection(dsn).exec(
            "CREATE TABLE items (id bigint PRIMARY KEY, note text NOT NULL); "
            "INSERT INTO items SELECT g, md5(g::text) FROM generate_series(1, 2000) g");
    }

    int version_ = 0;
    temp_dir spool_;
};

}  // namespace

// Every version: status (text and JSON) names the server's version, and says whether the slot
// is a failover slot; partshift --version stays client-only.
TEST_F(ServerVersions, StatusNamesTheServerAndItsFeatures) {
    test_database db;
    make_items(db.dsn());
    auto run = follow(db.dsn(), "1");
    auto s = job_status(db.dsn(), "items");
    ASSERT_TRUE(s.has_value());
    EXPECT_EQ(static_cast<int>(s->server_version_num()), version_);
    EXPECT_EQ(s->server_version().substr(0, 2), std::to_string(version_ / 10000));
    EXPECT_EQ(s->slot_failover(), version_ >= 170000);
    EXPECT_EQ(has_feature(*s, "failover_slot"), version_ >= 170000);
    EXPECT_FALSE(s->slot_synced());  // partshift's slot lives on the primary
    // The origin filter: on from 16 (no foreign origin on the sandbox), off before, and why.
    EXPECT_EQ(has_feature(*s, "origin_filter"), version_ >= 160000);
    if (version_ >= 160000)
        EXPECT_EQ(s->origin_filter(), "on");
    else
        EXPECT_EQ(s->origin_filter().rfind(
                      "off: the server is PostgreSQL " + std::to_string(version_ / 10000), 0),
                  0u)
            << s->origin_filter();
    auto text = run_partshift({"status", "--dsn", db.dsn(), "--job", "items"});
    ASSERT_EQ(text.exit_code, 0) << text.err;
    EXPECT_NE(text.out.find("server       PostgreSQL " + s->server_version()), std::string::npos)
        << text.out;
    EXPECT_NE(text.out.find(version_ >= 170000 ? "; failover slot"
                                               : "no failover slots before PostgreSQL 17"),
              std::string::npos)
        << text.out;
    EXPECT_NE(text.out.find(version_ >= 160000 ? "origin filter on"
                                               : "origin filter off (the server is PostgreSQL"),
              std::string::npos)
        << text.out;
    run->signal(SIGTERM);
    EXPECT_EQ(run->wait(120s).value_or(-1), 0) << run->log();

    auto v = run_partshift({"--version"});
    EXPECT_EQ(v.exit_code, 0);
    EXPECT_EQ(v.out.rfind("partshift ", 0), 0u) << v.out;
    EXPECT_NE(v.out.find("(libpq 15."), std::string::npos) << v.out;
}

// PostgreSQL 17+: the job's slot is created as a failover slot (a standby with
// sync_replication_slots keeps it across a failover), and the server says so too.
TEST_F(ServerVersions, FailoverSlotFrom17) {
    if (version_ < 170000)
        GTEST_SKIP() << "needs PostgreSQL 17+ (failover slots); the sandbox runs "
                     << version_ / 10000;
    test_database db;
    make_items(db.dsn());
    auto run = follow(db.dsn(), "1");
    auto conn = app_connection(db.dsn());
    auto r = conn.exec(
        "SELECT failover, synced FROM pg_replication_slots WHERE database = current_database()");
    ASSERT_EQ(r.rows(), 1);
    EXPECT_EQ(r.get(0, 0), "t");
    EXPECT_EQ(r.get(0, 1), "f");
    EXPECT_NE(run->log().find("(a failover slot)"), std::string::npos) << run->log();
    run->signal(SIGTERM);
    EXPECT_EQ(run->wait(120s).value_or(-1), 0) << run->log();
}

// PostgreSQL 18: with idle_replication_slot_timeout set, a resumed run warns how long a stopped
// job may stay stopped, status counts the slot's idle time, and once the server invalidated
// the slot for idleness the next run stops with exit 5 naming that cause (not
// max_slot_wal_keep_size), as status does.
TEST_F(ServerVersions, IdleSlotTimeoutOn18) {
    if (version_ < 180000)
        GTEST_SKIP() << "needs PostgreSQL 18 (idle_replication_slot_timeout); the sandbox runs "
                     << version_ / 10000;
    // A server of its own: the shared sandbox's other tests leave slots idle between runs.
    extra_server server({"idle_replication_slot_timeout = 2s", "checkpoint_timeout = 1h"});
    const auto dsn = server.dsn();
    make_items(dsn);
    auto run = follow(dsn, "1");
    auto s = job_status(dsn, "items");
    ASSERT_TRUE(s.has_value());
    EXPECT_EQ(s->idle_slot_timeout_seconds(), 2);
    EXPECT_TRUE(has_feature(*s, "idle_slot_timeout"));
    run->signal(SIGTERM);
    ASSERT_EQ(run->wait(120s).value_or(-1), 0) << run->log();

    // Resumed within the timeout: the run warns about it.
    run = follow(dsn, "2");
    EXPECT_NE(run->log().find("(idle_replication_slot_timeout): a stopped or killed run"),
              std::string::npos)
        << run->log();
    run->signal(SIGTERM);
    ASSERT_EQ(run->wait(120s).value_or(-1), 0) << run->log();
    auto idle = run_partshift({"status", "--dsn", dsn, "--job", "items"});
    EXPECT_NE(idle.out.find("slot idle    nobody has read the slot for"), std::string::npos)
        << idle.out;

    // Stopped longer than the timeout: the next checkpoint invalidates the slot.
    std::this_thread::sleep_for(3s);
    auto conn = app_connection(dsn);
    conn.exec("CHECKPOINT");
    ASSERT_EQ(conn.exec("SELECT invalidation_reason FROM pg_replication_slots").get(0, 0),
              "idle_timeout");
    auto r =
        run_partshift({"run", "--dsn", dsn, "--table", "items", "--partition-by", "hash", "--key",
                       "id", "--modulus", "4", "--spool-dir", spool_.path(), "--dry-run"});
    EXPECT_EQ(r.exit_code, 5) << r.err;
    const auto line = last_line(r.err);
    EXPECT_EQ(line.rfind("partshift: slot ", 0), 0u) << r.err;
    EXPECT_NE(line.find("idle_replication_slot_timeout (2 s)"), std::string::npos) << r.err;
    EXPECT_NE(line.find("start over"), std::string::npos) << r.err;
    EXPECT_EQ(line.find("max_slot_wal_keep_size"), std::string::npos) << r.err;
    auto lost = run_partshift({"status", "--dsn", dsn, "--job", "items"});
    EXPECT_NE(lost.out.find("slot lost    the server invalidated the slot (nobody read it for "
                            "longer than idle_replication_slot_timeout)"),
              std::string::npos)
        << lost.out;
}
