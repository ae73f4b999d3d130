// The source's schema changing during a job (issue 20 item 1), through the real binary: what
// the partitioned table could not have (a new index, UNIQUE index, CHECK, NOT NULL) stops the
// job while it follows (exit 1, the difference named, the source untouched), and so does a
// change of the columns made just before the cutover (caught under the cutover's lock, with
// the run's own checks slowed down); undoing such a change lets the job go on; what the swap
// reads again under its lock (grants, new triggers, policies, rules, views) is carried over.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "partshift/pg/quote.hpp"
#include "status.pb.h"
#include "support/job_driver.hpp"

using namespace partshift;
using namespace partshift::testing;
using namespace std::chrono_literals;

namespace {

class SchemaDriftTest : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
        db_ = std::make_unique<test_database>();
        ASSERT_TRUE(load_events_table(*db_, 5000));
        // A nullable column without NULLs, for SET NOT NULL during the job.
        db_->exec("ALTER TABLE events ADD COLUMN note text DEFAULT 'n'");
    }

    std::unique_ptr<child_process> start_run(std::vector<std::string> env = {}) {
        std::vector<std::string> args{
            PARTSHIFT_BINARY, "run",   "--dsn",       db_->dsn(),    "--table",           "events",
            "--partition-by", "range", "--key",       "ts",          "--interval",        "1 month",
            "--premake",      "3",     "--spool-dir", spool_.path(), "--postpone-cutover"};
        return start_with_env(env, args, spool_.path() + "-run" + std::to_string(++runs_) + ".log");
    }

    void wait_until_ready(child_process* run) {
        wait_for_status(
            db_->dsn(), "events",
            [](const proto::status_report& s) {
                return s.cutover_state() == "waiting for cutover";
            },
            120s, run, "waiting for cutover");
    }

    int64_t count(const std::string& sql) { return db_->connect().exec(sql).get_int(0, 0); }

    // The run stops with exit 1 naming the difference; nothing was swapped.
    void expect_stopped(child_process& run, const std::string& difference,
                        const std::string& next_step) {
        auto code = run.wait(60s);
        ASSERT_TRUE(code.has_value()) << "the run did not stop\n" << run.log();
        EXPECT_EQ(*code, 1) << run.log();
        EXPECT_NE(run.log().find(difference), std::string::npos) << run.log();
        EXPECT_NE(run.log().find(next_step), std::string::npos) << run.log();
        EXPECT_EQ(relkind(*db_, "public.events"), "r");
        EXPECT_EQ(relkind(*db_, "public.events_new"), "p");
        EXPECT_EQ(relkind(*db_, "public.events_old"), "-");
        auto s = job_status(db_->dsn(), "events");
        ASSERT_TRUE(s);
        EXPECT_NE(s->last_error().find(difference), std::string::npos) << s->last_error();
    }

    std::unique_ptr<test_database> db_;
    temp_dir spool_;
    int runs_ = 0;
};

struct drift_case {
    const char* name;
    const char* ddl;
    const char* difference;  // in the message
};

class SchemaDriftWhileFollowing : public SchemaDriftTest,
                                  public ::testing::WithParamInterface<drift_case> {};

}  // namespace

// Before: the job went on following and a cutover would have exited 0 with a partitioned
// table that has none of these. Now the run's check (every 2 s) stops it.
TEST_P(SchemaDriftWhileFollowing, StopsTheJobNamingTheDifference) {
    auto run = start_run();
    wait_until_ready(run.get());
    db_->exec(GetParam().ddl);
    expect_stopped(*run, GetParam().difference, "Undo the change and run again");
}

INSTANTIATE_TEST_SUITE_P(
    Kinds, SchemaDriftWhileFollowing,
    ::testing::Values(
        drift_case{"CreateIndex", "CREATE INDEX events_amount_idx ON events (amount)",
                   "index events_amount_idx was added"},
        drift_case{"CreateUniqueIndex",
                   "CREATE UNIQUE INDEX events_id_status_key ON events (id, status)",
                   "index events_id_status_key was added"},
        drift_case{"AddCheck",
                   "ALTER TABLE events ADD CONSTRAINT amount_positive CHECK (amount >= 0)",
                   "constraint amount_positive was added (CHECK ((amount >= (0)::numeric)))"},
        drift_case{"SetNotNull", "ALTER TABLE events ALTER COLUMN note SET NOT NULL",
                   "column not null note was added"},
        drift_case{"ChangeDefault", "ALTER TABLE events ALTER COLUMN status SET DEFAULT 'old'",
                   "column default status changed from 'DEFAULT 'new'::text' to "
                   "'DEFAULT 'old'::text'"}),
    [](const auto& info) { return std::string(info.param.name); });

