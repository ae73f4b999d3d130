// The online engine end to end, through the real binary: copy ‖ stream under concurrent
// pgbench load (inserts, updates, TOAST-untouched updates, partition-key and primary-key
// changes, deletes, a 100k-row transaction), then follow until lag is 0 — and the target must
// equal the source by content. The crash tests kill -9 partshift in each phase, or restart the
// server, and run it again.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "status.pb.h"
#include "support/job_driver.hpp"

using namespace partshift;
using namespace partshift::testing;
using namespace std::chrono_literals;

namespace {

const std::string workload_dir = std::string(PARTSHIFT_SOURCE_DIR) + "/tests/workload";

class EngineTest : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
        db_ = std::make_unique<test_database>();
        load_events(200000);
    }

    void load_events(int rows) { ASSERT_TRUE(load_events_table(*db_, rows)); }

    std::vector<std::string> run_args(std::vector<std::string> extra = {}) {
        std::vector<std::string> args{
            PARTSHIFT_BINARY, "run",   "--dsn",       db_->dsn(),    "--table",    "events",
            "--partition-by", "range", "--key",       "ts",          "--interval", "1 month",
            "--premake",      "3",     "--spool-dir", spool_.path(), "--dry-run"};
        args.insert(args.end(), extra.begin(), extra.end());
        return args;
    }

    std::unique_ptr<child_process> start_run(std::vector<std::string> extra = {},
                                             std::vector<std::string> env = {}) {
        return start_with_env(env, run_args(std::move(extra)), log_path());
    }

    std::string log_path() const { return spool_.path() + "-run.log"; }

    std::unique_ptr<child_process> start_pgbench(int seconds, int clients = 3) {
        return std::make_unique<child_process>(
            std::vector<std::string>{"pgbench", "-n", "-M", "prepared", "-c",
                                     std::to_string(clients), "-j", "1", "-T",
                                     std::to_string(seconds), "-f",
                                     workload_dir + "/events_writes.pgbench", db_->name()},
            spool_.path() + "-pgbench.log");
    }

    // A single 100k-row transaction, as a batch job would run it.
    void big_transaction() {
        db_->exec("UPDATE events SET amount = amount + 0.01 WHERE id <= 100000");
    }

    std::optional<proto::status_report> status() { return job_status(db_->dsn(), "events"); }

    // wait_for polls status until pred holds; fails the test with the run log on timeout.
    proto::status_report wait_for(const std::function<bool(const proto::status_report&)>& pred,
                                  std::chrono::seconds timeout, child_process* run = nullptr,
                                  const std::string& what = "") {
        return wait_for_status(db_->dsn(), "events", pred, timeout, run, what);
    }

    void wait_until_caught_up(child_process* run) {
        // lag 0 reported twice in a row a moment apart: the applier is idle and current.
        for (int i = 0; i < 2; ++i) {
            wait_for([](const auto& s) { return s.phase() == "follow" && s.lag_bytes() == 0; },
                     300s, run, "lag 0 in follow");
            std::this_thread::sleep_for(1500ms);
        }
    }

    void expect_target_equals_source() {
        auto conn = db_->connect();
        auto source = fingerprint(conn, "public.events");
        auto target = fingerprint(conn, "public.events_new");
        EXPECT_GT(source.rows, 150000);
        EXPECT_EQ(target.rows, source.rows);
        EXPECT_EQ(target.checksum, source.checksum);
        // Untouched TOAST values arrived intact (not overwritten by NULL or garbage).
        EXPECT_EQ(conn.exec("SELECT count(*) FROM events_new WHERE big IS NOT NULL").get_int(0, 0),
                  conn.exec("SELECT count(*) FROM events WHERE big IS NOT NULL").get_int(0, 0));
    }

    // restart_and_converge: an immediate server restart under `load`, more writes after it;
    // the same run must then catch up, and the target equal the source.
    void restart_and_converge(child_process& load, child_process& run) {
        restart_sandbox("immediate");
        ASSERT_TRUE(load.wait(120s).has_value());
        // pgbench clients died with the server; write some more after the restart.
        auto more = start_pgbench(5);
        ASSERT_TRUE(more->wait(60s).has_value());
        wait_until_caught_up(&run);
        stop(run);
        expect_target_equals_source();
    }

    void stop(child_process& run) {
        run.signal(SIGTERM);
        auto code = run.wait(120s);
        ASSERT_TRUE(code.has_value()) << "partshift did not stop on SIGTERM\n" << run.log();
        EXPECT_EQ(*code, 0) << run.log();
    }

    std::unique_ptr<test_database> db_;
    temp_dir spool_;
};

}  // namespace

