// The revert window's preconditions and how it ends when they fail (issue 20 items 4 and 6),
// through the real binary: a unique index the partitioned table cannot keep refuses
// --revert-window before anything is made (run and cutover); a row the original refuses on
// the way back breaks the window (status says so, its slot goes, finish closes it) and names
// the index and value that clashed; `finish` during a revert that is under way loses, saying
// the window was already reverted.
#include <gtest/gtest.h>

#include <signal.h>

#include <thread>

#include "status.pb.h"
#include "support/job_driver.hpp"

using namespace partshift;
using namespace partshift::testing;
using namespace std::chrono_literals;

namespace {

class RevertWindowPreconditions : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
        db_ = std::make_unique<test_database>();
        ASSERT_TRUE(load_events_table(*db_, 20000));
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

    void wait_for_window(child_process* run) {
        wait_for_status(
            db_->dsn(), "events",
            [](const auto& st) { return st.revert_state() == "open" && st.reverse_running(); },
            240s, run, "reverse stream running");
    }

    int64_t count(const std::string& sql) {
        auto conn = db_->connect();
        return conn.exec(sql).get_int(0, 0);
    }

    int64_t slots() {
        return count(
            "SELECT count(*) FROM pg_replication_slots WHERE database = "
            "current_database()");
    }

    std::unique_ptr<test_database> db_;
    temp_dir spool_;
    int runs_ = 0;
};

}  // namespace

// Fails on the code before this change: run --revert-window went ahead (copied, cut over and
// followed a window that the first duplicate status would break), and cutover --revert-window
// was accepted.
TEST_F(RevertWindowPreconditions, AUniqueIndexThePartitionedTableCannotKeepRefusesTheWindow) {
    db_->exec("CREATE UNIQUE INDEX events_id_status_key ON events (id, status)");
    auto run = start_run({"--revert-window", "10m"});
    auto code = run->wait(120s);
    ASSERT_TRUE(code.has_value()) << "run --revert-window should refuse at once\n" << run->log();
    EXPECT_EQ(*code, 2) << run->log();
    EXPECT_NE(run->log().find("unique index events_id_status_key of public.events is not kept"),
              std::string::npos)
        << run->log();
    EXPECT_NE(run->log().find("cut over without --revert-window, or make the partition key part "
                              "of that unique index"),
              std::string::npos)
        << run->log();
    // Nothing was made.
    EXPECT_EQ(slots(), 0);
    EXPECT_EQ(relkind(*db_, "public.events_new"), "-");
    EXPECT_EQ(relkind(*db_, "public.events"), "r");

    // Asked at the cutover instead: the same refusal, one line, and the run goes on waiting.
    auto waiting = start_run({"--postpone-cutover"});
    wait_for_status(
        db_->dsn(), "events",
        [](const auto& st) { return st.cutover_state() == "waiting for cutover"; }, 240s,
        waiting.get(), "waiting for cutover");
    auto cut = run_partshift(
        {"cutover", "--dsn", db_->dsn(), "--job", "events", "--revert-window", "10m"});
    EXPECT_EQ(cut.exit_code, 2) << cut.out << cut.err;
    EXPECT_TRUE(one_line(cut.err)) << cut.err;
    EXPECT_NE(cut.err.find("events_id_status_key"), std::string::npos) << cut.err;
    std::this_thread::sleep_for(2s);
    EXPECT_TRUE(waiting->running()) << waiting->log();
    EXPECT_EQ(relkind(*db_, "public.events"), "r");
    // A plain cutover still works.
    auto plain = run_partshift({"cutover", "--dsn", db_->dsn(), "--job", "events"});
    EXPECT_EQ(plain.exit_code, 0) << plain.out << plain.err << waiting->log();
    EXPECT_EQ(waiting->wait(120s).value_or(-1), 0) << waiting->log();
    EXPECT_EQ(relkind(*db_, "public.events"), "p");
}