// Columns changed just before the cutover, with no write after them (so the stream shows no
// new relation): before, the swap went ahead and the application's next INSERT failed. The
// run's own check is slowed down: the cutover's check under its lock stops it.
class SchemaDriftBeforeTheCutover : public SchemaDriftTest,
                                    public ::testing::WithParamInterface<drift_case> {};

TEST_P(SchemaDriftBeforeTheCutover, IsCaughtUnderTheCutoverLock) {
    auto run = start_run({"PARTSHIFT_TEST_SCHEMA_CHECK_MS=600000"});
    wait_until_ready(run.get());
    db_->exec(GetParam().ddl);
    auto cut = run_partshift({"cutover", "--dsn", db_->dsn(), "--job", "events"}, 120s);
    EXPECT_NE(cut.exit_code, 0) << cut.out << cut.err;
    expect_stopped(*run, GetParam().difference,
                   std::string(GetParam().name) == "CreateIndex"
                       ? "Undo the change and run again"
                       : "'partshift abort --job events' and start again");
}

INSTANTIATE_TEST_SUITE_P(
    Kinds, SchemaDriftBeforeTheCutover,
    ::testing::Values(
        drift_case{"DropColumn", "ALTER TABLE events DROP COLUMN big", "column big was removed"},
        drift_case{"AlterColumnType", "ALTER TABLE events ALTER COLUMN customer_id TYPE bigint",
                   "column customer_id changed from '#3 integer' to '#3 bigint'"},
        drift_case{"CreateIndex", "CREATE INDEX events_amount_idx ON events (amount)",
                   "index events_amount_idx was added"}),
    [](const auto& info) { return std::string(info.param.name); });

// A change of the columns stops every later run too, even once undone as far as it can be.
TEST_F(SchemaDriftTest, AColumnChangeStopsTheNextRunToo) {
    auto run = start_run();
    wait_until_ready(run.get());
    db_->exec("ALTER TABLE events ALTER COLUMN note TYPE varchar(10)");
    expect_stopped(*run, "column note changed", "'partshift abort --job events' and start again");
    db_->exec("ALTER TABLE events ALTER COLUMN note TYPE text");
    auto again = start_run();
    auto code = again->wait(60s);
    ASSERT_TRUE(code.has_value()) << again->log();
    EXPECT_EQ(*code, 1) << again->log();
    EXPECT_NE(again->log().find("column note changed"), std::string::npos) << again->log();
}

// issue 21 item 5: a column added and written at once reaches the applier before the run's
// check (slowed down here): the stop names the column's type by name and what to run next;
// the next run says what to do before replaying anything. Before: "new column "severity"
// (type oid 23)", then the applier's raw "column "severity" of relation "events_new" does not
// exist".
TEST_F(SchemaDriftTest, ANewColumnWrittenAtOnceSaysWhatToDoNowAndOnTheNextRun) {
    auto run = start_run({"PARTSHIFT_TEST_SCHEMA_CHECK_MS=600000"});
    wait_until_ready(run.get());
    db_->exec(
        "ALTER TABLE events ADD COLUMN severity integer; "
        "UPDATE events SET severity = 1 WHERE id = 1");
    auto code = run->wait(60s);
    ASSERT_TRUE(code.has_value()) << "the run did not stop\n" << run->log();
    EXPECT_EQ(*code, 1) << run->log();
    EXPECT_NE(run->log().find("new column \"severity\" (integer)"), std::string::npos)
        << run->log();
    EXPECT_NE(run->log().find("run 'partshift abort --job events', then run again"),
              std::string::npos)
        << run->log();
    auto again = start_run();
    code = again->wait(60s);
    ASSERT_TRUE(code.has_value()) << again->log();
    EXPECT_EQ(*code, 1) << again->log();
    EXPECT_EQ(again->log().find("does not exist"), std::string::npos) << again->log();
    EXPECT_NE(again->log().find("severity"), std::string::npos) << again->log();
    EXPECT_NE(again->log().find("'partshift abort --job events' and start again"),
              std::string::npos)
        << again->log();
    EXPECT_EQ(relkind(*db_, "public.events"), "r");
}

