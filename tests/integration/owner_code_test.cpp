// Issue 18, item 3 (DESIGN.md invariant 8): a table owner who is not a superuser must not get
// the operator's rights through the code of its table. The attacker owns the database and the
// table; the table's CHECK, index expression, domain, generated column or trigger calls the
// attacker's function, which records who ran it and, when that is a superuser, makes the
// attacker one. The operator (the sandbox's superuser) runs plan and run: preflight refuses
// (exit 3, naming the owner, the function, what uses it and the fixes) and nothing ran;
// --trust-table-owner goes ahead; partshift run as the owner itself (REPLICATION, SET on
// session_replication_role) migrates and cuts over without the attacker gaining anything.
#include <gtest/gtest.h>

#include "partshift/pg/quote.hpp"

#include <algorithm>
#include <fstream>

#include "support/job_driver.hpp"
#include "support/sandbox.hpp"

using namespace partshift;
using namespace partshift::testing;
using namespace std::chrono_literals;

namespace {

// attacker: a login role, unique to the test database, that owns the database; dropped with
// everything it owns at the end (declared after the database, so it goes first).
class attacker {
  public:
    explicit attacker(const test_database& db)
        : db_(db),
          role_(db.name().substr(db.name().size() > 54 ? db.name().size() - 54 : 0) + "_owner") {
        auto conn = db_.connect();
        const auto r = pg::escape_identifier(role_);
        conn.exec("DROP ROLE IF EXISTS " + r);
        conn.exec("CREATE ROLE " + r + " LOGIN");
        conn.exec("ALTER DATABASE " + pg::escape_identifier(db_.name()) + " OWNER TO " + r);
    }
    ~attacker() {
        try {
            auto conn = db_.connect();
            const auto r = pg::escape_identifier(role_);
            // REASSIGN takes the database too; DROP OWNED revokes SET ON PARAMETER as well.
            conn.exec("REASSIGN OWNED BY " + r + " TO CURRENT_USER");
            conn.exec("DROP OWNED BY " + r);
            conn.exec("DROP ROLE " + r);
        } catch (const std::exception& e) {
            ADD_FAILURE() << "could not drop role " << role_ << ": " << e.what();
        }
    }
    attacker(const attacker&) = delete;
    attacker& operator=(const attacker&) = delete;

    const std::string& role() const { return role_; }
    std::string dsn() const { return db_.dsn() + " user=" + role_; }

    // as_owner runs a script as the attacker; false (with the output) on an error.
    ::testing::AssertionResult as_owner(const std::string& script) const {
        auto r = run_psql(dsn(), script);
        if (r.exit_code == 0) return ::testing::AssertionSuccess();
        return ::testing::AssertionFailure() << r.err << r.out;
    }

    bool is_superuser() const {
        auto conn = db_.connect();
        return conn.query("SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = $1", role_)
            .get_bool(0, 0);
    }

    // ran_as_superuser: the attacker's function ran at least once as a superuser.
    bool ran_as_superuser() const {
        auto conn = db_.connect();
        return conn.exec("SELECT count(*) FROM public.seen WHERE superuser").get_int(0, 0) > 0;
    }

