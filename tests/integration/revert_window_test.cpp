// The revert window end to end (issue 10), through the real binary: pgbench clients (prepared
// protocol) write across the cutover and then across `partshift revert`, recording every
// committed write in a ledger in the same transaction; at the end each write is in the original,
// non-partitioned table exactly once. Also: the window expiring and `finish` leave no slot or
// publication behind, and kill -9 during the window resumes the reverse stream from its
// checkpoint.
#include <gtest/gtest.h>

#include <signal.h>

#include <thread>

#include "status.pb.h"
#include "support/job_driver.hpp"
#include "support/ledger_load.hpp"

using namespace partshift;
using namespace partshift::testing;
using namespace std::chrono_literals;

namespace {

class RevertWindowTest : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
        db_ = std::make_unique<test_database>();
        ASSERT_TRUE(load_events_table(*db_, 30000));
        create_ledger(*db_);
    }

    std::unique_ptr<child_process> start_run(std::vector<std::string> extra) {
        std::vector<std::string> argv{
            PARTSHIFT_BINARY, "run",   "--dsn",       db_->dsn(),    "--table",    "events",
            "--partition-by", "range", "--key",       "ts",          "--interval", "1 month",
            "--premake",      "3",     "--spool-dir", spool_.path(), "--max-lag",  "2s"};
        argv.insert(argv.end(), extra.begin(), extra.end());
        return std::make_unique<child_process>(
            argv, spool_.path() + "-run" + std::to_string(++runs_) + ".log");
    }

    std::unique_ptr<child_process> load(int seconds) {
        return start_ledger_load(*db_, "prepared", seconds,
                                 spool_.path() + "-pgbench" + std::to_string(++loads_) + ".log");
    }

    proto::status_report wait_for(const std::function<bool(const proto::status_report&)>& pred,
                                  std::chrono::seconds timeout, child_process* run,
                                  const std::string& what) {
        return wait_for_status(db_->dsn(), "events", pred, timeout, run, what);
    }

    int64_t count(const std::string& sql) {
        auto conn = db_->connect();
        return conn.exec(sql).get_int(0, 0);
    }

    int64_t replication_objects() {
        return count(
            "SELECT (SELECT count(*) FROM pg_replication_slots WHERE database = "
            "current_database()) + (SELECT count(*) FROM pg_publication)");
    }

    // reverse_converged: NAME_old equals the partitioned NAME (waits for the reverse stream
    // to apply what the load wrote).
    void expect_reverse_converged(child_process* run) {
        auto conn = db_->connect();
        const auto deadline = std::chrono::steady_clock::now() + 60s;
        while (fingerprint(conn, "public.events") != fingerprint(conn, "public.events_old")) {
            ASSERT_LT(std::chrono::steady_clock::now(), deadline)
                << "events_old never caught up with events\n"
                << (run ? run->log() : "");
            std::this_thread::sleep_for(200ms);
        }
    }

    // finish_the_window: `partshift finish` ends the window the run follows; the run exits 0
    // and leaves no slot or publication.
    void finish_the_window(child_process& run) {
        auto finish = run_partshift({"finish", "--dsn", db_->dsn(), "--job", "events"});
        EXPECT_EQ(finish.exit_code, 0) << finish.out << finish.err;
        auto code = run.wait(60s);
        ASSERT_TRUE(code.has_value()) << run.log();
        EXPECT_EQ(*code, 0) << run.log();
        EXPECT_EQ(replication_objects(), 0);
    }

    std::unique_ptr<test_database> db_;
    temp_dir spool_;
    int runs_ = 0, loads_ = 0;
};

}  // namespace

