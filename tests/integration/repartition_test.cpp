// Re-partitioning an already partitioned table (issue 11 item 1), through the real binary: a
// monthly RANGE table with a DEFAULT partition becomes daily under a prepared-statement pgbench
// load and is cut over (every committed write exactly once, `run --verify` comparing every key
// range before the swap); RANGE becomes HASH and both trees hold the same rows; the old tree is
// kept as events_old with its partitions under their names; one level becomes two and two
// become one; `abort` leaves the source tree exactly as it was; ATTACH and DETACH PARTITION
// during the job stop it with a clear message, also just before the cutover (under its lock);
// a partition without a replica identity of its own is refused at preflight.
#include <gtest/gtest.h>

#include <functional>
#include <sstream>
#include <thread>

#include "status.pb.h"
#include "support/job_driver.hpp"
#include "support/ledger_load.hpp"

using namespace partshift;
using namespace partshift::testing;
using namespace std::chrono_literals;

namespace {

// The cutover tests' events table, partitioned by month over the last two months and the next
// two, older rows in the DEFAULT partition; rows spread over the last 60 days.
const char* const monthly_events_sql = R"SQL(
CREATE TABLE events (
    id          bigserial,
    ts          timestamptz NOT NULL,
    customer_id integer NOT NULL,
    amount      numeric(12,2) NOT NULL DEFAULT 0,
    status      text NOT NULL DEFAULT 'new',
    big         text,
    payload     jsonb,
    PRIMARY KEY (id, ts)
) PARTITION BY RANGE (ts);
CREATE INDEX events_customer_idx ON events (customer_id);
DO $$
DECLARE m timestamptz := date_trunc('month', now()) - interval '1 month';
BEGIN
  FOR i IN 0..3 LOOP
    EXECUTE format('CREATE TABLE %I PARTITION OF events FOR VALUES FROM (%L) TO (%L)',
                   'events_p' || to_char(m, 'YYYY_MM'), m, m + interval '1 month');
    m := m + interval '1 month';
  END LOOP;
END $$;
CREATE TABLE events_default PARTITION OF events DEFAULT;
INSERT INTO events (ts, customer_id, amount, status, big, payload)
SELECT now() - (g % 60) * interval '1 day' - (g % 86400) * interval '1 second',
       g % 1000, (g % 10000) / 100.0, (ARRAY['new', 'paid', 'shipped'])[1 + g % 3],
       CASE WHEN g % 50 = 0 THEN
         (SELECT string_agg(md5(random()::text || g::text || i::text), '') FROM generate_series(1, 320) i)
       END,
       jsonb_build_object('g', g, 'tag', 'x' || (g % 7))
FROM generate_series(1, 20000) g;
ANALYZE events;
)SQL";

class RepartitionTest : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
        db_ = std::make_unique<test_database>();
        auto r = run_psql(db_->dsn(), monthly_events_sql);
        ASSERT_EQ(r.exit_code, 0) << r.err;
        ASSERT_GT(count("SELECT count(*) FROM ONLY events_default"), 0);
        create_ledger(*db_);
    }

    std::unique_ptr<child_process> start_run(std::vector<std::string> partition_options,
                                             std::vector<std::string> extra = {}) {
        std::vector<std::string> args{PARTSHIFT_BINARY, "run",    "--dsn",       db_->dsn(),
                                      "--table",        "events", "--spool-dir", spool_.path()};
        args.insert(args.end(), partition_options.begin(), partition_options.end());
        args.insert(args.end(), extra.begin(), extra.end());
        return std::make_unique<child_process>(
            args, spool_.path() + "-run" + std::to_string(++runs_) + ".log");
    }

    static std::vector<std::string> daily() {
        return {"--partition-by",     "range", "--key",     "ts",
                "--interval",         "1 day", "--premake", "3",
                "--default-partition"};
    }

    int64_t count(const std::string& sql) { return db_->connect().exec(sql).get_int(0, 0); }

    std::string text(const std::string& sql) { return db_->connect().exec(sql).get(0, 0); }

    // partitions_of: "name bound" lines of the relations directly below `parent`, sorted.
    std::string partitions_of(const std::string& parent) {
        return db_->connect()
            .query(
                "SELECT coalesce(string_agg(c.relname || ' ' || "
                "pg_get_expr(c.relpartbound, c.oid), E'\\n' ORDER BY c.relname), '') "
                "FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = to_regclass($1)",
                parent)
            .get(0, 0);
    }

    // The source tree's definition as pg_dump prints it: the parent, every partition (with its
    // ATTACH), indexes, constraints, grants.
    std::string source_ddl() {
        return schema_dump(*db_, {"public.events", "public.events_p*", "public.events_default"});
    }

    proto::status_report wait_for(const std::function<bool(const proto::status_report&)>& pred,
                                  child_process* run, const std::string& what) {
        return wait_for_status(db_->dsn(), "events", pred, 240s, run, what);
    }

    std::unique_ptr<test_database> db_;
    temp_dir spool_;
    int runs_ = 0;
};

}  // namespace