TEST_F(EngineTest, ConvergesUnderConcurrentLoad) {
    auto load = start_pgbench(25);
    auto run = start_run();
    std::thread batch([this] { big_transaction(); });
    wait_for([](const auto& s) { return s.phase() == "follow"; }, 300s, run.get(), "follow");
    batch.join();
    // A second 100k-row transaction while following, beside the writers.
    big_transaction();
    // More writes while following, then let it catch up.
    ASSERT_TRUE(load->wait(120s).has_value());
    auto more = start_pgbench(5);
    ASSERT_TRUE(more->wait(60s).has_value());
    wait_until_caught_up(run.get());
    auto s = status();
    ASSERT_TRUE(s);
    EXPECT_EQ(s->rows_copied() > 0, true);
    EXPECT_EQ(s->wal_status(), "reserved");
    stop(*run);
    expect_target_equals_source();
}

TEST_F(EngineTest, DryRunForStopsByItselfAndResumes) {
    auto run = start_run({"--dry-run-for", "4s"});
    // It copies, follows for 4 s, and exits 0 with the checkpoint saved.
    auto code = run->wait(300s);
    ASSERT_TRUE(code.has_value());
    ASSERT_EQ(*code, 0) << run->log();
    auto s = status();
    ASSERT_TRUE(s);
    EXPECT_EQ(s->phase(), "follow");
    EXPECT_FALSE(s->running());
    // As if the job had been started by a partshift older than partshift.skipped_keys: the
    // resumed run creates what is missing in the schema before the applier needs it.
    db_->exec("DROP TABLE partshift.skipped_keys");
    // Writes while nobody is running are picked up by the next run from the slot.
    auto load = start_pgbench(5);
    ASSERT_TRUE(load->wait(60s).has_value());
    auto again = start_run();
    wait_until_caught_up(again.get());
    stop(*again);
    expect_target_equals_source();
}

// A secondary UNIQUE column: its index (widened by the partition key) is built concurrently
// once the run follows, while writes keep arriving, and ends valid on every partition.
TEST_F(EngineTest, BuildsTheUniqueIndexOnceFollowing) {
    db_->exec(
        "ALTER TABLE events ADD COLUMN idempotency_key text UNIQUE;"
        "UPDATE events SET idempotency_key = 'k' || id WHERE id % 10 = 0;");
    auto run = start_run();
    wait_for([](const auto& s) { return s.phase() == "follow"; }, 300s, run.get(), "follow");
    auto load = start_pgbench(8);
    auto conn = db_->connect();
    auto unique_index = [&] {
        return conn.exec(
            "SELECT pg_get_indexdef(i.indexrelid), i.indisvalid FROM pg_index i "
            "WHERE i.indrelid = 'public.events_new'::regclass AND i.indisunique "
            "AND NOT i.indisprimary");
    };
    auto deadline = std::chrono::steady_clock::now() + 120s;
    while (std::chrono::steady_clock::now() < deadline) {
        auto r = unique_index();
        if (r.rows() == 1 && r.get_bool(0, 1)) break;
        ASSERT_TRUE(run->running()) << run->log();
        std::this_thread::sleep_for(200ms);
    }
    auto r = unique_index();
    ASSERT_EQ(r.rows(), 1);
    EXPECT_TRUE(r.get_bool(0, 1)) << run->log();
    EXPECT_NE(r.get(0, 0).find("(idempotency_key, ts)"), std::string::npos) << r.get(0, 0);
    // Valid on the parent means every partition has its index attached; none left invalid.
    EXPECT_EQ(conn.exec("SELECT count(*) FROM pg_index i JOIN pg_partition_tree('events_new') t "
                        "ON t.relid = i.indrelid WHERE NOT i.indisvalid")
                  .get_int(0, 0),
              0);
    ASSERT_TRUE(load->wait(60s).has_value());
    wait_until_caught_up(run.get());
    stop(*run);
    expect_target_equals_source();
}

// kill -9 in a given phase, then run again: the job resumes from its checkpoint.
class CrashResumeTest : public EngineTest, public ::testing::WithParamInterface<std::string> {};

