// partshift verify through the real binary on a real job: equal when caught up, a corrupted
// target row and a source key duplicated in another partition are found and located, no false
// alarm while pgbench writes and the run follows, the kept original compared after a swap,
// and bad usage (unknown job, no job) as one line with exit 2.
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <functional>
#include <thread>

#include "status.pb.h"
#include "support/job_driver.hpp"
#include "verify.pb.h"

using namespace partshift;
using namespace partshift::testing;
using namespace std::chrono_literals;

namespace {

const std::string workload_dir = std::string(PARTSHIFT_SOURCE_DIR) + "/tests/workload";

class VerifyTest : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
        db_ = std::make_unique<test_database>();
    }

    void load_events(int rows) { ASSERT_TRUE(load_events_table(*db_, rows)); }

    std::unique_ptr<child_process> start_run() {
        return std::make_unique<child_process>(
            std::vector<std::string>{PARTSHIFT_BINARY, "run", "--dsn", db_->dsn(), "--table",
                                     "events", "--partition-by", "range", "--key", "ts",
                                     "--interval", "1 month", "--premake", "3", "--spool-dir",
                                     spool_.path(), "--dry-run"},
            spool_.path() + "-run.log");
    }

    // start_pgbench: a steady write load the applier keeps up with on a shared 2-core
    // machine (-R); unthrottled, the lag grows without bound and every range keeps changing.
    std::unique_ptr<child_process> start_pgbench(int seconds, int rate, int clients = 3) {
        return std::make_unique<child_process>(
            std::vector<std::string>{"pgbench", "-n", "-M", "prepared", "-c",
                                     std::to_string(clients), "-j", "1", "-R", std::to_string(rate),
                                     "-T", std::to_string(seconds), "-f",
                                     workload_dir + "/events_writes.pgbench", db_->name()},
            spool_.path() + "-pgbench.log");
    }

    void wait_for(const std::function<bool(const proto::status_report&)>& pred,
                  std::chrono::seconds timeout, child_process& run, const std::string& what) {
        wait_for_status(db_->dsn(), "events", pred, timeout, &run, what);
    }

    // follow: a run that has copied the table and follows with lag 0.
    std::unique_ptr<child_process> follow(int rows) {
        load_events(rows);
        auto run = start_run();
        wait_for([](const auto& s) { return s.phase() == "follow" && s.lag_bytes() == 0; }, 240s,
                 *run, "lag 0 in follow");
        return run;
    }

    struct verify_result {
        int exit_code = -1;
        proto::verify_report report;
        std::string out, err;
    };

    verify_result verify(std::vector<std::string> extra = {"--job", "events"}) {
        std::vector<std::string> args{"verify", "--dsn", db_->dsn(), "--json"};
        args.insert(args.end(), extra.begin(), extra.end());
        auto r = run_partshift(args, 180s);
        verify_result v{r.exit_code, {}, r.out, r.err};
        if (!r.out.empty())
            EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &v.report).ok())
                << r.out;
        return v;
    }

    void stop(child_process& run) {
        run.signal(SIGTERM);
        auto code = run.wait(120s);
        ASSERT_TRUE(code.has_value()) << run.log();
        EXPECT_EQ(*code, 0) << run.log();
    }

    std::unique_ptr<test_database> db_;
    temp_dir spool_;
};

// contains: the report's range holds the single-column integer key.
bool contains(const proto::key_range_report& range, int64_t key) {
    if (!range.lower().empty() && std::stoll(range.lower(0)) > key) return false;
    if (!range.upper().empty() && std::stoll(range.upper(0)) <= key) return false;
    return true;
}

}  // namespace