// Monthly with a DEFAULT partition → daily, under prepared-statement writes that also move rows
// between partitions (into and out of the DEFAULT one), cut over while the load runs.
TEST_F(RepartitionTest, MonthlyWithDefaultBecomesDailyUnderPreparedLoad) {
    const std::string old_partitions = partitions_of("public.events");
    auto load = start_ledger_load(*db_, "prepared", 40, spool_.path() + "-pgbench.log");
    auto run = start_run(daily(), {"--max-lag", "2s", "--verify"});
    auto code = run->wait(300s);
    ASSERT_TRUE(code.has_value()) << run->log();
    ASSERT_EQ(*code, 0) << run->log();
    EXPECT_NE(run->log().find("verify: "), std::string::npos) << run->log();
    EXPECT_TRUE(load->running()) << "the load should run across the cutover";
    expect_pgbench_clean(*load);
    expect_ledger_holds(*db_);

    // The new tree is daily, its DEFAULT named apart from the old one's.
    EXPECT_EQ(relkind(*db_, "public.events"), "p");
    EXPECT_EQ(text("SELECT pg_get_partkeydef('public.events'::regclass)"), "RANGE (ts)");
    EXPECT_GT(count("SELECT count(*) FROM pg_inherits WHERE inhparent = 'public.events'::regclass"),
              60);
    EXPECT_EQ(count("SELECT count(*) FROM pg_inherits WHERE inhparent = 'public.events'::regclass "
                    "AND inhrelid = 'public.events_default_2'::regclass"),
              1);
    // The old tree is kept whole as events_old, its partitions under their own names.
    EXPECT_EQ(relkind(*db_, "public.events_old"), "p");
    EXPECT_EQ(partitions_of("public.events_old"), old_partitions);
    EXPECT_EQ(count("SELECT count(*) FROM pg_constraint WHERE conname = 'events_pkey' AND "
                    "conrelid = 'public.events'::regclass"),
              1);
    EXPECT_EQ(count("SELECT count(*) FROM pg_replication_slots WHERE database = "
                    "current_database()"),
              0);
    EXPECT_EQ(count("SELECT count(*) FROM pg_publication"), 0);
    // The sequence goes on in the new tree.
    db_->exec("INSERT INTO events (ts, customer_id) VALUES (now(), 1), (now(), 2)");
}