TEST_P(CrashResumeTest, KillNineThenRunAgain) {
    const std::string phase = GetParam();
    auto load = start_pgbench(30);
    // Pauses at each phase start widen the windows a kill has to hit (fault-injection hook).
    auto run = start_run({}, {"PARTSHIFT_TEST_PHASE_PAUSE_MS=1500"});
    wait_for(
        [&](const auto& s) {
            if (phase == "copy") return s.phase() == "copy" && s.chunks_done() >= 1;
            return s.phase() == phase;
        },
        300s, run.get(), "phase " + phase);
    if (phase == "follow") std::this_thread::sleep_for(2s);
    run->signal(SIGKILL);
    ASSERT_TRUE(run->wait(30s).has_value());
    auto again = start_run();
    ASSERT_TRUE(load->wait(120s).has_value());
    wait_until_caught_up(again.get());
    stop(*again);
    expect_target_equals_source();
}

INSTANTIATE_TEST_SUITE_P(Phases, CrashResumeTest,
                         ::testing::Values("copy", "index", "replay", "follow"));

TEST_F(EngineTest, ServerRestartDuringFollow) {
    auto run = start_run();
    wait_for([](const auto& s) { return s.phase() == "follow"; }, 300s, run.get(), "follow");
    auto load = start_pgbench(20);
    std::this_thread::sleep_for(4s);
    restart_and_converge(*load, *run);
}

// A server restart while the copy or the index build is under way: the same partshift process
// waits for the server and resumes from its checkpoint, no rerun needed. A lock the test holds
// on the target pins partshift inside the phase (its next COPY or CREATE INDEX waits on it), so
// the restart lands mid-phase every time; the restart ends the lock with everything else.
class ServerRestartTest : public EngineTest {
  protected:
    void restart_while_blocked_in(const std::string& phase, const std::string& backends) {
        auto load = start_pgbench(30);
        auto run = start_run({"--copy-workers", "1"}, {"PARTSHIFT_TEST_PHASE_PAUSE_MS=1500"});
        wait_for(
            [&](const auto& s) {
                if (phase == "copy")
                    return s.phase() == "copy" && s.chunks_done() >= 1 &&
                           s.chunks_done() + 3 < s.chunks_total();
                return s.phase() == phase;
            },
            300s, run.get(), "phase " + phase);
        auto blocker = db_->connect();
        blocker.exec("BEGIN");
        blocker.exec("LOCK TABLE events_new IN ACCESS EXCLUSIVE MODE");
        auto admin = db_->connect();
        auto waiting = [&] {
            return admin
                       .query(
                           "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                           "current_database() AND application_name LIKE $1 AND "
                           "wait_event_type = 'Lock'",
                           backends)
                       .get_int(0, 0) > 0;
        };
        for (int i = 0; i < 300 && !waiting(); ++i) std::this_thread::sleep_for(100ms);
        ASSERT_TRUE(waiting()) << "partshift never waited for the lock\n" << run->log();
        auto now = status();
        ASSERT_TRUE(now.has_value());
        EXPECT_EQ(now->phase(), phase);

        restart_and_converge(*load, *run);
        EXPECT_NE(run->log().find("lost the server"), std::string::npos) << run->log();
    }
};

TEST_F(ServerRestartTest, DuringCopyTheRunResumesByItself) {
    restart_while_blocked_in("copy", "partshift-copy-dst-%");
}

TEST_F(ServerRestartTest, DuringIndexBuildTheRunResumesByItself) {
    restart_while_blocked_in("index", "partshift-index%");
}

// kill -9 while a chunk is being copied inside the server (its INSERT waits on a lock the test
// holds): the server ends that session within seconds instead of letting it load rows it can
// never commit beside the rerun; the rerun then copies the chunk and converges.
TEST_F(EngineTest, KillNineDuringAChunkEndsItsServerSession) {
    auto run = start_run({"--copy-workers", "1"}, {"PARTSHIFT_TEST_PHASE_PAUSE_MS=1500"});
    wait_for(
        [](const auto& s) {
            return s.phase() == "copy" && s.chunks_done() >= 1 &&
                   s.chunks_done() + 3 < s.chunks_total();
        },
        300s, run.get(), "phase copy");
    auto blocker = db_->connect();
    blocker.exec("BEGIN");
    blocker.exec("LOCK TABLE events_new IN ACCESS EXCLUSIVE MODE");
    auto admin = db_->connect();
    auto copy_sessions = [&](bool waiting) {
        return admin
            .exec(std::string("SELECT count(*) FROM pg_stat_activity WHERE datname = "
                              "current_database() AND application_name LIKE "
                              "'partshift-copy-dst-%'") +
                  (waiting ? " AND wait_event_type = 'Lock'" : ""))
            .get_int(0, 0);
    };
    for (int i = 0; i < 300 && copy_sessions(true) == 0; ++i) std::this_thread::sleep_for(100ms);
    ASSERT_EQ(copy_sessions(true), 1) << run->log();
    run->signal(SIGKILL);
    ASSERT_TRUE(run->wait(30s).has_value());
    for (int i = 0; i < 100 && copy_sessions(false) > 0; ++i) std::this_thread::sleep_for(100ms);
    EXPECT_EQ(copy_sessions(false), 0) << "the killed run's chunk is still running on the server";
    blocker.exec("ROLLBACK");
    auto again = start_run();
    wait_until_caught_up(again.get());
    stop(*again);
    expect_target_equals_source();
}