    // The table every test migrates, and the function its code calls: spy() records who runs
    // it and, run by a superuser, makes the attacker one. It is VOLATILE, so an IMMUTABLE
    // function (an index expression, a generated column) can call it and still write.
    void create_ledger(const std::string& functions, const std::string& amount_type,
                       const std::string& extra_columns, const std::string& after) const {
        ASSERT_TRUE(as_owner(R"sql(
            CREATE TABLE public.seen (who name, superuser boolean);
            CREATE FUNCTION public.spy() RETURNS void LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO public.seen
                SELECT current_user, rolsuper FROM pg_catalog.pg_roles
                WHERE rolname = current_user;
                IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
                    EXECUTE pg_catalog.format('ALTER ROLE %I SUPERUSER', ')sql" +
                             role_ + R"sql(');
                END IF;
            END $$;
            )sql" + functions +
                             R"sql(
            CREATE TABLE public.ledger (
                id bigint PRIMARY KEY,
                ts timestamptz NOT NULL,
                amount )sql" +
                             amount_type + R"sql( NOT NULL)sql" + extra_columns + R"sql();
            )sql" + after + R"sql(
            INSERT INTO public.ledger (id, ts, amount)
            SELECT g, '2025-01-01'::timestamptz + g * interval '1 hour', g % 100
            FROM generate_series(1, 2000) g;
            TRUNCATE public.seen;
        )sql"));
    }

  private:
    const test_database& db_;
    std::string role_;
};

const std::vector<std::string> by_month{
    "--table", "public.ledger", "--partition-by", "range",     "--key",
    "ts",      "--interval",    "1 month",        "--premake", "2"};

command_result plan(const std::string& dsn, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"plan", "--dsn", dsn};
    args.insert(args.end(), by_month.begin(), by_month.end());
    args.insert(args.end(), extra.begin(), extra.end());
    return run_partshift(args);
}

command_result run(const std::string& dsn, const temp_dir& spool,
                   std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"run", "--dsn", dsn, "--spool-dir", spool.path()};
    args.insert(args.end(), by_month.begin(), by_month.end());
    args.insert(args.end(), extra.begin(), extra.end());
    return run_partshift(args, 300s);
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

int64_t slots_in(const test_database& db) {
    auto conn = db.connect();
    return conn
        .exec(
            "SELECT count(*) FROM pg_catalog.pg_replication_slots "
            "WHERE database = pg_catalog.current_database()")
        .get_int(0, 0);
}

// expect_refused: plan and run both stop at preflight (exit 3) with one line naming the owner,
// the function and what uses it, and the fixes; the attacker's code never ran as the operator
// and the source is untouched.
void expect_refused(const test_database& db, const attacker& a, const std::string& function,
                    const std::string& used_by) {
    auto conn = db.connect();
    const auto before = fingerprint(conn, "public.ledger");
    auto p = plan(db.dsn());
    EXPECT_EQ(p.exit_code, 3) << p.err;
    EXPECT_TRUE(one_line(p.err)) << p.err;
    for (const auto& part : {a.role(), function, used_by, std::string("--trust-table-owner"),
                             std::string("REPLICATION")})
        EXPECT_TRUE(contains(p.err, part)) << part << " not in: " << p.err;

    temp_dir spool;
    auto r = run(db.dsn(), spool);
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_TRUE(contains(r.err, function) && contains(r.err, used_by)) << r.err;

    EXPECT_FALSE(a.is_superuser());
    EXPECT_FALSE(a.ran_as_superuser());
    EXPECT_EQ(relkind(db, "public.ledger"), "r");
    EXPECT_EQ(relkind(db, "public.ledger_new"), "-");
    EXPECT_EQ(slots_in(db), 0);
    EXPECT_EQ(fingerprint(conn, "public.ledger"), before);
}

}  // namespace

TEST(OwnerCode, CheckConstraintIsRefusedThenRunsOnlyWhenTrusted) {
    if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
    test_database db;
    attacker a(db);
    a.create_ledger(R"sql(
        CREATE FUNCTION public.amount_ok(a int) RETURNS boolean LANGUAGE plpgsql AS $$
        BEGIN PERFORM public.spy(); RETURN a >= 0; END $$;)sql",
                    "int CHECK (public.amount_ok(amount))", "", "");
    expect_refused(db, a, "public.amount_ok(integer)", "CHECK constraint ledger_amount_check");

    // Accepted: the run goes through, and the copy did run the owner's code as the operator
    // (what the refusal is about).
    temp_dir spool;
    auto p = plan(db.dsn(), {"--trust-table-owner"});
    EXPECT_EQ(p.exit_code, 0) << p.err;
    auto r = run(db.dsn(), spool, {"--trust-table-owner"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(relkind(db, "public.ledger"), "p");
    EXPECT_TRUE(a.ran_as_superuser());
}

TEST(OwnerCode, IndexExpressionIsRefused) {
    if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
    test_database db;
    attacker a(db);
    a.create_ledger(R"sql(
        CREATE FUNCTION public.bucket(a int) RETURNS int IMMUTABLE LANGUAGE plpgsql AS $$
        BEGIN PERFORM public.spy(); RETURN a / 10; END $$;)sql",
                    "int", "",
                    "CREATE INDEX ledger_bucket ON public.ledger (public.bucket(amount));");
    expect_refused(db, a, "public.bucket(integer)", "index ledger_bucket expression");
}