TEST_F(VerifyTest, EqualWhenCaughtUpThenLocatesACorruptedRow) {
    auto run = follow(60000);
    auto equal = verify();
    ASSERT_EQ(equal.exit_code, 0) << equal.out << equal.err << run->log();
    EXPECT_TRUE(equal.report.ok());
    EXPECT_EQ(equal.report.job(), "events");
    EXPECT_EQ(equal.report.left(), "public.events");
    EXPECT_EQ(equal.report.right(), "public.events_new");
    EXPECT_FALSE(equal.report.swapped());
    EXPECT_TRUE(equal.report.run_active());
    EXPECT_GT(equal.report.chunks_total(), 1);
    EXPECT_EQ(equal.report.rows_left(), 60000);
    EXPECT_EQ(equal.report.rows_right(), 60000);
    EXPECT_EQ(equal.report.chunks_mismatched(), 0);
    EXPECT_EQ(equal.report.still_changing_size(), 0);

    // One row changed on the target behind partshift's back, with the run still following
    // and the source idle: the applier never passes the check's position by a commit.
    db_->exec("UPDATE events_new SET status = 'tampered' WHERE id = 42424");
    auto wrong = verify();
    EXPECT_EQ(wrong.exit_code, 1) << wrong.out << wrong.err;
    EXPECT_FALSE(wrong.report.ok());
    ASSERT_EQ(wrong.report.mismatches_size(), 1) << wrong.out;
    const auto& range = wrong.report.mismatches(0);
    EXPECT_TRUE(contains(range, 42424)) << wrong.out;
    ASSERT_EQ(range.keys_size(), 1);
    EXPECT_EQ(range.keys(0), "(42424)");
    EXPECT_EQ(range.rows_left(), range.rows_right());
    EXPECT_EQ(wrong.report.chunks_mismatched(), 1);
    EXPECT_EQ(wrong.report.duplicate_keys_total(), 0);
    EXPECT_TRUE(one_line(wrong.err)) << wrong.err;

    // The human report names the range and the key.
    auto text = run_partshift({"verify", "--dsn", db_->dsn()});
    EXPECT_EQ(text.exit_code, 1);
    EXPECT_NE(text.out.find("mismatched key ranges"), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("keys (42424)"), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("MISMATCH"), std::string::npos) << text.out;

    // A row missing on the target is found the same way.
    db_->exec(
        "UPDATE events_new SET status = e.status FROM events e "
        "WHERE events_new.id = 42424 AND e.id = 42424;"
        "DELETE FROM events_new WHERE id = 777");
    auto missing = verify();
    EXPECT_EQ(missing.exit_code, 1) << missing.out;
    ASSERT_EQ(missing.report.mismatches_size(), 1) << missing.out;
    EXPECT_TRUE(contains(missing.report.mismatches(0), 777));
    EXPECT_EQ(missing.report.mismatches(0).rows_left(),
              missing.report.mismatches(0).rows_right() + 1);
    stop(*run);
}

TEST_F(VerifyTest, ReportsASourceKeyDuplicatedInAnotherPartition) {
    auto run = follow(50000);
    // A second copy of one source key, 40 days earlier: another monthly partition. The
    // target's primary key (id, ts) lets it in; the apply identity (id) says it must not be.
    auto conn = db_->connect();
    auto id = conn.exec(
                      "SELECT id FROM events WHERE ts BETWEEN now() - interval '60 days' "
                      "AND now() - interval '45 days' ORDER BY id LIMIT 1")
                  .get_int(0, 0);
    auto parts = conn.exec("SELECT count(DISTINCT tableoid) FROM events_new WHERE id = " +
                           std::to_string(id));
    db_->exec(
        "INSERT INTO events_new SELECT id, ts - interval '40 days', customer_id, amount, "
        "status, big, payload FROM events_new WHERE id = " +
        std::to_string(id));
    EXPECT_EQ(conn.exec("SELECT count(DISTINCT tableoid) FROM events_new WHERE id = " +
                        std::to_string(id))
                  .get_int(0, 0),
              2)
        << "the copy must land in another partition";

    auto v = verify();
    EXPECT_EQ(v.exit_code, 1) << v.out << v.err;
    EXPECT_FALSE(v.report.ok());
    EXPECT_EQ(v.report.duplicate_keys_total(), 1) << v.out;
    ASSERT_EQ(v.report.duplicate_keys_size(), 1);
    ASSERT_EQ(v.report.duplicate_keys(0).key_size(), 1);
    EXPECT_EQ(v.report.duplicate_keys(0).key(0), std::to_string(id));
    EXPECT_EQ(v.report.duplicate_keys(0).copies(), 2);
    // The extra row is a difference of its range too.
    ASSERT_EQ(v.report.mismatches_size(), 1);
    EXPECT_TRUE(contains(v.report.mismatches(0), id));
    EXPECT_EQ(v.report.rows_right(), v.report.rows_left() + 1);
    EXPECT_TRUE(one_line(v.err)) << v.err;
    stop(*run);
}