// RANGE → HASH on the id: the two trees hold the same rows after changes made while following
// (cross-partition moves, the DEFAULT partition's rows, deletes, inserts); what depends on the
// table (a view, a grant, a trigger, a publication of the application's) follows it to the
// new tree.
TEST_F(RepartitionTest, RangeBecomesHashWithEqualContent) {
    db_->exec(
        "CREATE VIEW recent_events AS SELECT id, ts, amount FROM events "
        "  WHERE ts > now() - interval '7 days';"
        "GRANT SELECT, INSERT ON events TO PUBLIC;"
        "CREATE TABLE audit (id bigint);"
        "CREATE FUNCTION audit_insert() RETURNS trigger LANGUAGE plpgsql AS "
        "  $$BEGIN INSERT INTO audit VALUES (NEW.id); RETURN NEW; END$$;"
        "CREATE TRIGGER events_audit AFTER INSERT ON events FOR EACH ROW "
        "  EXECUTE FUNCTION audit_insert();"
        "CREATE PUBLICATION app_pub FOR TABLE events;");
    auto run = start_run({"--partition-by", "hash", "--key", "id", "--modulus", "4"},
                         {"--postpone-cutover"});
    wait_for([](const auto& s) { return s.cutover_state() == "waiting for cutover"; }, run.get(),
             "waiting for cutover");
    db_->exec(
        "UPDATE events SET ts = ts - interval '200 days' WHERE id % 97 = 0;"  // into DEFAULT
        "UPDATE events SET ts = now(), amount = amount + 1 WHERE id % 89 = 0;"
        "DELETE FROM events WHERE id % 83 = 0;"
        "INSERT INTO events (ts, customer_id, big) SELECT now() - g * interval '3 days', g, "
        "  repeat(md5(g::text), 400) FROM generate_series(1, 50) g;"
        "UPDATE events SET status = 'paid' WHERE big IS NOT NULL AND id % 3 = 0;");
    auto cut = run_partshift({"cutover", "--dsn", db_->dsn(), "--job", "events"}, 120s);
    EXPECT_EQ(cut.exit_code, 0) << cut.err;
    auto code = run->wait(120s);
    ASSERT_TRUE(code.has_value());
    ASSERT_EQ(*code, 0) << run->log();
    EXPECT_EQ(text("SELECT pg_get_partkeydef('public.events'::regclass)"), "HASH (id)");
    EXPECT_EQ(partitions_of("public.events"),
              "events_h0 FOR VALUES WITH (modulus 4, remainder 0)\n"
              "events_h1 FOR VALUES WITH (modulus 4, remainder 1)\n"
              "events_h2 FOR VALUES WITH (modulus 4, remainder 2)\n"
              "events_h3 FOR VALUES WITH (modulus 4, remainder 3)");
    EXPECT_EQ(relkind(*db_, "public.events_old"), "p");
    auto conn = db_->connect();
    const auto after = fingerprint(conn, "public.events");
    EXPECT_GT(after.rows, 19000);
    EXPECT_EQ(after, fingerprint(conn, "public.events_old"));
    auto verify = run_partshift({"verify", "--dsn", db_->dsn(), "--job", "events"});
    EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;

    EXPECT_EQ(text("SELECT string_agg(DISTINCT d.refobjid::regclass::text, ',') FROM pg_depend d "
                   "JOIN pg_rewrite r ON r.oid = d.objid "
                   "WHERE r.ev_class = 'public.recent_events'::regclass AND d.refobjid IN "
                   "('public.events'::regclass, 'public.events_old'::regclass)"),
              "events")
        << "the view reads the new tree";
    EXPECT_TRUE(db_->connect()
                    .exec("SELECT has_table_privilege('public', 'public.events', 'INSERT')")
                    .get_bool(0, 0));
    EXPECT_EQ(count("SELECT count(*) FROM pg_publication_rel WHERE prpubid = "
                    "(SELECT oid FROM pg_publication WHERE pubname = 'app_pub') "
                    "AND prrelid = 'public.events'::regclass"),
              1);
    const auto audited = count("SELECT count(*) FROM audit");
    db_->exec("INSERT INTO events (ts, customer_id) VALUES (now(), 7)");
    EXPECT_EQ(count("SELECT count(*) FROM audit"), audited + 1)
        << "the trigger fires on the new tree";
}

