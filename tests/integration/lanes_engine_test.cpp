// The K-lane applier (run --apply-workers 4) end to end, through the real binary: killed with
// SIGKILL while applying under pgbench load (inserts, updates, TOAST-untouched updates,
// partition-key moves, primary-key changes behind barriers, deletes) while its lanes stand at
// different positions, then run again: every lane resumes from its own row of
// partshift.apply_lanes and the target equals the source by content. And `partshift set
// --apply-workers` while the job follows under load: the running applier changes its lanes.
#include <gtest/gtest.h>
#include <signal.h>

#include <thread>

#include "status.pb.h"
#include "support/job_driver.hpp"

using namespace partshift;
using namespace partshift::testing;
using namespace std::chrono_literals;

namespace {

const std::string workload_dir = std::string(PARTSHIFT_SOURCE_DIR) + "/tests/workload";

// drain_then_stop: once the load has ended, until the run follows with nothing left to apply
// (twice, apart: the status must have seen the last WAL), then SIGTERM: it must exit 0.
void drain_then_stop(const test_database& db, child_process& load, child_process& run) {
    ASSERT_TRUE(load.wait(120s).has_value());
    for (int i = 0; i < 2; ++i) {
        wait_for_status(
            db.dsn(), "events",
            [](const auto& s) { return s.phase() == "follow" && s.lag_bytes() == 0; }, 300s, &run,
            "lag 0 in follow");
        std::this_thread::sleep_for(1500ms);
    }
    run.signal(SIGTERM);
    auto code = run.wait(120s);
    ASSERT_TRUE(code.has_value()) << run.log();
    EXPECT_EQ(*code, 0) << run.log();
}

TEST(LanesEngineTest, KillNineWithLanesApartThenRunAgainConverges) {
    if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
    test_database db;
    temp_dir spool;
    ASSERT_TRUE(load_events_table(db, 100000));
    const std::vector<std::string> run_args{PARTSHIFT_BINARY,
                                            "run",
                                            "--dsn",
                                            db.dsn(),
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
                                            spool.path(),
                                            "--dry-run",
                                            "--apply-workers",
                                            "4"};
    auto load = std::make_unique<child_process>(
        std::vector<std::string>{"pgbench", "-n", "-M", "prepared", "-c", "3", "-j", "1", "-T",
                                 "45", "-f", workload_dir + "/events_writes.pgbench", db.name()},
        spool.path() + "-pgbench.log");
    auto conn = db.connect();
    auto lanes_apart = [&] {
        auto r = conn.exec(
            "SELECT count(*), count(DISTINCT (applied_lsn, partial_lsn, partial_changes)) "
            "FROM partshift.apply_lanes WHERE job = 'events'");
        return r.get_int(0, 0) == 4 && r.get_int(0, 1) > 1;
    };
    // A pause after each lane's commit but the last keeps the lanes apart most of the time.
    // A lane whose COMMIT was on its way when the kill came still commits (its backend goes
    // on), which may bring the lanes together again: then the run resumes and is killed again.
    for (int attempt = 1; attempt <= 3; ++attempt) {
        auto run = start_with_env({"PARTSHIFT_TEST_LANE_COMMIT_PAUSE_MS=200"}, run_args,
                                  spool.path() + "-run" + std::to_string(attempt) + ".log");
        // From replay on the applier runs; the load goes on, so batches keep committing.
        wait_for_status(
            db.dsn(), "events",
            [](const auto& s) { return s.phase() == "replay" || s.phase() == "follow"; }, 300s,
            run.get(), "phase replay");
        const auto give_up = std::chrono::steady_clock::now() + 60s;
        while (!lanes_apart() && std::chrono::steady_clock::now() < give_up) {
            ASSERT_TRUE(run->running()) << run->log();
            std::this_thread::sleep_for(20ms);
        }
        run->signal(SIGKILL);
        ASSERT_TRUE(run->wait(30s).has_value());
        if (lanes_apart()) break;
    }
    // What makes the test: the killed run left its lanes at different positions.
    ASSERT_TRUE(lanes_apart()) << conn.exec(
                                          "SELECT string_agg(format('%s:%s/%s/%s', lane, "
                                          "applied_lsn, partial_lsn, partial_changes), ' ') "
                                          "FROM partshift.apply_lanes")
                                      .get(0, 0);

    auto again = start_with_env({}, run_args, spool.path() + "-run-again.log");
    drain_then_stop(db, *load, *again);

    auto source = fingerprint(conn, "public.events");
    auto target = fingerprint(conn, "public.events_new");
    EXPECT_GT(source.rows, 90000);
    EXPECT_EQ(target.rows, source.rows);
    EXPECT_EQ(target.checksum, source.checksum);
    EXPECT_EQ(conn.exec("SELECT count(*) FROM events_new WHERE big IS NOT NULL").get_int(0, 0),
              conn.exec("SELECT count(*) FROM events WHERE big IS NOT NULL").get_int(0, 0));
    // A clean stop leaves every lane at one applied LSN (a barrier's marks aside).
    EXPECT_EQ(conn.exec("SELECT count(DISTINCT applied_lsn) FROM partshift.apply_lanes "
                        "WHERE job = 'events'")
                  .get_int(0, 0),
              1);
}

// lanes_in_log: the applier's line for a change of lanes ("N apply lanes → M") is in the log.
bool lanes_in_log(const child_process& run, int from, int to) {
    return run.log().find("applier: " + std::to_string(from) + " apply lanes → " +
                          std::to_string(to)) != std::string::npos;
}

TEST(LanesEngineTest, SetApplyWorkersWhileFollowingChangesTheLanesOfTheRunningJob) {
    if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
    test_database db;
    temp_dir spool;
    ASSERT_TRUE(load_events_table(db, 20000));
    auto load = std::make_unique<child_process>(
        std::vector<std::string>{"pgbench", "-n", "-M", "prepared", "-c", "2", "-j", "1", "-T",
                                 "40", "-R", "200", "-f", workload_dir + "/events_writes.pgbench",
                                 db.name()},
        spool.path() + "-pgbench.log");
    auto run = start_with_env(
        {},
        {PARTSHIFT_BINARY, "run", "--dsn", db.dsn(), "--table", "events", "--partition-by", "range",
         "--key", "ts", "--interval", "1 month", "--premake", "3", "--spool-dir", spool.path(),
         "--dry-run", "--apply-workers", "1"},
        spool.path() + "-run.log");
    wait_for_status(
        db.dsn(), "events", [](const auto& s) { return s.phase() == "follow"; }, 300s, run.get(),
        "phase follow");
    auto conn = db.connect();
    auto lane_rows = [&] {
        return conn.exec("SELECT count(*) FROM partshift.apply_lanes WHERE job = 'events'")
            .get_int(0, 0);
    };
    EXPECT_EQ(lane_rows(), 0);  // one lane keeps its position in the job's row

    // Up to 3 lanes while the load writes, then down to 2: each taken by the running applier.
    for (auto [from, to] : {std::pair{1, 3}, std::pair{3, 2}}) {
        auto set = run_partshift(
            {"set", "--dsn", db.dsn(), "--job", "events", "--apply-workers", std::to_string(to)});
        ASSERT_EQ(set.exit_code, 0) << set.err;
        EXPECT_NE(set.err.find(std::to_string(to) + " apply lanes"), std::string::npos) << set.err;
        const auto give_up = std::chrono::steady_clock::now() + 60s;
        while (!(lanes_in_log(*run, from, to) && lane_rows() == to) &&
               std::chrono::steady_clock::now() < give_up) {
            ASSERT_TRUE(run->running()) << run->log();
            std::this_thread::sleep_for(100ms);
        }
        ASSERT_TRUE(lanes_in_log(*run, from, to)) << run->log();
        ASSERT_EQ(lane_rows(), to);
        std::this_thread::sleep_for(3s);  // the new lanes apply the load for a while
    }
    auto bad =
        run_partshift({"set", "--dsn", db.dsn(), "--job", "events", "--apply-workers", "17"});
    EXPECT_EQ(bad.exit_code, 2) << bad.err;
    // status says how many and where that came from.
    auto status = job_status(db.dsn(), "events");
    ASSERT_TRUE(status);
    EXPECT_EQ(status->apply_workers(), 2);
    const auto* lanes = find_setting(*status, "apply workers");
    EXPECT_TRUE(lanes) << status->DebugString();
    if (lanes) {
        EXPECT_EQ(lanes->value(), "2");
        EXPECT_EQ(lanes->source(), "set");
    }
    // ... and where each lane stands: none behind the job's applied LSN (their lowest, written
    // with the last lane's commit), in the JSON and in the text.
    ASSERT_EQ(status->apply_lanes_size(), 2) << status->DebugString();
    for (int i = 0; i < 2; ++i) {
        const auto& lane = status->apply_lanes(i);
        EXPECT_EQ(lane.lane(), i);
        EXPECT_TRUE(
            conn.query("SELECT $1::pg_lsn >= $2::pg_lsn", lane.applied_lsn(), status->applied_lsn())
                .get_bool(0, 0))
            << status->DebugString();
    }
    auto text = run_partshift({"status", "--dsn", db.dsn(), "--job", "events"});
    ASSERT_EQ(text.exit_code, 0) << text.err;
    EXPECT_NE(text.out.find("apply lanes  2, applied up to "), std::string::npos) << text.out;

    drain_then_stop(db, *load, *run);
    auto source = fingerprint(conn, "public.events");
    auto target = fingerprint(conn, "public.events_new");
    EXPECT_GT(source.rows, 20000);
    EXPECT_EQ(target.rows, source.rows);
    EXPECT_EQ(target.checksum, source.checksum);
    EXPECT_EQ(
        conn.exec("SELECT apply_workers FROM partshift.jobs WHERE job = 'events'").get_int(0, 0),
        2);
}

}  // namespace