TEST(OwnerCode, DomainCheckOfAColumnTypeIsRefused) {
    if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
    test_database db;
    attacker a(db);
    a.create_ledger(R"sql(
        CREATE FUNCTION public.positive(a int) RETURNS boolean LANGUAGE plpgsql AS $$
        BEGIN PERFORM public.spy(); RETURN a >= 0; END $$;
        CREATE DOMAIN public.money_amount AS int CHECK (public.positive(VALUE));)sql",
                    "public.money_amount", "", "");
    expect_refused(db, a, "public.positive(integer)", "column amount");
}

TEST(OwnerCode, GeneratedColumnAndDefaultAreRefused) {
    if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
    test_database db;
    attacker a(db);
    a.create_ledger(R"sql(
        CREATE FUNCTION public.doubled(a int) RETURNS int IMMUTABLE LANGUAGE plpgsql AS $$
        BEGIN PERFORM public.spy(); RETURN a * 2; END $$;
        CREATE FUNCTION public.stamp() RETURNS text LANGUAGE plpgsql AS $$
        BEGIN PERFORM public.spy(); RETURN 'x'; END $$;)sql",
                    "int",
                    ", twice int GENERATED ALWAYS AS (public.doubled(amount)) STORED"
                    ", note text DEFAULT public.stamp()",
                    "");
    expect_refused(db, a, "public.doubled(integer)", "generated column twice");
    auto p = plan(db.dsn());
    EXPECT_TRUE(contains(p.err, "public.stamp()") && contains(p.err, "default of column note"))
        << p.err;
}

// Only triggers that fire in partshift's sessions (session_replication_role = replica) count:
// an ordinary trigger never runs there; one made ENABLE ALWAYS does.
TEST(OwnerCode, TriggerThatFiresOnReplicaSessionsIsRefused) {
    if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
    test_database db;
    attacker a(db);
    a.create_ledger(R"sql(
        CREATE FUNCTION public.audit() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN PERFORM public.spy(); RETURN NEW; END $$;)sql",
                    "int", "",
                    "CREATE TRIGGER ledger_audit BEFORE INSERT OR UPDATE ON public.ledger "
                    "FOR EACH ROW EXECUTE FUNCTION public.audit();");
    auto ordinary = plan(db.dsn());
    EXPECT_EQ(ordinary.exit_code, 0) << ordinary.err;
    ASSERT_TRUE(a.as_owner("ALTER TABLE public.ledger ENABLE ALWAYS TRIGGER ledger_audit;"));
    expect_refused(db, a, "public.audit()", "trigger ledger_audit");
}

// A resumed run judges the owner's code again: a job started with --trust-table-owner does not
// carry that acceptance to a run without it.
TEST(OwnerCode, AResumedRunChecksAgain) {
    if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
    test_database db;
    attacker a(db);
    a.create_ledger(R"sql(
        CREATE FUNCTION public.amount_ok(a int) RETURNS boolean LANGUAGE sql AS
        $$ SELECT a >= 0 $$;)sql",
                    "int CHECK (public.amount_ok(amount))", "", "");
    temp_dir spool;
    auto first = run(db.dsn(), spool, {"--trust-table-owner", "--dry-run", "--dry-run-for", "1s"});
    ASSERT_EQ(first.exit_code, 0) << first.err;
    ASSERT_EQ(relkind(db, "public.ledger_new"), "p");
    auto again = run(db.dsn(), spool, {"--dry-run", "--dry-run-for", "1s"});
    EXPECT_EQ(again.exit_code, 3) << again.err;
    EXPECT_TRUE(contains(again.err, "public.amount_ok(integer)")) << again.err;
    auto abort = run_partshift({"abort", "--dsn", db.dsn(), "--job", "ledger"});
    EXPECT_EQ(abort.exit_code, 0) << abort.err;
}