// Preflight of a partitioned source: PostgreSQL 15 does not give the partitions the parent's
// REPLICA IDENTITY USING INDEX, so a partition without an identity of its own would fail the
// application's UPDATEs and DELETEs once published: refused (exit 3) with the fix.
TEST_F(RepartitionTest, PartitionWithoutReplicaIdentityFailsPreflight) {
    db_->exec(
        "CREATE TABLE readings (id bigint NOT NULL, ts timestamptz NOT NULL, v int) "
        "  PARTITION BY RANGE (ts);"
        "CREATE TABLE readings_2026 PARTITION OF readings "
        "  FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');"
        "CREATE UNIQUE INDEX readings_key ON readings (id, ts);"
        "ALTER TABLE readings REPLICA IDENTITY USING INDEX readings_key;");
    const std::vector<std::string> args{"plan",     "--dsn",          db_->dsn(), "--table",
                                        "readings", "--partition-by", "hash",     "--key",
                                        "id",       "--modulus",      "2"};
    auto refused = run_partshift(args);
    EXPECT_EQ(refused.exit_code, 3) << refused.out << refused.err;
    EXPECT_NE(refused.out.find("partition public.readings_2026 has no replica identity"),
              std::string::npos)
        << refused.out;
    EXPECT_NE(refused.out.find("ALTER TABLE public.readings_2026 REPLICA IDENTITY USING INDEX"),
              std::string::npos)
        << refused.out;
    db_->exec("ALTER TABLE readings_2026 REPLICA IDENTITY USING INDEX readings_2026_id_ts_idx");
    auto planned = run_partshift(args);
    EXPECT_EQ(planned.exit_code, 0) << planned.out << planned.err;
    EXPECT_NE(planned.out.find("-- preflight ok: partition_identity"), std::string::npos)
        << planned.out;
}

// abort before the cutover: the source tree, its partitions, their bounds and rows are exactly
// as they were, and nothing partshift made is left.
TEST_F(RepartitionTest, AbortLeavesTheSourceTreeExactlyAsItWas) {
    const std::string before = source_ddl();
    auto conn = db_->connect();
    const auto rows_before = fingerprint(conn, "public.events");
    auto run = start_run(daily(), {"--dry-run"});
    wait_for([](const auto& s) { return s.phase() == "follow"; }, run.get(), "follow");
    run->signal(SIGTERM);
    EXPECT_EQ(run->wait(60s).value_or(-1), 0) << run->log();
    auto abort = run_partshift({"abort", "--dsn", db_->dsn(), "--job", "events"});
    EXPECT_EQ(abort.exit_code, 0) << abort.err;
    EXPECT_EQ(source_ddl(), before);
    EXPECT_EQ(fingerprint(conn, "public.events"), rows_before);
    EXPECT_EQ(relkind(*db_, "public.events_new"), "-");
    EXPECT_EQ(
        count("SELECT count(*) FROM pg_class WHERE relname ~ '^events_p\\d{4}_\\d{2}_\\d{2}'"), 0)
        << "daily partitions left behind";
    EXPECT_EQ(count("SELECT count(*) FROM pg_publication"), 0);
    EXPECT_EQ(count("SELECT count(*) FROM pg_replication_slots WHERE database = "
                    "current_database()"),
              0);
}

// ATTACH PARTITION while the job runs: an attached table's rows were never copied nor
// streamed, so the job stops (exit 1) naming the partition, and a new run refuses too; the
// source is not touched.
TEST_F(RepartitionTest, AttachDuringTheJobStopsIt) {
    auto run = start_run(daily(), {"--dry-run"});
    wait_for([](const auto& s) { return s.phase() == "follow"; }, run.get(), "follow");
    db_->exec(
        "CREATE TABLE events_future (LIKE events INCLUDING DEFAULTS);"
        "ALTER TABLE events_future ADD PRIMARY KEY (id, ts);"
        "ALTER TABLE events ATTACH PARTITION events_future "
        "  FOR VALUES FROM ('2100-01-01') TO ('2100-02-01');");
    auto code = run->wait(60s);
    ASSERT_TRUE(code.has_value()) << run->log();
    EXPECT_EQ(*code, 1) << run->log();
    EXPECT_NE(run->log().find("partition public.events_future was attached to public.events "
                              "during the job"),
              std::string::npos)
        << run->log();
    // The stored reason, for `status`; a new run refuses the same way.
    EXPECT_NE(job_status(db_->dsn(), "events")->last_error().find("events_future"),
              std::string::npos);
    auto again = start_run(daily(), {"--dry-run"});
    EXPECT_EQ(again->wait(120s).value_or(-1), 1) << again->log();
    EXPECT_EQ(count("SELECT count(*) FROM pg_inherits WHERE inhparent = "
                    "'public.events'::regclass AND inhrelid = 'public.events_future'::regclass"),
              1);
}