TEST_F(EngineTest, AbortLeavesTheSourceAsItWas) {
    auto dump = [&] {
        auto r = run_command({"pg_dump", "--schema-only", "-d", db_->dsn()});
        EXPECT_EQ(r.exit_code, 0) << r.err;
        // pg_dump 15.14+ brackets the dump with a random \restrict key; compare the rest.
        std::string kept, line;
        std::istringstream lines(r.out);
        while (std::getline(lines, line))
            if (line.rfind("\\restrict", 0) != 0 && line.rfind("\\unrestrict", 0) != 0)
                kept += line + "\n";
        return kept;
    };
    auto schema_before = dump();
    auto conn = db_->connect();
    auto data_before = fingerprint(conn, "events");
    auto run = start_run({"--dry-run-for", "2s"});
    ASSERT_EQ(run->wait(300s).value_or(-1), 0) << run->log();
    auto r = run_partshift({"abort", "--dsn", db_->dsn(), "--job", "events"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(dump(), schema_before);
    EXPECT_EQ(fingerprint(conn, "events"), data_before);
    EXPECT_EQ(conn.exec("SELECT count(*) FROM pg_replication_slots WHERE database = "
                        "current_database()")
                  .get_int(0, 0),
              0);
    EXPECT_EQ(conn.exec("SELECT count(*) FROM pg_publication").get_int(0, 0), 0);
    EXPECT_EQ(conn.exec("SELECT to_regnamespace('partshift') IS NULL").get_bool(0, 0), true);
}

namespace {

// Resident set size of a process in kB (VmHWM: the peak so far; VmRSS: now).
int64_t proc_status_kb(pid_t pid, const std::string& field) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind(field + ":", 0) == 0) return std::stoll(line.substr(field.size() + 1));
    return -1;
}

}  // namespace

// Invariant 6: memory stays bounded whatever the backlog. A backlog of 1M changes (five
// 200k-row transactions) is replayed; the peak resident size must stay far below what holding
// the backlog would take (the spool holds ~200 MB of it).
TEST_F(EngineTest, MemoryBoundedWhileReplayingAMillionChangeBacklog) {
    auto first = start_run({"--dry-run-for", "1s"});
    ASSERT_EQ(first->wait(300s).value_or(-1), 0) << first->log();
    for (int i = 0; i < 5; ++i) db_->exec("UPDATE events SET amount = amount + 1");
    const std::string applied_before = status()->applied_lsn();
    auto run = start_run();
    int64_t peak_kb = 0;
    auto deadline = std::chrono::steady_clock::now() + 900s;
    bool caught_up = false;
    // The first 200k-change transaction takes seconds to replay: the apply rate must show
    // that work before the transaction commits on the target.
    bool rate_before_first_commit = false;
    while (std::chrono::steady_clock::now() < deadline && run->running()) {
        peak_kb = std::max(peak_kb, proc_status_kb(run->pid(), "VmHWM"));
        auto s = status();
        if (s && s->applied_lsn() == applied_before && s->apply_rate() > 0)
            rate_before_first_commit = true;
        if (s && s->phase() == "follow" && s->lag_bytes() == 0 && s->running()) {
            caught_up = true;
            break;
        }
        std::this_thread::sleep_for(500ms);
    }
    ASSERT_TRUE(caught_up) << run->log();
    peak_kb = std::max(peak_kb, proc_status_kb(run->pid(), "VmHWM"));
    std::printf("peak resident size while replaying 1M changes: %.1f MB\n", peak_kb / 1024.0);
    EXPECT_GT(peak_kb, 0);
    EXPECT_LT(peak_kb, 256 * 1024) << "partshift held too much in memory";
    EXPECT_TRUE(rate_before_first_commit) << "apply_rate stayed 0 inside a large transaction";
    stop(*run);
    expect_target_equals_source();
}

