// Operability, through the real binary: throttling the copy (--throttle-query, --max-copy-rate),
// live control from another shell (pause, resume, set) across a restart of partshift,
// Prometheus metrics scraped during a run, and the WAL-retention guard on a server of its own
// with a small max_slot_wal_keep_size.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "status.pb.h"
#include "support/job_driver.hpp"
#include "support/metrics_scrape.hpp"

using namespace partshift;
using namespace partshift::testing;
using namespace std::chrono_literals;

namespace {

class Operability : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
        db_ = std::make_unique<test_database>();
    }

    std::vector<std::string> run_args(std::vector<std::string> extra = {}) {
        std::vector<std::string> args{
            PARTSHIFT_BINARY, "run",   "--dsn",       db_->dsn(),    "--table",    "events",
            "--partition-by", "range", "--key",       "ts",          "--interval", "1 month",
            "--premake",      "3",     "--spool-dir", spool_.path(), "--dry-run"};
        args.insert(args.end(), extra.begin(), extra.end());
        return args;
    }

    std::unique_ptr<child_process> start_run(std::vector<std::string> extra = {},
                                             const std::string& log_suffix = "") {
        return std::make_unique<child_process>(run_args(std::move(extra)),
                                               spool_.path() + "-run" + log_suffix + ".log");
    }

    proto::status_report wait_for(const std::function<bool(const proto::status_report&)>& pred,
                                  std::chrono::seconds timeout, child_process* run,
                                  const std::string& what) {
        return wait_for_status(db_->dsn(), "events", pred, timeout, run, what);
    }

    proto::status_report status() {
        auto s = job_status(db_->dsn(), "events");
        EXPECT_TRUE(s.has_value());
        return s.value_or(proto::status_report{});
    }

    command_result partshift(std::vector<std::string> args) {
        args.insert(args.begin() + 1, {"--dsn", db_->dsn(), "--job", "events"});
        return run_partshift(args);
    }

    void stop(child_process& run) {
        run.signal(SIGTERM);
        auto code = run.wait(120s);
        ASSERT_TRUE(code.has_value()) << "partshift did not stop on SIGTERM\n" << run.log();
        EXPECT_EQ(*code, 0) << run.log();
    }

    // wait_for_log: the run's log contains `text` within `timeout`.
    bool wait_for_log(child_process& run, const std::string& text, std::chrono::seconds timeout) {
        const auto until = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < until) {
            if (run.log().find(text) != std::string::npos) return true;
            std::this_thread::sleep_for(100ms);
        }
        return false;
    }

    void expect_target_equals_source() {
        auto conn = db_->connect();
        auto source = fingerprint(conn, "public.events");
        auto target = fingerprint(conn, "public.events_new");
        EXPECT_EQ(target.rows, source.rows);
        EXPECT_EQ(target.checksum, source.checksum);
    }

    std::unique_ptr<test_database> db_;
    temp_dir spool_;
};

}  // namespace

// A throttle signal over its limit holds the copy before its first chunk: no rows move, status
// says throttled and why, the stream goes on (the slot moves past new writes); the copy
// finishes once the signal clears, and the target equals the source.
TEST_F(Operability, ThrottleQueryHoldsTheCopyUntilItClears) {
    ASSERT_TRUE(load_events_table(*db_, 100000));
    db_->exec("CREATE TABLE throttle_switch (value int); INSERT INTO throttle_switch VALUES (1)");
    auto run = start_run({"--throttle-query", "SELECT value FROM public.throttle_switch"});
    auto s = wait_for([](const auto& s) { return s.copy_throttled(); }, 120s, run.get(),
                      "throttled in copy");
    EXPECT_EQ(s.phase(), "copy");
    EXPECT_EQ(s.throttle_reason(), "--throttle-query returned 1");
    EXPECT_EQ(s.throttle_limits(), "throttle-query");

    // Writes while throttled: the stream spools them and the slot moves past them.
    auto conn = db_->connect();
    db_->exec(
        "INSERT INTO events (ts, customer_id) SELECT now(), g FROM generate_series(1, 100) g");
    const auto written = conn.exec("SELECT pg_current_wal_lsn()::text").get(0, 0);
    std::this_thread::sleep_for(4s);
    s = status();
    EXPECT_TRUE(s.copy_throttled());
    EXPECT_EQ(s.rows_copied(), 0) << "the copy moved while throttled\n" << run->log();
    EXPECT_EQ(s.chunks_done(), 0);
    EXPECT_TRUE(conn.query("SELECT confirmed_flush_lsn >= $1::pg_lsn FROM pg_replication_slots "
                           "WHERE slot_name = $2",
                           written, s.slot_name())
                    .get_bool(0, 0))
        << "the stream did not go on while the copy was throttled\n"
        << run->log();

    db_->exec("UPDATE throttle_switch SET value = 0");
    s = wait_for([](const auto& s) { return s.phase() == "follow" && s.lag_bytes() == 0; }, 300s,
                 run.get(), "follow after the throttle cleared");
    EXPECT_FALSE(s.copy_throttled());
    EXPECT_EQ(s.throttle_reason(), "");
    stop(*run);
    const auto log = run->log();
    EXPECT_NE(log.find("copy throttled: --throttle-query returned 1"), std::string::npos) << log;
    EXPECT_NE(log.find("copy resumes after"), std::string::npos) << log;
    expect_target_equals_source();
}