// Undoing a change that stopped the job lets it go on and cut over.
TEST_F(SchemaDriftTest, UndoingTheChangeLetsTheJobGoOn) {
    auto run = start_run();
    wait_until_ready(run.get());
    db_->exec("CREATE INDEX events_amount_idx ON events (amount)");
    expect_stopped(*run, "index events_amount_idx was added", "Undo the change and run again");
    db_->exec("DROP INDEX events_amount_idx");
    auto again = start_run();
    wait_until_ready(again.get());
    auto cut = run_partshift({"cutover", "--dsn", db_->dsn(), "--job", "events"}, 120s);
    EXPECT_EQ(cut.exit_code, 0) << cut.out << cut.err;
    auto code = again->wait(120s);
    ASSERT_TRUE(code.has_value()) << again->log();
    EXPECT_EQ(*code, 0) << again->log();
    EXPECT_EQ(relkind(*db_, "public.events"), "p");
}

// What the swap reads again under its lock is carried over: a grant, a new trigger, a new
// policy with row level security, a new rule, a new view, a trigger disabled since.
TEST_F(SchemaDriftTest, WhatTheSwapCarriesIsCarried) {
    const std::string role = db_->name() + "_reader";
    const auto r = pg::escape_identifier(role);
    db_->exec("DROP ROLE IF EXISTS " + r + "; CREATE ROLE " + r);
    db_->exec(
        "CREATE TABLE audit (id bigint); "
        "CREATE FUNCTION stamp() RETURNS trigger LANGUAGE plpgsql AS "
        "$$BEGIN NEW.note := 'stamped'; RETURN NEW; END$$");
    auto run = start_run();
    wait_until_ready(run.get());
    db_->exec("GRANT SELECT ON events TO " + r +
              "; CREATE TRIGGER events_stamp BEFORE INSERT ON events FOR EACH ROW "
              "EXECUTE FUNCTION stamp(); "
              "CREATE POLICY events_mine ON events FOR SELECT USING (customer_id > 0); "
              "ALTER TABLE events ENABLE ROW LEVEL SECURITY; "
              "CREATE RULE events_audit AS ON DELETE TO events DO ALSO "
              "INSERT INTO audit VALUES (OLD.id); "
              "CREATE VIEW recent AS SELECT id FROM events WHERE id > 10");
    // Two ticks of the run's check: nothing of this stops it.
    std::this_thread::sleep_for(5s);
    ASSERT_TRUE(run->running()) << run->log();
    auto cut = run_partshift({"cutover", "--dsn", db_->dsn(), "--job", "events"}, 120s);
    EXPECT_EQ(cut.exit_code, 0) << cut.out << cut.err;
    auto code = run->wait(120s);
    ASSERT_TRUE(code.has_value()) << run->log();
    ASSERT_EQ(*code, 0) << run->log();
    EXPECT_EQ(relkind(*db_, "public.events"), "p");
    auto conn = db_->connect();
    EXPECT_TRUE(conn.query("SELECT has_table_privilege($1, 'public.events', 'SELECT')", role)
                    .get_bool(0, 0));
    EXPECT_EQ(count("SELECT count(*) FROM pg_trigger WHERE tgrelid = 'public.events'::regclass "
                    "AND tgname = 'events_stamp'"),
              1);
    EXPECT_EQ(count("SELECT count(*) FROM pg_policy WHERE polrelid = 'public.events'::regclass "
                    "AND polname = 'events_mine'"),
              1);
    EXPECT_EQ(count("SELECT count(*) FROM pg_rewrite WHERE ev_class = 'public.events'::regclass "
                    "AND rulename = 'events_audit'"),
              1);
    db_->exec("DELETE FROM events WHERE id = 1");
    EXPECT_EQ(count("SELECT count(*) FROM audit WHERE id = 1"), 1);
    EXPECT_EQ(count("SELECT count(DISTINCT rw.oid) FROM pg_depend d "
                    "JOIN pg_rewrite rw ON rw.oid = d.objid "
                    "WHERE rw.ev_class = 'public.recent'::regclass "
                    "AND d.refobjid = 'public.events'::regclass"),
              1);
    db_->exec("REVOKE ALL ON events, events_old FROM " + r + "; DROP ROLE " + r);
}