// A row the partitioned table takes and the original refuses: here a duplicate id (the
// partitioned key is (id, ts)). Fails on the code before this change: the run exited 1 with
// the divergence, and `status` still showed the window open while its slot pinned WAL with no
// process guarding it.
TEST_F(RevertWindowPreconditions, ADuplicateKeyBreaksTheWindowAndFinishClosesIt) {
    auto run = start_run({"--revert-window", "10m"});
    wait_for_window(run.get());
    db_->exec(
        "INSERT INTO events (id, ts, customer_id) "
        "SELECT id, ts + interval '1 second', customer_id FROM events WHERE id = 5");
    auto code = run->wait(120s);
    ASSERT_TRUE(code.has_value()) << run->log();
    EXPECT_EQ(*code, 1) << run->log();
    EXPECT_NE(run->log().find("the revert window of job events is broken"), std::string::npos)
        << run->log();
    EXPECT_NE(run->log().find("INSERT of key (id)=(5)"), std::string::npos) << run->log();
    // Nobody guards the reverse slot any more: it is gone, and status says what happened.
    EXPECT_EQ(slots(), 0) << run->log();
    auto s = job_status(db_->dsn(), "events");
    ASSERT_TRUE(s.has_value());
    EXPECT_EQ(s->revert_state(), "broken");
    auto text = run_partshift({"status", "--dsn", db_->dsn(), "--job", "events"});
    EXPECT_NE(text.out.find("window broken"), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("(id)=(5)"), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("'partshift finish' closes the window"), std::string::npos) << text.out;
    // No way back: revert refuses in one line; finish closes the window.
    auto revert = run_partshift({"revert", "--dsn", db_->dsn(), "--job", "events"});
    EXPECT_EQ(revert.exit_code, 2) << revert.out << revert.err;
    EXPECT_TRUE(one_line(revert.err)) << revert.err;
    EXPECT_NE(revert.err.find("is broken"), std::string::npos) << revert.err;
    auto finish = run_partshift({"finish", "--dsn", db_->dsn(), "--job", "events"});
    EXPECT_EQ(finish.exit_code, 0) << finish.out << finish.err;
    EXPECT_EQ(job_status(db_->dsn(), "events")->revert_state(), "finished");
    EXPECT_EQ(count("SELECT count(*) FROM pg_publication"), 0);
    EXPECT_EQ(relkind(*db_, "public.events"), "p");
}

// A unique index only the original has (added during the window, while no run followed it):
// the reverse stream names that index and the value that clashed, not the row's id. Fails on
// the code before this change: the divergence named the row's id with "the key already exists
// on the target (or another unique value of the row does)", and the window showed open.
TEST_F(RevertWindowPreconditions, AUniqueIndexOnlyTheOriginalHasIsNamedExactly) {
    auto run = start_run({"--revert-window", "10m"});
    wait_for_window(run.get());
    run->signal(SIGTERM);
    ASSERT_EQ(run->wait(60s).value_or(-1), 0) << run->log();
    db_->exec(
        "CREATE UNIQUE INDEX events_old_one_special ON events_old (status) "
        "WHERE status = 'special'");
    db_->exec("INSERT INTO events (ts, customer_id, status) VALUES (now(), 1, 'special')");
    db_->exec("INSERT INTO events (ts, customer_id, status) VALUES (now(), 2, 'special')");
    auto again = start_run({});
    auto code = again->wait(120s);
    ASSERT_TRUE(code.has_value()) << again->log();
    EXPECT_EQ(*code, 1) << again->log();
    EXPECT_NE(again->log().find("the revert window of job events is broken"), std::string::npos)
        << again->log();
    EXPECT_NE(again->log().find("events_old_one_special"), std::string::npos) << again->log();
    EXPECT_NE(again->log().find("Key (status)=(special) already exists"), std::string::npos)
        << again->log();
    EXPECT_EQ(job_status(db_->dsn(), "events")->revert_state(), "broken");
    EXPECT_EQ(slots(), 0);
    auto finish = run_partshift({"finish", "--dsn", db_->dsn(), "--job", "events"});
    EXPECT_EQ(finish.exit_code, 0) << finish.out << finish.err;
}