TEST_F(RepartitionTest, DetachDuringTheJobStopsIt) {
    auto run = start_run(daily(), {"--dry-run"});
    wait_for([](const auto& s) { return s.phase() == "follow"; }, run.get(), "follow");
    const auto month = text("SELECT 'events_p' || to_char(now(), 'YYYY_MM')");
    db_->exec("ALTER TABLE events DETACH PARTITION " + month);
    auto code = run->wait(60s);
    ASSERT_TRUE(code.has_value()) << run->log();
    EXPECT_EQ(*code, 1) << run->log();
    EXPECT_NE(run->log().find("partition public." + month +
                              " was detached from public.events (or dropped) during the job"),
              std::string::npos)
        << run->log();
    auto abort = run_partshift({"abort", "--dsn", db_->dsn(), "--job", "events"});
    EXPECT_EQ(abort.exit_code, 0) << abort.err;
    EXPECT_EQ(relkind(*db_, "public." + month), "r");
}

// A partition attached after the last check and before the cutover is caught under the
// cutover's lock (which then holds such DDL off until the swap commits): exit 1, nothing
// swapped. The run's own checks are slowed down so that only the cutover's can see it.
TEST_F(RepartitionTest, AttachJustBeforeTheCutoverIsCaughtUnderItsLock) {
    std::vector<std::string> argv{"env", "PARTSHIFT_TEST_PARTITION_CHECK_MS=600000"};
    auto run = std::make_unique<child_process>(
        [&] {
            auto args = std::vector<std::string>{
                PARTSHIFT_BINARY, "run",         "--dsn",       db_->dsn(),          "--table",
                "events",         "--spool-dir", spool_.path(), "--postpone-cutover"};
            auto d = daily();
            args.insert(args.end(), d.begin(), d.end());
            argv.insert(argv.end(), args.begin(), args.end());
            return argv;
        }(),
        spool_.path() + "-late-attach.log");
    wait_for([](const auto& s) { return s.cutover_state() == "waiting for cutover"; }, run.get(),
             "waiting for cutover");
    db_->exec(
        "CREATE TABLE events_late PARTITION OF events "
        "FOR VALUES FROM ('2100-01-01') TO ('2100-02-01')");
    auto cut = run_partshift({"cutover", "--dsn", db_->dsn(), "--job", "events"}, 120s);
    EXPECT_NE(cut.exit_code, 0) << cut.out;
    auto code = run->wait(60s);
    ASSERT_TRUE(code.has_value()) << run->log();
    EXPECT_EQ(*code, 1) << run->log();
    EXPECT_NE(run->log().find("partition public.events_late was attached to public.events"),
              std::string::npos)
        << run->log();
    EXPECT_EQ(relkind(*db_, "public.events_old"), "-");
    EXPECT_EQ(relkind(*db_, "public.events_new"), "p");
    EXPECT_EQ(count("SELECT count(*) FROM pg_inherits WHERE inhparent = "
                    "'public.events'::regclass AND inhrelid = 'public.events_late'::regclass"),
              1);
}