TEST_F(RevertWindowTest, NoWriteLostAcrossTheCutoverAndTheRevert) {
    auto first = load(25);
    auto run = start_run({"--revert-window", "10m"});
    auto s = wait_for([](const auto& st) { return st.revert_state() == "open"; }, 240s, run.get(),
                      "revert window open");
    EXPECT_EQ(relkind(*db_, "public.events"), "p");
    EXPECT_EQ(relkind(*db_, "public.events_old"), "r");
    EXPECT_TRUE(first->running()) << "the load should run across the cutover";
    expect_pgbench_clean(*first);
    // Every write made after the swap reached events_old, and none before it twice (an update
    // applied twice would show in the checksum); the forward direction holds as well.
    expect_reverse_converged(run.get());
    expect_ledger_holds(*db_, "events");
    auto verify = run_partshift({"verify", "--dsn", db_->dsn(), "--job", "events"});
    EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
    s = *job_status(db_->dsn(), "events");
    EXPECT_TRUE(s.reverse_running());
    EXPECT_EQ(s.reverse_job(), "events.revert");

    // Now back, under load again.
    auto second = load(20);
    std::this_thread::sleep_for(5s);
    auto revert = run_partshift({"revert", "--dsn", db_->dsn(), "--job", "events"});
    EXPECT_EQ(revert.exit_code, 0) << revert.out << revert.err << run->log();
    EXPECT_NE(revert.out.find("reverted"), std::string::npos) << revert.out;
    EXPECT_TRUE(second->running()) << "the load should run across the revert";
    auto code = run->wait(120s);
    ASSERT_TRUE(code.has_value()) << run->log();
    EXPECT_EQ(*code, 0) << run->log();
    expect_pgbench_clean(*second);
    EXPECT_EQ(relkind(*db_, "public.events"), "r");
    EXPECT_EQ(relkind(*db_, "public.events_partitioned"), "p");
    EXPECT_EQ(relkind(*db_, "public.events_old"), "-");
    // Every committed write of both loads is in the original table, exactly once.
    expect_ledger_holds(*db_, "events");
    EXPECT_EQ(replication_objects(), 0);
    s = *job_status(db_->dsn(), "events");
    EXPECT_EQ(s.revert_state(), "reverted");
    EXPECT_NE(s.revert_summary().find("original table again"), std::string::npos);
    // The original's indexes have their names back; the partitioned table's are suffixed.
    EXPECT_EQ(count("SELECT count(*) FROM pg_indexes WHERE tablename = 'events' AND indexname = "
                    "'events_pkey'"),
              1);
    // Inserts without an explicit id go on without collisions.
    db_->exec("INSERT INTO events (ts, customer_id) VALUES (now(), 1), (now(), 2)");
}

// The window asked for at `partshift cutover` (status shows it as the window's setting),
// then ended by `partshift finish`.
TEST_F(RevertWindowTest, FinishLeavesNoSlotOrPublication) {
    {
        auto run = start_run({"--postpone-cutover"});
        wait_for([](const auto& st) { return st.cutover_state() == "waiting for cutover"; }, 240s,
                 run.get(), "waiting for cutover");
        auto cut = run_partshift(
            {"cutover", "--dsn", db_->dsn(), "--job", "events", "--revert-window", "10m"});
        EXPECT_EQ(cut.exit_code, 0) << cut.out << cut.err;
        EXPECT_NE(cut.out.find("revert window is open until"), std::string::npos) << cut.out;
        auto st = wait_for(
            [](const auto& st) { return st.revert_state() == "open" && st.reverse_running(); }, 60s,
            run.get(), "reverse stream running");
        // Issue 21: status showed the run's "none (default)", not the window cutover gave.
        const auto* window = find_setting(st, "revert window");
        ASSERT_TRUE(window) << st.DebugString();
        EXPECT_EQ(window->value(), "10 min 0 s");
        EXPECT_EQ(window->source(), "cutover");
        EXPECT_FALSE(window->at().empty());
        db_->exec("UPDATE events SET amount = amount + 1 WHERE id <= 100");
        expect_reverse_converged(run.get());
        finish_the_window(*run);
        EXPECT_EQ(job_status(db_->dsn(), "events")->revert_state(), "finished");
        // Nothing to revert any more: a clear one-line refusal, bad input.
        auto revert = run_partshift({"revert", "--dsn", db_->dsn(), "--job", "events"});
        EXPECT_EQ(revert.exit_code, 2) << revert.err;
        EXPECT_TRUE(one_line(revert.err)) << revert.err;
        EXPECT_EQ(relkind(*db_, "public.events"), "p");
    }
}