// --max-load: sessions waiting for a lock hold the copy back until the lock is released.
// (Server-wide, as a DBA means it: another test's lock waits could only lengthen the wait.)
// The throttle query holds the copy first, since the lock waits must start after the slot is
// created (creating it waits for running transactions); load then names itself as the reason.
TEST_F(Operability, MaxLoadThrottlesWhileSessionsWaitForALock) {
    ASSERT_TRUE(load_events_table(*db_, 20000));
    db_->exec(
        "CREATE TABLE lockme (id int); CREATE TABLE throttle_switch (value int); "
        "INSERT INTO throttle_switch VALUES (1)");
    auto run = start_run({"--max-load", "waiting_backends=1", "--max-replica-lag", "1h",
                          "--throttle-query", "SELECT value FROM public.throttle_switch"});
    wait_for([](const auto& s) { return s.copy_throttled(); }, 120s, run.get(), "throttled");
    auto holder = db_->connect();
    holder.exec("BEGIN; LOCK TABLE lockme IN ACCESS EXCLUSIVE MODE");
    std::vector<std::unique_ptr<child_process>> waiters;
    for (int i = 0; i < 2; ++i)
        waiters.push_back(std::make_unique<child_process>(
            std::vector<std::string>{"psql", "-X", "-q", "-d", db_->dsn(), "-c",
                                     "BEGIN; LOCK TABLE lockme; COMMIT;"},
            spool_.path() + "-waiter" + std::to_string(i) + ".log"));
    auto s = wait_for(
        [](const auto& s) { return s.throttle_reason().rfind("waiting_backends ", 0) == 0; }, 60s,
        run.get(), "throttled on load");
    EXPECT_EQ(s.rows_copied(), 0);
    db_->exec("UPDATE throttle_switch SET value = 0");
    std::this_thread::sleep_for(2s);
    EXPECT_EQ(status().rows_copied(), 0) << "the copy went on while sessions waited\n"
                                         << run->log();
    holder.exec("COMMIT");
    for (auto& w : waiters) EXPECT_EQ(w->wait(60s).value_or(-1), 0) << w->log();
    wait_for([](const auto& s) { return s.phase() == "follow"; }, 300s, run.get(),
             "follow once the lock is released");
    stop(*run);
    EXPECT_NE(run->log().find("copy still throttled: waiting_backends"), std::string::npos)
        << run->log();
}

// A throttle query that cannot run is bad input before anything is created.
TEST_F(Operability, ThrottleQueryThatFailsIsBadInputAndCreatesNothing) {
    ASSERT_TRUE(load_events_table(*db_, 1000));
    const auto args = run_args({"--throttle-query", "SELECT value FROM no_such_table"});
    auto r = run_partshift(std::vector<std::string>(args.begin() + 1, args.end()));
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_TRUE(one_line(r.err)) << r.err;
    EXPECT_NE(r.err.find("--throttle-query failed"), std::string::npos) << r.err;
    auto conn = db_->connect();
    EXPECT_FALSE(conn.exec("SELECT to_regnamespace('partshift') IS NOT NULL").get_bool(0, 0));
    for (const char* bad : {"--max-load=threads=3", "--max-copy-rate=fast", "--slot-wal-limit=lots",
                            "--metrics-addr=nowhere"}) {
        const auto bad_args = run_args({bad});
        auto b = run_partshift(std::vector<std::string>(bad_args.begin() + 1, bad_args.end()));
        EXPECT_EQ(b.exit_code, 2) << bad << ": " << b.err;
        EXPECT_TRUE(one_line(b.err)) << b.err;
    }
}