// Issue 20 item 6: `finish` while a revert is under way. Fails on the code before this change:
// finish printed "revert window of job events closed: public.events stays partitioned" (exit
// 0) while the revert committed.
TEST_F(RevertWindowPreconditions, FinishDuringARevertUnderWaySaysItWasReverted) {
    auto run = start_run({"--revert-window", "10m"});
    wait_for_window(run.get());
    // Hold the swap back at its lock for a few seconds: the revert is then under way.
    child_process holder({"psql", "-X", "-q", "-d", db_->dsn(), "-c",
                          "BEGIN; LOCK TABLE events IN ACCESS SHARE MODE; "
                          "SELECT pg_sleep(6); COMMIT;"},
                         spool_.path() + "-holder.log");
    std::this_thread::sleep_for(1s);
    child_process revert({PARTSHIFT_BINARY, "revert", "--dsn", db_->dsn(), "--job", "events"},
                         spool_.path() + "-revert.log");
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (count("SELECT count(*) FROM partshift.jobs WHERE job = 'events.revert' AND "
                 "cutover_state = 'cutting over'") == 0) {
        ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the swap back never started\n"
                                                              << revert.log() << run->log();
        std::this_thread::sleep_for(100ms);
    }
    auto finish = run_partshift({"finish", "--dsn", db_->dsn(), "--job", "events"});
    EXPECT_EQ(finish.exit_code, 2) << finish.out << finish.err;
    // After its "requested from the run" line, one line saying what happened.
    EXPECT_NE(finish.err.find("partshift: the revert window of job events was already reverted: "
                              "public.events is the original table again"),
              std::string::npos)
        << finish.err;
    EXPECT_EQ(finish.out.find("window closed"), std::string::npos) << finish.out;
    EXPECT_EQ(revert.wait(60s).value_or(-1), 0) << revert.log();
    EXPECT_NE(revert.log().find("reverted"), std::string::npos) << revert.log();
    EXPECT_EQ(run->wait(60s).value_or(-1), 0) << run->log();
    EXPECT_EQ(relkind(*db_, "public.events"), "r");
    EXPECT_EQ(job_status(db_->dsn(), "events")->revert_state(), "reverted");
}

// The other way round: `finish` asked while a `revert` (following the window itself, no run)
// is still catching up before its swap back. Fails on the code before this change: revert
// exited 4, "was not reverted (stopped before the swap back); both tables are untouched".
TEST_F(RevertWindowPreconditions, ARevertThatLosesToFinishSaysTheWindowWasClosed) {
    auto run = start_run({"--revert-window", "10m"});
    wait_for_window(run.get());
    run->signal(SIGKILL);
    run->wait(10s);
    // The revert follows the window itself, paused before its follow phase (and so before any
    // swap back) long enough for finish to be asked.
    child_process revert({"env", "PARTSHIFT_TEST_PHASE_PAUSE_MS=4000", PARTSHIFT_BINARY, "revert",
                          "--dsn", db_->dsn(), "--job", "events"},
                         spool_.path() + "-revert.log");
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (!job_status(db_->dsn(), "events")->reverse_running()) {
        ASSERT_LT(std::chrono::steady_clock::now(), deadline) << revert.log();
        std::this_thread::sleep_for(100ms);
    }
    auto finish = run_partshift({"finish", "--dsn", db_->dsn(), "--job", "events"});
    EXPECT_EQ(finish.exit_code, 0) << finish.out << finish.err << revert.log();
    EXPECT_NE(finish.out.find("revert window of job events closed"), std::string::npos)
        << finish.out;
    auto code = revert.wait(60s);
    ASSERT_TRUE(code.has_value()) << revert.log();
    EXPECT_EQ(*code, 2) << revert.log();
    EXPECT_NE(revert.log().find("the revert window of job events was already closed: "
                                "public.events stays partitioned"),
              std::string::npos)
        << revert.log();
    EXPECT_EQ(relkind(*db_, "public.events"), "p");
    EXPECT_EQ(job_status(db_->dsn(), "events")->revert_state(), "finished");
    EXPECT_EQ(slots(), 0);
}