// Least privilege: partshift run as the table's owner, with REPLICATION and the right to set
// session_replication_role (and CREATE on the database, which its owner has), is not refused
// and migrates the table; the owner's code ran with the owner's rights only.
TEST(OwnerCode, RunAsTheOwnerMigratesAndCutsOver) {
    if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
    test_database db;
    attacker a(db);
    a.create_ledger(R"sql(
        CREATE FUNCTION public.amount_ok(a int) RETURNS boolean LANGUAGE plpgsql AS $$
        BEGIN PERFORM public.spy(); RETURN a >= 0; END $$;
        CREATE FUNCTION public.bucket(a int) RETURNS int IMMUTABLE LANGUAGE plpgsql AS $$
        BEGIN PERFORM public.spy(); RETURN a / 10; END $$;
        CREATE FUNCTION public.doubled(a int) RETURNS int IMMUTABLE LANGUAGE plpgsql AS $$
        BEGIN PERFORM public.spy(); RETURN a * 2; END $$;)sql",
                    "int CHECK (public.amount_ok(amount))",
                    ", twice int GENERATED ALWAYS AS (public.doubled(amount)) STORED",
                    "CREATE INDEX ledger_bucket ON public.ledger (public.bucket(amount));");
    {
        auto conn = db.connect();
        const auto r = pg::escape_identifier(a.role());
        conn.exec("ALTER ROLE " + r + " REPLICATION");
        conn.exec("GRANT SET ON PARAMETER session_replication_role TO " + r);
        conn.exec("GRANT CREATE ON DATABASE " + pg::escape_identifier(db.name()) + " TO " + r);
    }
    auto conn = db.connect();
    const auto before = fingerprint(conn, "public.ledger");
    auto p = plan(a.dsn());
    EXPECT_EQ(p.exit_code, 0) << p.err;
    EXPECT_TRUE(contains(p.out, "-- preflight ok: owner_code: role " + a.role() + " owns"))
        << p.out;
    temp_dir spool;
    auto r = run(a.dsn(), spool);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(relkind(db, "public.ledger"), "p");
    EXPECT_EQ(fingerprint(conn, "public.ledger"), before);
    EXPECT_FALSE(a.is_superuser());
    EXPECT_FALSE(a.ran_as_superuser());
    // The code did run (the copy, the index build), as the owner.
    EXPECT_GT(conn.exec("SELECT count(*) FROM public.seen").get_int(0, 0), 0);
}

// A multi-table job checks every table: the second one's CHECK is the attacker's.
TEST(OwnerCode, EveryTableOfASpecJobIsChecked) {
    if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
    test_database db;
    attacker a(db);
    a.create_ledger(R"sql(
        CREATE FUNCTION public.amount_ok(a int) RETURNS boolean LANGUAGE plpgsql AS $$
        BEGIN PERFORM public.spy(); RETURN a >= 0; END $$;)sql",
                    "int CHECK (public.amount_ok(amount))", "", "");
    db.exec(
        "CREATE TABLE public.plain (id bigint PRIMARY KEY, ts timestamptz NOT NULL);"
        "INSERT INTO public.plain VALUES (1, '2025-01-01');");
    temp_dir dir;
    const auto spec = dir.path() + "/job.json";
    std::ofstream(spec) << R"({"job": "both", "tables": [
        {"table": "public.plain", "partition_by": "range", "key": "ts", "interval": "1 month"},
        {"table": "public.ledger", "partition_by": "range", "key": "ts", "interval": "1 month"}]})";
    auto p = run_partshift({"plan", "--dsn", db.dsn(), "--spec", spec});
    EXPECT_EQ(p.exit_code, 3) << p.err;
    EXPECT_TRUE(contains(p.err, "public.amount_ok(integer)")) << p.err;
    auto r = run_partshift({"run", "--dsn", db.dsn(), "--spec", spec, "--spool-dir", dir.path()});
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_TRUE(contains(r.err, "public.ledger") && contains(r.err, "public.amount_ok(integer)"))
        << r.err;
    EXPECT_FALSE(a.ran_as_superuser());
    EXPECT_EQ(relkind(db, "public.plain_new"), "-");
    EXPECT_EQ(slots_in(db), 0);
    EXPECT_EQ(
        run_partshift({"plan", "--dsn", db.dsn(), "--spec", spec, "--trust-table-owner"}).exit_code,
        0);
}