// issue 21 item 5: the run's log says what the window is doing: changes followed back into
// NAME_old and what to run (not "ready to cut over; waiting for 'partshift cutover'" after
// the swap), and a window closed by finish as closed (not "stopped in phase follow; run again
// to resume").
TEST_F(RevertWindowTest, TheLogSaysWhatTheWindowDoes) {
    auto run = start_run({"--revert-window", "10m"});
    wait_for([](const auto& st) { return st.revert_state() == "open" && st.reverse_running(); },
             240s, run.get(), "reverse stream running");
    const std::string following =
        "revert window of job events: changes to public.events are followed into "
        "public.events_old; 'partshift revert --job events' swaps back, 'partshift finish "
        "--job events' closes the window";
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (run->log().find(following) == std::string::npos &&
           std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(200ms);
    EXPECT_NE(run->log().find(following), std::string::npos) << run->log();
    finish_the_window(*run);
    const auto log = run->log();
    EXPECT_EQ(log.find("waiting for 'partshift cutover'"), std::string::npos) << log;
    EXPECT_EQ(log.find("run again to resume"), std::string::npos) << log;
    EXPECT_NE(log.find("revert window of job events closed"), std::string::npos) << log;
}

TEST_F(RevertWindowTest, TheWindowExpiresByItself) {
    auto run = start_run({"--revert-window", "4s"});
    auto code = run->wait(240s);
    ASSERT_TRUE(code.has_value()) << run->log();
    EXPECT_EQ(*code, 0) << run->log();
    EXPECT_EQ(replication_objects(), 0) << run->log();
    EXPECT_EQ(job_status(db_->dsn(), "events")->revert_state(), "finished");
    EXPECT_EQ(relkind(*db_, "public.events"), "p");
    EXPECT_EQ(relkind(*db_, "public.events_old"), "r");
}

TEST_F(RevertWindowTest, KillDuringTheWindowResumesTheReverseStream) {
    auto writes = load(30);
    auto run = start_run({"--revert-window", "10m"});
    wait_for([](const auto& st) { return st.revert_state() == "open" && st.reverse_running(); },
             240s, run.get(), "reverse stream running");
    std::this_thread::sleep_for(3s);
    run->signal(SIGKILL);
    run->wait(10s);
    // Writes go on while nobody follows the window; the next run picks them up.
    std::this_thread::sleep_for(3s);
    auto again = start_run({});
    wait_for([](const auto& st) { return st.reverse_running(); }, 120s, again.get(),
             "reverse stream running again");
    expect_pgbench_clean(*writes);
    expect_reverse_converged(again.get());
    // Swap back without a load: then the pair compares equal on both sides of the revert.
    auto revert = run_partshift(
        {"revert", "--dsn", db_->dsn(), "--job", "events", "--keep-as", "events_by_month"});
    EXPECT_EQ(revert.exit_code, 0) << revert.out << revert.err << again->log();
    auto code = again->wait(120s);
    ASSERT_TRUE(code.has_value()) << again->log();
    EXPECT_EQ(*code, 0) << again->log();
    EXPECT_EQ(relkind(*db_, "public.events"), "r");
    EXPECT_EQ(relkind(*db_, "public.events_by_month"), "p");
    expect_ledger_holds(*db_, "events");
    auto conn = db_->connect();
    EXPECT_EQ(fingerprint(conn, "public.events"), fingerprint(conn, "public.events_by_month"));
    auto verify = run_partshift({"verify", "--dsn", db_->dsn(), "--job", "events.revert"});
    EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
    EXPECT_EQ(replication_objects(), 0);
}

// A server restart during the window: the run waits for the server and resumes the reverse
// stream from its checkpoint by itself (runs alone: RUN_SERIAL, see CMakeLists.txt).
TEST_F(RevertWindowTest, ServerRestartDuringTheWindow) {
    auto run = start_run({"--revert-window", "10m"});
    wait_for([](const auto& st) { return st.revert_state() == "open" && st.reverse_running(); },
             240s, run.get(), "reverse stream running");
    db_->exec("UPDATE events SET amount = amount + 1 WHERE id <= 500");
    restart_sandbox("immediate");
    db_->exec(
        "UPDATE events SET amount = amount + 1 WHERE id <= 1000; "
        "DELETE FROM events WHERE id BETWEEN 2000 AND 2100");
    expect_reverse_converged(run.get());
    EXPECT_TRUE(run->running()) << run->log();
    finish_the_window(*run);
}

// With no run following the window, `partshift revert` follows it itself until it has swapped
// back: the changes made while nobody followed are applied first.
TEST_F(RevertWindowTest, RevertWithoutARunningProcessFollowsTheWindowItself) {
    auto run = start_run({"--revert-window", "10m"});
    wait_for([](const auto& st) { return st.revert_state() == "open" && st.reverse_running(); },
             240s, run.get(), "reverse stream running");
    run->signal(SIGKILL);
    run->wait(10s);
    db_->exec(
        "UPDATE events SET amount = amount + 7 WHERE id <= 300; "
        "INSERT INTO events (ts, customer_id) VALUES (now(), 5)");
    auto conn = db_->connect();
    const auto partitioned = fingerprint(conn, "public.events");
    auto revert = run_partshift({"revert", "--dsn", db_->dsn()});
    EXPECT_EQ(revert.exit_code, 0) << revert.out << revert.err;
    EXPECT_NE(revert.out.find("reverted: public.events is the original table again"),
              std::string::npos)
        << revert.out;
    // The swap back is logged as a revert, not as the migration's cutover (issue 21 item 5).
    EXPECT_NE(revert.err.find("revert: swapped back on attempt"), std::string::npos) << revert.err;
    EXPECT_EQ(revert.err.find("cutover: swapped"), std::string::npos) << revert.err;
    EXPECT_EQ(relkind(*db_, "public.events"), "r");
    EXPECT_EQ(fingerprint(conn, "public.events"), partitioned);
    EXPECT_EQ(replication_objects(), 0);
    // Once reverted, there is no window left to end or revert.
    auto finish = run_partshift({"finish", "--dsn", db_->dsn(), "--job", "events"});
    EXPECT_EQ(finish.exit_code, 2) << finish.err;
    EXPECT_NE(finish.err.find("already reverted"), std::string::npos) << finish.err;
}

// kill -9 right after the swap back committed: the reverse slot is left behind (it would pin
// WAL); `partshift revert` again finishes the steps after the swap and says it is reverted.
TEST_F(RevertWindowTest, KillRightAfterTheRevertCommitThenRevertAgainFinishes) {
    auto run = start_run({"--revert-window", "10m"});
    wait_for([](const auto& st) { return st.revert_state() == "open" && st.reverse_running(); },
             240s, run.get(), "reverse stream running");
    run->signal(SIGKILL);
    run->wait(10s);
    db_->exec("UPDATE events SET amount = amount + 3 WHERE id <= 50");
    // The revert runs in its own process here (no run follows the window): pause it after the
    // commit and kill it there.
    child_process revert({"env", "PARTSHIFT_TEST_PAUSE_AFTER_COMMIT_MS=20000", PARTSHIFT_BINARY,
                          "revert", "--dsn", db_->dsn(), "--job", "events"},
                         spool_.path() + "-revert.log");
    wait_for([](const auto& st) { return st.revert_state() == "reverted"; }, 120s, &revert,
             "reverted");
    revert.signal(SIGKILL);
    revert.wait(10s);
    EXPECT_EQ(relkind(*db_, "public.events"), "r");
    EXPECT_GT(replication_objects(), 0) << "the kill should leave the reverse slot behind";
    auto again = run_partshift({"revert", "--dsn", db_->dsn(), "--job", "events"});
    EXPECT_EQ(again.exit_code, 0) << again.out << again.err;
    EXPECT_NE(again.out.find("already reverted: public.events is the original table"),
              std::string::npos)
        << again.out;
    EXPECT_EQ(replication_objects(), 0);
    auto conn = db_->connect();
    EXPECT_EQ(fingerprint(conn, "public.events"), fingerprint(conn, "public.events_partitioned"));
}

// Issue 20 item 10: after a revert, a retry is not a dead end. Fails on the code before this
// change: the reverted job's own `run` exited 0 having done nothing, and a new job's preflight
// listed the kept table's partition names with "choose another --target-name", which cannot
// help (partitions are named after the final name).
TEST_F(RevertWindowTest, RetryAfterARevertSaysWhatToDropAndThenWorks) {
    auto run = start_run({"--revert-window", "10m"});
    wait_for([](const auto& st) { return st.revert_state() == "open" && st.reverse_running(); },
             240s, run.get(), "reverse stream running");
    auto revert = run_partshift({"revert", "--dsn", db_->dsn(), "--job", "events"});
    ASSERT_EQ(revert.exit_code, 0) << revert.out << revert.err << run->log();
    ASSERT_EQ(run->wait(120s).value_or(-1), 0) << run->log();

    auto same = start_run({});
    EXPECT_EQ(same->wait(120s).value_or(-1), 2) << same->log();
    EXPECT_NE(same->log().find("job events was cut over and then reverted"), std::string::npos)
        << same->log();
    EXPECT_NE(same->log().find("DROP TABLE public.events_partitioned"), std::string::npos)
        << same->log();

    auto retry = start_run({"--job", "events2"});
    EXPECT_EQ(retry->wait(120s).value_or(-1), 3) << retry->log();
    EXPECT_NE(retry->log().find("they belong to public.events_partitioned"), std::string::npos)
        << retry->log();
    EXPECT_NE(retry->log().find("DROP TABLE public.events_partitioned"), std::string::npos)
        << retry->log();
    EXPECT_EQ(relkind(*db_, "public.events_new"), "-");

    // As the message says: then the new job runs through.
    db_->exec("DROP TABLE events_partitioned");
    auto again = start_run({"--job", "events2"});
    EXPECT_EQ(again->wait(300s).value_or(-1), 0) << again->log();
    EXPECT_EQ(relkind(*db_, "public.events"), "p");
    EXPECT_EQ(relkind(*db_, "public.events_old"), "r");
    auto conn = db_->connect();
    EXPECT_EQ(fingerprint(conn, "public.events"), fingerprint(conn, "public.events_old"));
}