// Writes keep arriving while the run follows, and a large transaction lands right before each
// check: the target lags, yet verify must never call a range wrong; at most "still changing".
// Once the writes stop and the run has caught up, everything compares equal.
TEST_F(VerifyTest, NoFalseAlarmUnderWriteLoad) {
    auto run = follow(100000);
    auto load = start_pgbench(300, 150);
    std::this_thread::sleep_for(3s);
    int64_t rechecked = 0;
    for (int i = 0; i < 4; ++i) {
        ASSERT_TRUE(load->running()) << load->log();
        // A batch job's 20k-row transaction lands just before each check: the target lags it
        // by seconds, over every range, while the pgbench writers keep changing some keys.
        db_->exec("UPDATE events SET amount = amount + 0.01 WHERE id % 5 = " + std::to_string(i));
        auto v = verify();
        EXPECT_EQ(v.exit_code, 0) << v.out << v.err << run->log();
        EXPECT_TRUE(v.report.ok()) << v.out;
        EXPECT_EQ(v.report.chunks_mismatched(), 0) << v.out;
        EXPECT_EQ(v.report.duplicate_keys_total(), 0) << v.out;
        EXPECT_TRUE(v.report.run_active());
        rechecked += static_cast<int64_t>(v.report.chunks_rechecked());
        std::cerr << "verify under load: " << v.report.chunks_total() << " ranges, "
                  << v.report.chunks_rechecked() << " rechecked, "
                  << v.report.chunks_still_changing() << " still changing, " << v.report.seconds()
                  << " s\n";
    }
    // The load really made ranges differ at first sight (the recheck path ran).
    EXPECT_GT(rechecked, 0);
    load->signal(SIGINT);
    ASSERT_TRUE(load->wait(60s).has_value());
    auto s = job_status(db_->dsn(), "events");
    ASSERT_TRUE(s);
    wait_for([](const auto& st) { return st.lag_bytes() == 0; }, 120s, *run, "lag 0");
    auto settled = verify();
    EXPECT_EQ(settled.exit_code, 0) << settled.out << settled.err;
    EXPECT_TRUE(settled.report.ok());
    EXPECT_EQ(settled.report.chunks_still_changing(), 0) << settled.out;
    EXPECT_EQ(settled.report.rows_left(), settled.report.rows_right());
    stop(*run);
}

// After the swap, verify compares the table's final name (partitioned now) with the original
// kept under its old name, without waiting for any applier; a missing table is one line.
TEST_F(VerifyTest, AfterTheSwapComparesTheKeptOriginal) {
    auto run = follow(30000);
    stop(*run);
    // The swap as cutover commits it, done by hand: this test is about what verify compares.
    db_->exec(
        "ALTER TABLE events RENAME TO events_old; ALTER TABLE events_new RENAME TO events;"
        "UPDATE partshift.jobs SET phase = 'done' WHERE job = 'events'");
    auto v = verify({});  // the only job, without --job
    EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
    EXPECT_TRUE(v.report.swapped());
    EXPECT_EQ(v.report.left(), "public.events_old");
    EXPECT_EQ(v.report.right(), "public.events");
    EXPECT_EQ(v.report.rows_left(), 30000);
    EXPECT_TRUE(v.report.ok());

    db_->exec("DELETE FROM events WHERE id = 5");
    auto differs = verify({});
    EXPECT_EQ(differs.exit_code, 1) << differs.out;
    ASSERT_EQ(differs.report.mismatches_size(), 1);
    EXPECT_TRUE(contains(differs.report.mismatches(0), 5));

    // Not copied yet: nothing to compare (phase set by hand).
    db_->exec("UPDATE partshift.jobs SET phase = 'copy' WHERE job = 'events'");
    auto early = verify({});
    EXPECT_EQ(early.exit_code, 2);
    EXPECT_TRUE(one_line(early.err)) << early.err;
    EXPECT_NE(early.err.find("phase copy"), std::string::npos) << early.err;
    db_->exec("UPDATE partshift.jobs SET phase = 'done' WHERE job = 'events'");

    db_->exec("ALTER TABLE events_old RENAME TO events_elsewhere");
    auto gone = verify({});
    EXPECT_EQ(gone.exit_code, 1);
    EXPECT_TRUE(gone.out.empty()) << gone.out;
    EXPECT_TRUE(one_line(gone.err)) << gone.err;
    EXPECT_NE(gone.err.find("public.events_old does not exist"), std::string::npos) << gone.err;
}

