// What depends on the table, carried over by the cutover (issue 20 item 2), through the real
// binary: a BEGIN ATOMIC function and procedure keep writing into the table under its name
// (the partitioned one), an RLS policy on another table reads the new table, a DO ALSO rule on
// the table and a rule on another table that writes into it keep working, and all of it goes
// back with a revert. What the swap cannot carry (a column of the table's row type, an
// inheritance child) is listed by `plan` and refused by `run` (exit 3) unless accepted; a
// trigger whose function names the table in its body makes `plan` warn.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "partshift/pg/quote.hpp"
#include "status.pb.h"
#include "support/job_driver.hpp"

using namespace partshift;
using namespace partshift::testing;
using namespace std::chrono_literals;

namespace {

class DependentsTest : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
        db_ = std::make_unique<test_database>();
        ASSERT_TRUE(load_events_table(*db_, 3000));
    }

    std::vector<std::string> partition_args() {
        return {"--table", "events",     "--partition-by", "range",     "--key",
                "ts",      "--interval", "1 month",        "--premake", "3"};
    }

    command_result plan(std::vector<std::string> extra = {}) {
        std::vector<std::string> args{"plan", "--dsn", db_->dsn()};
        auto p = partition_args();
        args.insert(args.end(), p.begin(), p.end());
        args.insert(args.end(), extra.begin(), extra.end());
        return run_partshift(args);
    }

    std::unique_ptr<child_process> start_run(std::vector<std::string> extra = {}) {
        std::vector<std::string> args{PARTSHIFT_BINARY, "run",         "--dsn",     db_->dsn(),
                                      "--spool-dir",    spool_.path(), "--max-lag", "2s"};
        auto p = partition_args();
        args.insert(args.end(), p.begin(), p.end());
        args.insert(args.end(), extra.begin(), extra.end());
        return std::make_unique<child_process>(
            args, spool_.path() + "-run" + std::to_string(++runs_) + ".log");
    }

    // cut_over: the whole job; the table is partitioned afterwards.
    void cut_over() {
        auto run = start_run();
        auto code = run->wait(240s);
        ASSERT_TRUE(code.has_value()) << run->log();
        ASSERT_EQ(*code, 0) << run->log();
        ASSERT_EQ(relkind(*db_, "public.events"), "p");
        ASSERT_EQ(relkind(*db_, "public.events_old"), "r");
    }

    int64_t count(const std::string& sql) { return db_->connect().exec(sql).get_int(0, 0); }

    std::unique_ptr<test_database> db_;
    temp_dir spool_;
    int runs_ = 0;
};

// role_guard: a role unique to the test database, dropped at the end with its privileges.
struct role_guard {
    explicit role_guard(const test_database& db) : db(db), name(db.name() + "_reader") {
        db.exec("DROP ROLE IF EXISTS " + sql() + "; CREATE ROLE " + sql());
    }
    ~role_guard() {
        try {
            db.exec("DROP OWNED BY " + sql() + "; DROP ROLE " + sql());
        } catch (const std::exception& e) {
            ADD_FAILURE() << "could not drop role " << name << ": " << e.what();
        }
    }
    std::string sql() const { return pg::escape_identifier(name); }
    const test_database& db;
    std::string name;
};

}  // namespace

// Before: the function's body stayed bound to events_old, so the application's writes through
// it went to the old table after the cutover.
TEST_F(DependentsTest, BeginAtomicFunctionsKeepWritingIntoTheTable) {
    db_->exec(
        "CREATE FUNCTION add_event(c integer) RETURNS void LANGUAGE sql "
        "BEGIN ATOMIC INSERT INTO events (ts, customer_id) VALUES (now(), c); END; "
        "CREATE PROCEDURE drop_events(c integer) LANGUAGE sql "
        "BEGIN ATOMIC DELETE FROM events WHERE customer_id = c; END; "
        "COMMENT ON FUNCTION add_event(integer) IS 'the application''s way in'");
    auto p = plan();
    EXPECT_EQ(p.exit_code, 0) << p.out << p.err;
    EXPECT_NE(p.out.find("function public.add_event(integer)"), std::string::npos) << p.out;
    cut_over();
    db_->exec("SELECT add_event(-42)");
    EXPECT_EQ(count("SELECT count(*) FROM public.events WHERE customer_id = -42"), 1);
    EXPECT_EQ(count("SELECT count(*) FROM public.events_old WHERE customer_id = -42"), 0);
    db_->exec("CALL drop_events(-42)");
    EXPECT_EQ(count("SELECT count(*) FROM public.events WHERE customer_id = -42"), 0);
    // Replaced in place: the same function, with its comment.
    EXPECT_EQ(count("SELECT count(*) FROM pg_description WHERE objoid = "
                    "'public.add_event(integer)'::regprocedure"),
              1);
}

// Before: the policy kept reading events_old, so a row deleted from the table afterwards still
// granted access.
TEST_F(DependentsTest, PolicyOnAnotherTableReadsTheNewTable) {
    role_guard reader(*db_);
    db_->exec(
        "CREATE TABLE docs (id integer PRIMARY KEY, event_id bigint); "
        "INSERT INTO docs VALUES (1, 1), (2, 2); "
        "ALTER TABLE docs ENABLE ROW LEVEL SECURITY; "
        "CREATE POLICY docs_of_events ON docs FOR SELECT "
        "USING (EXISTS (SELECT 1 FROM events e WHERE e.id = event_id)); "
        "GRANT SELECT ON docs, events TO " +
        reader.sql());
    cut_over();
    db_->exec("DELETE FROM events WHERE id = 1");
    auto conn = db_->connect();
    conn.exec("SET ROLE " + reader.sql());
    EXPECT_EQ(conn.exec("SELECT count(*) FROM docs").get_int(0, 0), 1);
    conn.exec("RESET ROLE");
}