// DDL on the source during a job: the next change arrives with a Relation message that no
// longer matches, and the job stops with a clear message instead of applying wrong columns.
TEST_F(EngineTest, SchemaChangeOnTheSourceStopsTheJobClearly) {
    auto run = start_run();
    wait_for([](const auto& s) { return s.phase() == "follow"; }, 300s, run.get(), "follow");
    db_->exec("ALTER TABLE events ADD COLUMN extra integer");
    db_->exec("UPDATE events SET extra = 1 WHERE id = 1");
    auto code = run->wait(120s);
    ASSERT_TRUE(code.has_value()) << "partshift kept running after a schema change\n" << run->log();
    EXPECT_EQ(*code, 1) << run->log();
    EXPECT_NE(run->log().find("changed during the job"), std::string::npos) << run->log();
    auto s = status();
    ASSERT_TRUE(s);
    EXPECT_NE(s->last_error().find("changed during the job"), std::string::npos);
}

// Issue 8 item 5: the walsender terminated while a large transaction is being delivered. The
// spool keeps what it had of the transaction, the server sends it again whole, and the run
// continues it where the spool left off instead of stopping with "Begin inside an open
// transaction"; the target converges.
TEST_F(EngineTest, WalsenderTerminatedInsideALargeTransactionContinuesIt) {
    auto run = start_run();
    wait_for([](const auto& s) { return s.phase() == "follow"; }, 300s, run.get(), "follow");
    for (int delay_ms : {200, 500, 900}) {
        big_transaction();  // committed: now the walsender decodes and sends its 100k changes
        std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
        db_->exec(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
            "backend_type = 'walsender' AND datname = current_database()");
        wait_for([](const auto& s) { return s.phase() == "follow"; }, 60s, run.get(),
                 "the run to go on");
    }
    wait_until_caught_up(run.get());
    stop(*run);
    expect_target_equals_source();
    EXPECT_EQ(run->log().find("Begin inside"), std::string::npos) << run->log();
}

// Issue 8 item 3: what the slot acknowledged lives only in the spool (or on the target). A
// damaged tail or a deleted segment must stop the resumed run with the gap named (exit 1),
// never be cut off quietly and leave a hole in the target.
TEST_F(EngineTest, DamagedOrDeletedSpoolIsRefusedNotSkipped) {
    auto run = start_run();
    wait_for([](const auto& s) { return s.phase() == "follow"; }, 300s, run.get(), "follow");
    // Some changes, applied and acknowledged; then idle positions acknowledged too.
    db_->exec("UPDATE events SET amount = amount + 1 WHERE id <= 2000");
    wait_until_caught_up(run.get());
    stop(*run);
    namespace fs = std::filesystem;
    std::vector<fs::path> segments;
    for (const auto& dir : fs::directory_iterator(spool_.path()))
        for (const auto& f : fs::directory_iterator(dir.path()))
            if (f.path().extension() == ".seg") segments.push_back(f.path());
    ASSERT_FALSE(segments.empty());
    std::sort(segments.begin(), segments.end());
    const auto last = segments.back();
    const auto saved = last.string() + ".saved";
    fs::copy_file(last, saved);

    // A byte flipped near the end of the last segment: recovery would cut acknowledged data.
    {
        std::fstream f(last, std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(static_cast<std::streamoff>(fs::file_size(last) - 3));
        char c = 0;
        f.read(&c, 1);
        f.seekp(static_cast<std::streamoff>(fs::file_size(last) - 3));
        c = static_cast<char>(c ^ 0x55);
        f.write(&c, 1);
    }
    auto damaged = start_run();
    auto damaged_code = damaged->wait(120s);
    ASSERT_TRUE(damaged_code.has_value());
    EXPECT_EQ(*damaged_code, 1) << damaged->log();
    EXPECT_NE(damaged->log().find("acknowledged changes up to"), std::string::npos)
        << damaged->log();

    // The last segment deleted.
    fs::remove(last);
    auto deleted = start_run();
    auto code = deleted->wait(120s);
    ASSERT_TRUE(code.has_value());
    EXPECT_EQ(*code, 1) << deleted->log();
    EXPECT_NE(deleted->log().find("acknowledged changes up to"), std::string::npos)
        << deleted->log();

    // Put back, the job resumes and converges.
    fs::rename(saved, last);
    auto again = start_run();
    wait_until_caught_up(again.get());
    stop(*again);
    expect_target_equals_source();
}