TEST_F(VerifyTest, UnknownJobOrNoJobIsBadUsage) {
    auto none = run_partshift({"verify", "--dsn", db_->dsn()});
    EXPECT_EQ(none.exit_code, 2);
    EXPECT_TRUE(none.out.empty());
    EXPECT_TRUE(one_line(none.err)) << none.err;
    EXPECT_NE(none.err.find("no partshift job"), std::string::npos) << none.err;

    auto unknown = run_partshift({"verify", "--dsn", db_->dsn(), "--job", "nope", "--json"});
    EXPECT_EQ(unknown.exit_code, 2);
    EXPECT_TRUE(unknown.out.empty());
    EXPECT_TRUE(one_line(unknown.err)) << unknown.err;
    EXPECT_NE(unknown.err.find("no partshift job named nope"), std::string::npos) << unknown.err;
}

// A composite text key with quotes and backslashes, in names and values: ranges come from
// sampled boundaries, rechecked keys travel as array parameters, and the report names the key.
TEST_F(VerifyTest, CompositeQuotedKeyIsComparedAndNamed) {
    db_->exec(R"sql(
        CREATE SCHEMA "Sales Dept";
        CREATE TABLE "Sales Dept"."Line ""Items""" (
            "region code" text NOT NULL,
            "line" int NOT NULL,
            "at" timestamptz NOT NULL,
            note text,
            PRIMARY KEY ("region code", "line"));
        INSERT INTO "Sales Dept"."Line ""Items"""
        SELECT (ARRAY['north', 'it''s "south"', 'back\slash', 'east'])[1 + g % 4], g,
               '2025-01-01'::timestamptz + g * interval '17 minutes', 'n' || g
        FROM generate_series(1, 40000) g;
        ANALYZE "Sales Dept"."Line ""Items""";
    )sql");
    const std::string job = R"(Line "Items")";
    child_process run(
        {PARTSHIFT_BINARY, "run", "--dsn", db_->dsn(), "--table",
         R"("Sales Dept"."Line ""Items""")", "--partition-by", "range", "--key", "at", "--interval",
         "1 month", "--premake", "2", "--spool-dir", spool_.path(), "--dry-run"},
        spool_.path() + "-run.log");
    bool following = false;
    for (int i = 0; i < 1200 && run.running() && !following; ++i) {
        auto r = run_partshift({"status", "--dsn", db_->dsn(), "--job", job, "--json"});
        proto::status_report s;
        following = r.exit_code == 0 &&
                    google::protobuf::util::JsonStringToMessage(r.out, &s).ok() &&
                    s.phase() == "follow" && s.lag_bytes() == 0;
        if (!following) std::this_thread::sleep_for(200ms);
    }
    ASSERT_TRUE(following) << run.log();

    auto equal = verify({"--job", job});
    EXPECT_EQ(equal.exit_code, 0) << equal.out << equal.err;
    EXPECT_EQ(equal.report.right(), R"("Sales Dept"."Line ""Items""_new")");
    EXPECT_GT(equal.report.chunks_total(), 1);  // sampled boundaries, not one range
    EXPECT_EQ(equal.report.rows_right(), 40000);

    db_->exec(R"sql(UPDATE "Sales Dept"."Line ""Items""_new" SET note = 'changed'
                    WHERE ("region code" = 'it''s "south"' AND line = 30001)
                       OR ("region code" = 'back\slash' AND line = 2))sql");
    auto wrong = verify({"--job", job});
    EXPECT_EQ(wrong.exit_code, 1) << wrong.out << wrong.err;
    ASSERT_EQ(wrong.report.mismatches_size(), 2) << wrong.out;
    ASSERT_EQ(wrong.report.mismatches(0).keys_size(), 1);
    EXPECT_EQ(wrong.report.mismatches(0).keys(0), R"((back\slash, 2))");
    ASSERT_EQ(wrong.report.mismatches(1).keys_size(), 1);
    EXPECT_EQ(wrong.report.mismatches(1).keys(0), R"((it's "south", 30001))");
    stop(run);
}