// Before: the rule stayed on events_old and deletes from the table were no longer logged.
TEST_F(DependentsTest, RulesOnTheTableAndOnOthersAreCarried) {
    db_->exec(
        "CREATE TABLE deleted_log (id bigint); "
        "CREATE RULE events_deleted AS ON DELETE TO events DO ALSO "
        "INSERT INTO deleted_log VALUES (OLD.id); "
        "CREATE TABLE orders (id integer, event_id bigint); "
        "CREATE RULE orders_touch AS ON INSERT TO orders DO ALSO "
        "UPDATE events SET status = 'ordered' WHERE id = NEW.event_id");
    cut_over();
    db_->exec("DELETE FROM events WHERE id = 5");
    EXPECT_EQ(count("SELECT count(*) FROM deleted_log WHERE id = 5"), 1);
    db_->exec("INSERT INTO orders VALUES (1, 6)");
    EXPECT_EQ(count("SELECT count(*) FROM public.events WHERE id = 6 AND status = 'ordered'"), 1);
    EXPECT_EQ(count("SELECT count(*) FROM public.events_old WHERE status = 'ordered'"), 0);
}

// The revert swaps every carried dependent back, by the same code.
TEST_F(DependentsTest, ARevertTakesThemBack) {
    db_->exec(
        "CREATE FUNCTION add_event(c integer) RETURNS void LANGUAGE sql "
        "BEGIN ATOMIC INSERT INTO events (ts, customer_id) VALUES (now(), c); END; "
        "CREATE TABLE deleted_log (id bigint); "
        "CREATE RULE events_deleted AS ON DELETE TO events DO ALSO "
        "INSERT INTO deleted_log VALUES (OLD.id)");
    auto run = start_run({"--revert-window", "10m"});
    // Open, and followed by this run (a revert asked before then finds the window's own
    // job about to be taken by the run, and refuses).
    wait_for_status(
        db_->dsn(), "events",
        [](const auto& s) { return s.revert_state() == "open" && s.reverse_running(); }, 240s,
        run.get(), "revert window open and followed");
    db_->exec("SELECT add_event(-1)");
    EXPECT_EQ(count("SELECT count(*) FROM public.events WHERE customer_id = -1"), 1);
    auto revert = run_partshift({"revert", "--dsn", db_->dsn(), "--job", "events"});
    ASSERT_EQ(revert.exit_code, 0) << revert.out << revert.err << run->log();
    auto code = run->wait(60s);
    ASSERT_TRUE(code.has_value()) << run->log();
    EXPECT_EQ(relkind(*db_, "public.events"), "r");
    db_->exec("SELECT add_event(-2)");
    EXPECT_EQ(count("SELECT count(*) FROM public.events WHERE customer_id IN (-1, -2)"), 2);
    db_->exec("DELETE FROM events WHERE id = 7");
    EXPECT_EQ(count("SELECT count(*) FROM deleted_log WHERE id = 7"), 1);
}

// What the swap cannot carry: `plan` lists it, `run` refuses (exit 3) naming the flag, and
// accepts it with the flag.
TEST_F(DependentsTest, WhatCannotBeCarriedIsRefusedUnlessAccepted) {
    db_->exec("CREATE TABLE holder (e events); CREATE TABLE events_archive () INHERITS (events)");
    auto p = plan();
    EXPECT_EQ(p.exit_code, 3) << p.out << p.err;
    EXPECT_NE(p.out.find("column e of table public.holder"), std::string::npos) << p.out;
    EXPECT_NE(p.out.find("table public.events_archive"), std::string::npos) << p.out;
    EXPECT_NE(p.out.find("--allow-uncarried-dependents"), std::string::npos) << p.out;
    auto run = start_run();
    auto code = run->wait(120s);
    ASSERT_TRUE(code.has_value()) << run->log();
    EXPECT_EQ(*code, 3) << run->log();
    EXPECT_NE(run->log().find("--allow-uncarried-dependents"), std::string::npos) << run->log();
    EXPECT_EQ(relkind(*db_, "public.events_new"), "-");
    auto accepted = plan({"--allow-uncarried-dependents"});
    EXPECT_EQ(accepted.exit_code, 0) << accepted.out << accepted.err;
    EXPECT_NE(accepted.out.find("(accepted)"), std::string::npos) << accepted.out;
}

// A trigger on another table whose function's body names the table: pg_depend cannot see it,
// `plan` warns.
TEST_F(DependentsTest, PlanWarnsOfTriggerFunctionsNamingTheTable) {
    db_->exec(
        "CREATE TABLE payments (id integer, event_id bigint); "
        "CREATE FUNCTION touch_event() RETURNS trigger LANGUAGE plpgsql AS "
        "$$BEGIN UPDATE public.events SET status = 'paid' WHERE id = NEW.event_id; "
        "RETURN NEW; END$$; "
        "CREATE TRIGGER payments_touch AFTER INSERT ON payments FOR EACH ROW "
        "EXECUTE FUNCTION touch_event()");
    auto p = plan();
    EXPECT_EQ(p.exit_code, 0) << p.out << p.err;
    EXPECT_NE(p.out.find("trigger payments_touch on public.payments runs public.touch_event()"),
              std::string::npos)
        << p.out;
}
