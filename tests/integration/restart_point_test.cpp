// A graceful stop moves the slot's restart point up to the stop (PostgreSQL 16+,
// stream/restart_point.hpp): the server moves a slot's restart_lsn only at the running-xacts
// records it logs every 15 s, so without this a resume decodes again up to 15-25 s of WAL the
// job already has. On a server of its own: another test's open transaction anywhere in the
// cluster holds a slot's restart point back, and the assertion would be about that test.
// Skipped below 16, where the server cannot log the record on demand.
#include <gtest/gtest.h>

#include "partshift/stream/pgoutput_messages.hpp"
#include "support/job_driver.hpp"

using namespace partshift;
using namespace partshift::testing;
using namespace std::chrono_literals;

namespace {

class RestartPoint : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
        const int version = app_connection(sandbox_dsn("postgres")).server_version();
        if (version < 160000)
            GTEST_SKIP() << "needs PostgreSQL 16+ (pg_log_standby_snapshot); the sandbox runs "
                         << version / 10000;
    }

    std::unique_ptr<child_process> start_run(const std::string& dsn) {
        return start_with_env({},
                              {PARTSHIFT_BINARY, "run", "--dsn", dsn, "--table", "events",
                               "--partition-by", "range", "--key", "ts", "--interval", "1 month",
                               "--premake", "3", "--spool-dir", spool_.path(), "--dry-run"},
                              spool_.path() + "-run" + std::to_string(++runs_) + ".log");
    }

    static stream::lsn_t lsn_of(const std::string& dsn, const std::string& sql) {
        auto text = app_connection(dsn).query(sql).get(0, 0);
        auto lsn = stream::parse_lsn(text);
        EXPECT_TRUE(lsn.has_value()) << sql << " gave '" << text << "'";
        return lsn.value_or(0);
    }

    temp_dir spool_;
    int runs_ = 0;
};

}  // namespace

TEST_F(RestartPoint, AStopMovesTheSlotsRestartPointUpToTheStopAndTheResumeLosesNothing) {
    extra_server server({});
    const auto dsn = server.dsn();
    ASSERT_TRUE(load_events_table(dsn, 5000));
    auto setup = run_psql(dsn, "CREATE TABLE filler (id int, pad text);");
    ASSERT_EQ(setup.exit_code, 0) << setup.err;

    auto run = start_run(dsn);
    auto s = wait_caught_up(dsn, "events", run.get());
    const std::string slot_lsn =
        "SELECT restart_lsn FROM pg_replication_slots WHERE slot_name = '" + s.slot_name() + "'";
    // WAL the job decodes and has no use for (an unpublished table, ~25 MB), and changes it
    // does: the job has them all before the stop.
    auto writes = run_psql(dsn,
                           "INSERT INTO filler SELECT g, repeat('x', 400) FROM "
                           "generate_series(1, 50000) g; UPDATE events SET status = 'before the "
                           "stop' WHERE id <= 100;");
    ASSERT_EQ(writes.exit_code, 0) << writes.err;
    wait_caught_up(dsn, "events", run.get());
    const auto before_stop = lsn_of(dsn, "SELECT pg_current_wal_lsn()");
    stop_run(*run);
    const auto log = run->log();
    EXPECT_NE(log.find("acknowledged past a restart point logged at"), std::string::npos) << log;
    // The slot would restart at or before the server's last timed record (the slot's creation
    // here, or one up to 15 s old); after the stop, at the stop.
    EXPECT_GE(lsn_of(dsn, slot_lsn), before_stop) << log;

    // Changes while stopped, then the resume: nothing lost, nothing applied twice.
    auto while_stopped = run_psql(
        dsn,
        "UPDATE events SET status = 'while stopped' WHERE id > 4900; "
        "INSERT INTO events (ts, customer_id, payload) SELECT ts, customer_id, payload FROM "
        "events WHERE id <= 50; DELETE FROM events WHERE id BETWEEN 200 AND 210;");
    ASSERT_EQ(while_stopped.exit_code, 0) << while_stopped.err;
    auto resumed = start_run(dsn);
    wait_caught_up(dsn, "events", resumed.get());
    auto conn = app_connection(dsn);
    EXPECT_EQ(fingerprint(conn, "public.events"), fingerprint(conn, "public.events_new"));
    stop_run(*resumed);
    auto abort = run_partshift({"abort", "--dsn", dsn, "--job", "events"});
    EXPECT_EQ(abort.exit_code, 0) << abort.err;
}