// pause and resume from another shell take effect within a second and survive a restart of
// partshift; the stream goes on meanwhile.
TEST_F(Operability, PauseAndResumeFromAnotherShellSurviveARestart) {
    ASSERT_TRUE(load_events_table(*db_, 100000));
    // A slow copy (a ceiling), so the pause lands while chunks are pending.
    auto run = start_run({"--max-copy-rate", "10000"});
    wait_for([](const auto& s) { return s.phase() == "copy" && s.running(); }, 120s, run.get(),
             "copy");
    auto r = partshift({"pause"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("paused"), std::string::npos) << r.err;
    EXPECT_TRUE(wait_for_log(*run, "copy paused ('partshift pause')", 3s)) << run->log();
    auto s = wait_for([](const auto& s) { return s.copy_throttled(); }, 10s, run.get(), "paused");
    EXPECT_TRUE(s.copy_paused());
    EXPECT_NE(s.throttle_reason().find("partshift pause"), std::string::npos)
        << s.throttle_reason();

    // Restart partshift: still paused, nothing copied from the start.
    stop(*run);
    const auto before = status();
    run = start_run({}, "2");
    s = wait_for([](const auto& s) { return s.copy_throttled(); }, 60s, run.get(),
                 "paused after the restart");
    EXPECT_TRUE(s.copy_paused());
    EXPECT_EQ(s.max_copy_rate(), 10000) << "the ceiling was not kept with the job";
    std::this_thread::sleep_for(3s);
    EXPECT_EQ(status().chunks_done(), before.chunks_done()) << run->log();
    EXPECT_NE(run->log().find("the copy is paused"), std::string::npos) << run->log();

    r = partshift({"set", "--max-copy-rate", "0"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = partshift({"resume"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(wait_for_log(*run, "copy resumed ('partshift resume')", 3s)) << run->log();
    s = wait_for([](const auto& s) { return s.phase() == "follow"; }, 300s, run.get(),
                 "follow after resume");
    EXPECT_FALSE(s.copy_paused());
    EXPECT_EQ(s.max_copy_rate(), 0);
    stop(*run);
    expect_target_equals_source();
}

// A --max-copy-rate ceiling holds the copy back; `partshift set` lifts it within a second, and
// `set --max-lag` reaches the cutover gate of the running job.
TEST_F(Operability, SetChangesTheCopyRateAndMaxLagWhileRunning) {
    ASSERT_TRUE(load_events_table(*db_, 100000));
    auto run = start_run({"--max-copy-rate", "4000/s"});
    wait_for([](const auto& s) { return s.phase() == "copy" && s.running(); }, 120s, run.get(),
             "copy");
    std::this_thread::sleep_for(4s);
    auto s = status();
    EXPECT_EQ(s.phase(), "copy") << "100000 rows copied in 4 s at 4000 rows/s?\n" << run->log();
    EXPECT_LT(s.rows_copied(), 50000) << run->log();
    EXPECT_EQ(s.max_copy_rate(), 4000);

    auto r = partshift({"set", "--max-copy-rate", "0", "--max-lag", "3s"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("applies it within a second"), std::string::npos) << r.err;
    EXPECT_TRUE(wait_for_log(*run, "copy rate ceiling removed", 3s)) << run->log();
    EXPECT_TRUE(wait_for_log(*run, "cutover max lag now 3000 ms", 3s)) << run->log();
    s = wait_for([](const auto& s) { return s.phase() == "follow"; }, 120s, run.get(),
                 "follow once the ceiling is gone");
    EXPECT_EQ(s.max_lag_seconds(), 3);
    stop(*run);

    // A run flag replaces what `set` kept; without one, the kept value stands.
    run = start_run({"--max-lag", "2s"}, "2");
    wait_for([](const auto& s) { return s.running() && s.max_lag_seconds() == 2; }, 60s, run.get(),
             "--max-lag 2s in effect");
    EXPECT_EQ(status().max_copy_rate(), 0);  // kept from `set`
    stop(*run);
    r = partshift({"set", "--max-copy-rate", "many"});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    r = partshift({"set"});
    EXPECT_EQ(r.exit_code, 2) << r.err;
}

// Progress you can plan by (issue 21 item 1): while the first chunks run (none committed:
// rows_copied is 0 until a chunk commits), status counts their rows as in flight, with a copy
// rate and a time left, in a person's units, and says the growing lag is expected; once
// following, the catch-up says caught up and the log's lag line has no raw floats.
TEST_F(Operability, StatusCountsRunningChunksWithARateAndTimeLeft) {
    ASSERT_TRUE(load_events_table(*db_, 100000));
    // 4,000 rows/s over two 50,000-row chunks: each runs for well over 10 s.
    auto run = start_run({"--max-copy-rate", "4000/s"});
    auto s = wait_for(
        [](const auto& st) {
            return st.phase() == "copy" && st.rows_in_flight() > 0 && st.copy_rate() > 0 &&
                   st.copy_seconds_left() > 0;
        },
        60s, run.get(), "rows in flight with a rate and a time left");
    EXPECT_GT(s.chunks_running(), 0);
    EXPECT_LT(s.rows_copied() + s.rows_in_flight(), s.rows_estimate() + 1);
    EXPECT_LT(s.copy_rate(), 8000) << "the ceiling is 4,000 rows/s";
    EXPECT_FALSE(s.lag_note().empty());
    auto text = partshift({"status"});
    ASSERT_EQ(text.exit_code, 0) << text.err;
    EXPECT_NE(text.out.find("running chunk"), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("rows/s, ~"), std::string::npos) << text.out;
    EXPECT_NE(text.out.find(" left"), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("expected to grow"), std::string::npos) << text.out;

    auto r = partshift({"set", "--max-copy-rate", "0"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    s = wait_for(
        [](const auto& st) { return st.phase() == "follow" && st.catch_up() == "caught up"; }, 120s,
        run.get(), "follow, caught up");
    EXPECT_EQ(s.rows_in_flight(), 0);
    EXPECT_TRUE(s.lag_note().empty()) << s.lag_note();
    text = partshift({"status"});
    EXPECT_NE(text.out.find("catch-up     caught up"), std::string::npos) << text.out;
    EXPECT_TRUE(wait_for_log(*run, "; catch-up caught up", 30s)) << run->log();
    stop(*run);
}

// `status` without --job lists every job (issue 21 item 2; two jobs were exit 2, "pick one
// with --job"): one line each with phase, progress, lag, time left and last error, and with
// --json an array of the one-job objects. No job at all is an empty list, not an error.
TEST_F(Operability, StatusWithoutJobListsEveryJob) {
    ASSERT_TRUE(load_events_table(*db_, 20000));
    auto list = run_partshift({"status", "--dsn", db_->dsn()});
    EXPECT_EQ(list.exit_code, 0) << list.err;
    EXPECT_EQ(list.out, "no partshift job in this database\n");
    list = run_partshift({"status", "--dsn", db_->dsn(), "--json"});
    EXPECT_EQ(list.exit_code, 0) << list.err;
    EXPECT_EQ(list.out, "[]\n");

    // A first job, followed and then stopped: not running.
    auto run = start_run();
    wait_for([](const auto& s) { return s.phase() == "follow" && s.running(); }, 300s, run.get(),
             "the first job following");
    stop(*run);
    // A second job, on a table of its own (the target's partition names come from the
    // source's), running.
    db_->exec(
        "CREATE TABLE events2 (LIKE events INCLUDING ALL); "
        "INSERT INTO events2 SELECT * FROM events");
    std::vector<std::string> other_args{
        PARTSHIFT_BINARY, "run",   "--dsn",       db_->dsn(),    "--table",    "events2",
        "--partition-by", "range", "--key",       "ts",          "--interval", "1 month",
        "--premake",      "3",     "--spool-dir", spool_.path(), "--dry-run"};
    auto other = std::make_unique<child_process>(other_args, spool_.path() + "-other.log");
    wait_for_status(
        db_->dsn(), "events2",
        [](const auto& s) {
            return s.phase() == "follow" && s.running() && s.catch_up() == "caught up";
        },
        300s, other.get(), "the second job following, caught up");

    list = run_partshift({"status", "--dsn", db_->dsn()});
    ASSERT_EQ(list.exit_code, 0) << list.err;
    std::istringstream lines(list.out);
    std::vector<std::string> rows;
    for (std::string line; std::getline(lines, line);) rows.push_back(line);
    ASSERT_EQ(rows.size(), 3u) << list.out;
    EXPECT_EQ(rows[0].rfind("JOB ", 0), 0u) << list.out;
    EXPECT_NE(rows[0].find("TIME LEFT"), std::string::npos) << list.out;
    EXPECT_EQ(rows[1].rfind("events ", 0), 0u) << list.out;  // oldest first
    EXPECT_NE(rows[1].find("follow (not running)"), std::string::npos) << list.out;
    EXPECT_EQ(rows[2].rfind("events2 ", 0), 0u) << list.out;
    EXPECT_EQ(rows[2].find("not running"), std::string::npos) << list.out;
    EXPECT_NE(rows[2].find("caught up"), std::string::npos) << list.out;

    list = run_partshift({"status", "--dsn", db_->dsn(), "--json"});
    ASSERT_EQ(list.exit_code, 0) << list.err;
    ASSERT_EQ(list.out.front(), '[') << list.out;
    const size_t events_at = list.out.find(R"({"job":"events","phase":"follow")");
    const size_t other_at = list.out.find(R"(},{"job":"events2","phase":"follow")");
    EXPECT_NE(events_at, std::string::npos) << list.out;
    EXPECT_NE(other_at, std::string::npos) << list.out;
    EXPECT_LT(events_at, other_at) << list.out;
    // --job still prints the one job in full.
    auto one = partshift({"status"});
    EXPECT_EQ(one.exit_code, 0) << one.err;
    EXPECT_EQ(one.out.rfind("job          events", 0), 0u) << one.out;
    stop(*other);
}

// /metrics answers during a run with the job's figures, throttled state and reason included.
TEST_F(Operability, MetricsAreScrapedDuringARun) {
    ASSERT_TRUE(load_events_table(*db_, 50000));
    db_->exec("CREATE TABLE throttle_switch (value int); INSERT INTO throttle_switch VALUES (1)");
    const int port = free_port();
    auto run = start_run({"--metrics-addr", "127.0.0.1:" + std::to_string(port), "--throttle-query",
                          "SELECT value FROM public.throttle_switch"});
    wait_for([](const auto& s) { return s.copy_throttled(); }, 120s, run.get(), "throttled");
    std::map<std::string, double> m;
    const std::string job = "job=\"events\"";
    for (int i = 0; i < 50; ++i) {
        m = scrape(port);
        if (m[R"(partshift_copy_throttled{)" + job + R"(,reason="throttle_query"})"] == 1) break;
        std::this_thread::sleep_for(200ms);
    }
    ASSERT_FALSE(m.empty()) << "nothing answered on port " << port << "\n" << run->log();
    EXPECT_EQ((m[R"(partshift_copy_throttled{)" + job + R"(,reason="throttle_query"})"]), 1);
    EXPECT_EQ((m[R"(partshift_copy_throttled{)" + job + R"(,reason="paused"})"]), 0);
    EXPECT_EQ((m[R"(partshift_phase{)" + job + R"(,phase="copy"})"]), 1);
    EXPECT_EQ((m[R"(partshift_phase{)" + job + R"(,phase="follow"})"]), 0);
    EXPECT_GT(m["partshift_rows_estimated{" + job + "}"], 0);
    EXPECT_EQ(m["partshift_rows_copied_total{" + job + "}"], 0);
    EXPECT_TRUE(m.count("partshift_slot_retained_wal_bytes{" + job + "}"));

    db_->exec("UPDATE throttle_switch SET value = 0");
    wait_for([](const auto& s) { return s.phase() == "follow" && s.lag_bytes() == 0; }, 300s,
             run.get(), "follow");
    for (int i = 0; i < 50; ++i) {
        m = scrape(port);
        if (m[R"(partshift_phase{)" + job + R"(,phase="follow"})"] == 1 &&
            m["partshift_lag_seconds{" + job + "}"] == 0 &&
            m["partshift_lag_bytes{" + job + "}"] == 0)
            break;
        std::this_thread::sleep_for(200ms);
    }
    EXPECT_EQ((m[R"(partshift_phase{)" + job + R"(,phase="follow"})"]), 1);
    EXPECT_EQ((m[R"(partshift_copy_throttled{)" + job + R"(,reason="throttle_query"})"]), 0);
    EXPECT_EQ(m["partshift_rows_copied_total{" + job + "}"], 50000);
    EXPECT_EQ(m["partshift_lag_seconds{" + job + "}"], 0);
    EXPECT_EQ(m["partshift_lag_bytes{" + job + "}"], 0);
    EXPECT_GT(m["partshift_applied_lsn_bytes{" + job + "}"], 0);
    EXPECT_GT(m["partshift_source_lsn_bytes{" + job + "}"], 0);
    // One lane (PARTSHIFT_TEST_APPLY_WORKERS is not this test's): its position is the job's.
    EXPECT_EQ(m["partshift_apply_lanes{" + job + "}"], 1);
    EXPECT_EQ((m[R"(partshift_apply_lane_applied_lsn_bytes{)" + job + R"(,lane="0"})"]),
              m["partshift_applied_lsn_bytes{" + job + "}"]);
    EXPECT_FALSE(m.count(R"(partshift_apply_lane_applied_lsn_bytes{)" + job + R"(,lane="1"})"));
    EXPECT_TRUE(m.count("partshift_errors_total{" + job + "}"));
    EXPECT_TRUE(m.count("partshift_cutover_attempts_total{" + job + "}"));

    // The port is taken now: a second run's metrics cannot listen, which is bad input.
    auto second = run_partshift({"run", "--dsn", db_->dsn(), "--table", "events", "--job", "other",
                                 "--target-name", "events_other", "--partition-by", "range",
                                 "--key", "ts", "--interval", "1 month", "--dry-run",
                                 "--metrics-addr", "127.0.0.1:" + std::to_string(port)});
    EXPECT_EQ(second.exit_code, 2) << second.err;
    EXPECT_NE(second.err.find("cannot listen"), std::string::npos) << second.err;
    stop(*run);
}

// Metrics match `status --json` at every phase (issue 21 item 3): the lag has a sample during
// the copy (it was NaN), only partshift's series are served (no exposer_*), the forward job
// keeps phase done and its lock hold after the swap while the revert window's reverse job has
// series of its own, and the endpoint lingers until a scrape has read `done`.
TEST_F(Operability, MetricsMatchStatusThroughCutoverAndRevertWindow) {
    ASSERT_TRUE(load_events_table(*db_, 20000));
    db_->exec("CREATE TABLE throttle_switch (value int); INSERT INTO throttle_switch VALUES (1)");
    const int port = free_port();
    std::vector<std::string> args{PARTSHIFT_BINARY,
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
                                  "--postpone-cutover",
                                  "--revert-window",
                                  "10m",
                                  "--metrics-addr",
                                  "127.0.0.1:" + std::to_string(port),
                                  "--metrics-linger",
                                  "120s",
                                  "--throttle-query",
                                  "SELECT value FROM public.throttle_switch"};
    auto run = std::make_unique<child_process>(args, spool_.path() + "-run.log");
    const std::string job = "job=\"events\"";
    auto no_library_series_nor_nan = [](const std::map<std::string, double>& m) {
        for (const auto& [series, value] : m) {
            EXPECT_NE(series.rfind("exposer_", 0), 0u) << series;
            EXPECT_FALSE(std::isnan(value)) << series;
        }
    };

    // Copy (held by the throttle query): the lag is measured and the same in both.
    wait_for([](const auto& s) { return s.copy_throttled() && s.lag_bytes() > 0; }, 120s, run.get(),
             "throttled copy with a lag");
    bool lag_matched = false;
    std::map<std::string, double> m;
    for (int i = 0; i < 100 && !lag_matched; ++i) {
        m = scrape(port);
        const auto s = status();
        const std::string lag = "partshift_lag_bytes{" + job + "}";
        lag_matched = m.count(lag) && m[lag] == s.lag_bytes() && s.phase() == "copy";
        if (!lag_matched) std::this_thread::sleep_for(100ms);
    }
    EXPECT_TRUE(lag_matched) << "partshift_lag_bytes never equalled status's lag_bytes\n"
                             << run->log();
    EXPECT_EQ((m[R"(partshift_phase{)" + job + R"(,phase="copy"})"]), 1);
    no_library_series_nor_nan(m);

    // Follow, waiting for `partshift cutover`: rows, lag and catch-up as status has them.
    db_->exec("UPDATE throttle_switch SET value = 0");
    auto s = wait_for(
        [](const auto& st) {
            return st.phase() == "follow" && st.lag_bytes() == 0 && st.catch_up() == "caught up";
        },
        300s, run.get(), "follow, caught up");
    for (int i = 0; i < 50; ++i) {
        m = scrape(port);
        if (m[R"(partshift_phase{)" + job + R"(,phase="follow"})"] == 1 &&
            m["partshift_lag_bytes{" + job + "}"] == 0 &&
            m[R"(partshift_catch_up{)" + job + R"(,state="caught_up"})"] == 1)
            break;
        std::this_thread::sleep_for(200ms);
    }
    EXPECT_EQ(m["partshift_rows_copied_total{" + job + "}"], s.rows_copied());
    EXPECT_EQ(m["partshift_copy_chunks_done{" + job + "}"], s.chunks_done());
    EXPECT_EQ(m["partshift_lag_bytes{" + job + "}"], 0);
    EXPECT_EQ((m[R"(partshift_catch_up{)" + job + R"(,state="caught_up"})"]), 1);
    EXPECT_EQ((m[R"(partshift_catch_up{)" + job + R"(,state="not_converging"})"]), 0);
    no_library_series_nor_nan(m);

    // The swap: the forward job's series stay (done, its lock hold), the reverse job's are
    // its own.
    auto cut = partshift({"cutover"});
    ASSERT_EQ(cut.exit_code, 0) << cut.err << run->log();
    s = status();
    ASSERT_EQ(s.phase(), "done");
    ASSERT_GT(s.lock_hold_ms(), 0);
    const std::string reverse = "job=\"events.revert\"";
    bool both = false;
    for (int i = 0; i < 100 && !both; ++i) {
        m = scrape(port);
        both = m[R"(partshift_phase{)" + job + R"(,phase="done"})"] == 1 &&
               m.count(R"(partshift_phase{)" + reverse + R"(,phase="follow"})") &&
               m[R"(partshift_phase{)" + reverse + R"(,phase="follow"})"] == 1;
        if (!both) std::this_thread::sleep_for(200ms);
    }
    EXPECT_TRUE(both) << run->log();
    EXPECT_NEAR(m["partshift_cutover_last_lock_hold_seconds{" + job + "}"],
                s.lock_hold_ms() / 1000.0, 1e-6);
    EXPECT_EQ(m["partshift_lag_bytes{" + job + "}"], 0);
    EXPECT_EQ(m["partshift_rows_copied_total{" + job + "}"], s.rows_copied());
    EXPECT_EQ(m["partshift_cutover_last_lock_hold_seconds{" + reverse + "}"], 0);
    no_library_series_nor_nan(m);

    // The window ends; the run exits once a scrape has read its last figures, well before
    // its 120 s linger.
    auto finish = partshift({"finish"});
    ASSERT_EQ(finish.exit_code, 0) << finish.err;
    std::optional<int> code;
    for (int i = 0; i < 300 && !code; ++i) {
        m = scrape(port);
        code = run->wait(std::chrono::seconds(0));
        if (!code) std::this_thread::sleep_for(100ms);
    }
    if (!code) code = run->wait(10s);
    ASSERT_TRUE(code.has_value()) << "the run did not end after a scrape\n" << run->log();
    EXPECT_EQ(*code, 0) << run->log();
}

namespace {

// WalGuardTest: a server of its own with a small max_slot_wal_keep_size (160MB: ten 16MB
// segments, so segment rounding stays small against it): the shared sandbox's other tests
// must not have their slots judged by it.
class WalGuardTest : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
        server_ = std::make_unique<extra_server>(std::vector<std::string>{
            "max_slot_wal_keep_size = 160MB", "max_wal_size = 4GB", "checkpoint_timeout = 1h"});
        dsn_ = server_->dsn();
        auto conn = app_connection(dsn_);
        conn.exec(
            "CREATE TABLE items (id bigserial PRIMARY KEY, ts timestamptz NOT NULL DEFAULT now(), "
            "note text); INSERT INTO items (ts, note) SELECT now() - g * interval '1 hour', "
            "md5(g::text) FROM generate_series(1, 20000) g; "
            "CREATE TABLE filler (id bigint, pad text); CREATE TABLE pin (id int)");
    }

    std::unique_ptr<child_process> start_run(const std::string& log_suffix,
                                             std::vector<std::string> extra = {}) {
        std::vector<std::string> args{PARTSHIFT_BINARY, "run",         "--dsn",          dsn_,
                                      "--table",        "items",       "--partition-by", "range",
                                      "--key",          "ts",          "--interval",     "1 month",
                                      "--spool-dir",    spool_.path(), "--dry-run"};
        args.insert(args.end(), extra.begin(), extra.end());
        return std::make_unique<child_process>(args, spool_.path() + "-run" + log_suffix + ".log");
    }

    proto::status_report wait_for(const std::function<bool(const proto::status_report&)>& pred,
                                  child_process* run, const std::string& what) {
        return wait_for_status(dsn_, "items", pred, 300s, run, what);
    }

    // write_wal: about `mb` MB of WAL in a table outside the publication.
    void write_wal(pg::connection& conn, int mb) {
        conn.exec("INSERT INTO filler SELECT g, repeat('x', 1000) FROM generate_series(1, " +
                  std::to_string(mb * 900) + ") g");
    }

    std::unique_ptr<extra_server> server_;
    std::string dsn_;
    temp_dir spool_;
};

}  // namespace

// A transaction left open pins the slot while WAL grows: the guard warns, then stops the run
// (exit 5, one line) before the server would invalidate the slot. Once the transaction ends,
// the same run command resumes from the checkpoint and drains the slot.
TEST_F(WalGuardTest, StopsBeforeTheSlotIsInvalidatedAndTheJobResumes) {
    auto run = start_run("1");
    wait_for([](const auto& s) { return s.phase() == "follow"; }, run.get(), "follow");
    auto pin = app_connection(dsn_, "partshift-test-pin");
    pin.exec("BEGIN; INSERT INTO pin VALUES (1)");  // holds the slot's restart point back
    auto writer = app_connection(dsn_, "partshift-test-writer");
    std::optional<int> code;
    // Small steps, so the run stops well before the limit itself (and the server's
    // judgement, in 16MB segments) is reached.
    for (int i = 0; i < 300 && !code; ++i) {
        write_wal(writer, 1);
        code = run->wait(std::chrono::seconds(0));
        if (!code) std::this_thread::sleep_for(150ms);
    }
    ASSERT_TRUE(code.has_value()) << "the guard never stopped the run\n" << run->log();
    EXPECT_EQ(*code, 5) << run->log();
    const auto log = run->log();
    EXPECT_NE(log.find("WAL guard: the slot pins"), std::string::npos) << log;
    EXPECT_NE(log.find("stopped before the server invalidates slot"), std::string::npos) << log;
    EXPECT_NE(log.find("max_slot_wal_keep_size allows"), std::string::npos) << log;
    auto s = job_status(dsn_, "items");
    ASSERT_TRUE(s.has_value());
    EXPECT_NE(s->wal_status(), "lost");
    EXPECT_NE(s->last_error().find("stopped before the server invalidates"), std::string::npos);
    EXPECT_GE(s->retained_wal_bytes(), 0.75 * (160 << 20));
    ASSERT_LT(s->retained_wal_bytes(), 160 << 20) << "the test wrote past the limit";

    // What held the slot back ends; the same command resumes and drains the slot.
    pin.exec("COMMIT");
    pg::connection(dsn_, "partshift-test").exec("CHECKPOINT");  // a running-xacts record now
    run = start_run("2");
    auto drained = wait_for(
        [](const auto& s) {
            return s.phase() == "follow" && s.running() && s.retained_wal_bytes() < (40 << 20);
        },
        run.get(), "the slot drained after the resume");
    EXPECT_NE(drained.wal_status(), "lost");
    run->signal(SIGTERM);
    auto stopped = run->wait(120s);
    ASSERT_TRUE(stopped.has_value());
    EXPECT_EQ(*stopped, 0) << run->log();
}

// A slot the server invalidated while no run was active: the next run says start over (exit 5,
// the guard's, as for a slot invalidated for idleness on 18; one line), and status says so too.
TEST_F(WalGuardTest, LostSlotSaysStartOver) {
    auto run = start_run("1");
    wait_for([](const auto& s) { return s.phase() == "follow"; }, run.get(), "follow");
    run->signal(SIGTERM);
    ASSERT_EQ(run->wait(120s).value_or(-1), 0) << run->log();
    // Nobody reads the slot now: all WAL from here on is pinned.
    auto writer = app_connection(dsn_, "partshift-test-writer");
    for (int i = 0; i < 25; ++i) write_wal(writer, 8);  // ~200MB > 160MB
    writer.exec("CHECKPOINT");
    ASSERT_EQ(writer.exec("SELECT wal_status FROM pg_replication_slots").get(0, 0), "lost");

    auto r =
        run_partshift({"run", "--dsn", dsn_, "--table", "items", "--partition-by", "range", "--key",
                       "ts", "--interval", "1 month", "--spool-dir", spool_.path(), "--dry-run"});
    EXPECT_EQ(r.exit_code, 5) << r.err;
    // The error is the last line on stderr, after the job's log lines.
    const std::string last = r.err.substr(r.err.rfind('\n', r.err.size() - 2) + 1);
    EXPECT_EQ(last.rfind("partshift: slot ", 0), 0u) << r.err;
    EXPECT_NE(last.find("start over"), std::string::npos) << r.err;
    EXPECT_NE(last.find("invalidated"), std::string::npos) << r.err;
    EXPECT_NE(last.find("max_slot_wal_keep_size"), std::string::npos) << r.err;
    auto text = run_partshift({"status", "--dsn", dsn_, "--job", "items"});
    EXPECT_NE(text.out.find("start over"), std::string::npos) << text.out;
}

// --postpone-cutover-flag: ready to cut over, the run waits while the file exists and cuts
// over once it is deleted.
TEST_F(Operability, PostponeCutoverFlagHoldsTheCutoverWhileTheFileExists) {
    ASSERT_TRUE(load_events_table(*db_, 5000));
    const std::string flag = spool_.path() + "-postpone";
    std::ofstream(flag) << "wait\n";
    auto args = run_args({"--postpone-cutover-flag", flag});
    args.erase(std::find(args.begin(), args.end(), "--dry-run"));
    child_process run(args, spool_.path() + "-run.log");
    auto s = wait_for(
        [](const auto& s) {
            return s.cutover_state() == "postponed while the --postpone-cutover-flag file exists";
        },
        180s, &run, "postponed by the flag file");
    EXPECT_EQ(s.phase(), "follow");
    std::this_thread::sleep_for(2s);
    EXPECT_EQ(status().phase(), "follow") << run.log();
    std::filesystem::remove(flag);
    auto code = run.wait(120s);
    ASSERT_TRUE(code.has_value()) << run.log();
    EXPECT_EQ(*code, 0) << run.log();
    EXPECT_EQ(status().phase(), "done");
    EXPECT_NE(run.log().find("postponed while " + flag + " exists"), std::string::npos)
        << run.log();
}