// One level → two: months again, each split by hash of the id; the months take names apart from
// the old tree's months, which the cutover leaves under events_old.
TEST_F(RepartitionTest, OneLevelBecomesTwo) {
    const std::string old_partitions = partitions_of("public.events");
    auto run = start_run({"--partition-by", "range", "--key", "ts", "--interval", "1 month",
                          "--subpartition-by", "hash", "--subkey", "id", "--submodulus", "2",
                          "--premake", "2", "--default-partition"});
    auto code = run->wait(300s);
    ASSERT_TRUE(code.has_value()) << run->log();
    ASSERT_EQ(*code, 0) << run->log();
    const auto month = text("SELECT 'events_p' || to_char(now(), 'YYYY_MM')");
    EXPECT_EQ(relkind(*db_, "public." + month + "_2"), "p");
    EXPECT_EQ(partitions_of("public." + month + "_2"),
              month + "_2_h0 FOR VALUES WITH (modulus 2, remainder 0)\n" + month +
                  "_2_h1 FOR VALUES WITH (modulus 2, remainder 1)");
    EXPECT_EQ(partitions_of("public.events_old"), old_partitions);
    auto conn = db_->connect();
    EXPECT_EQ(fingerprint(conn, "public.events"), fingerprint(conn, "public.events_old"));
}

// Two levels → one: a source whose partition is itself partitioned (by hash) is copied and
// followed through its root like any other, its sub-partitions left alone with the old tree.
TEST_F(RepartitionTest, TwoLevelSourceBecomesOneLevel) {
    db_->exec(
        "CREATE TABLE events_future PARTITION OF events FOR VALUES FROM ('2100-01-01') "
        "  TO ('2101-01-01') PARTITION BY HASH (id);"
        "CREATE TABLE events_future_h0 PARTITION OF events_future "
        "  FOR VALUES WITH (modulus 2, remainder 0);"
        "CREATE TABLE events_future_h1 PARTITION OF events_future "
        "  FOR VALUES WITH (modulus 2, remainder 1);"
        "INSERT INTO events (ts, customer_id) SELECT '2100-06-01'::timestamptz + g * "
        "  interval '1 hour', g FROM generate_series(1, 100) g;");
    auto run = start_run({"--partition-by", "hash", "--key", "id", "--modulus", "3"},
                         {"--postpone-cutover"});
    wait_for([](const auto& s) { return s.cutover_state() == "waiting for cutover"; }, run.get(),
             "waiting for cutover");
    db_->exec(
        "UPDATE events SET ts = '2100-02-01' WHERE id % 7 = 0;"  // into the sub-partitions
        "DELETE FROM events WHERE ts > '2100-06-02';");
    auto cut = run_partshift({"cutover", "--dsn", db_->dsn(), "--job", "events"}, 120s);
    EXPECT_EQ(cut.exit_code, 0) << cut.err;
    ASSERT_EQ(run->wait(120s).value_or(-1), 0) << run->log();
    EXPECT_EQ(text("SELECT pg_get_partkeydef('public.events'::regclass)"), "HASH (id)");
    EXPECT_EQ(partitions_of("public.events_future"),
              "events_future_h0 FOR VALUES WITH (modulus 2, remainder 0)\n"
              "events_future_h1 FOR VALUES WITH (modulus 2, remainder 1)");
    EXPECT_EQ(
        count("SELECT count(*) FROM pg_inherits WHERE inhparent = "
              "'public.events_old'::regclass AND inhrelid = 'public.events_future'::regclass"),
        1);
    auto conn = db_->connect();
    const auto after = fingerprint(conn, "public.events");
    EXPECT_GT(count("SELECT count(*) FROM events WHERE ts >= '2100-01-01'"), 2000);
    EXPECT_EQ(after, fingerprint(conn, "public.events_old"));
}

// No revert window when re-partitioning (the swap back expects a plain table): refused before
// anything is created.
TEST_F(RepartitionTest, RevertWindowIsRefused) {
    auto run = start_run(daily(), {"--revert-window", "1h"});
    EXPECT_EQ(run->wait(60s).value_or(-1), 2) << run->log();
    EXPECT_NE(run->log().find("--revert-window is not available when re-partitioning"),
              std::string::npos)
        << run->log();
    EXPECT_EQ(count("SELECT count(*) FROM pg_publication"), 0);
    EXPECT_EQ(relkind(*db_, "public.events_new"), "-");
}
