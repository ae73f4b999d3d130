// A database whose owner is an attacker, run by a superuser operator (issue 18, items 1 and 2):
// the owner (not a superuser) shadows every pg_catalog function, every operator and the common
// type names in `public`, puts `public` before pg_catalog in the database's search_path, and
// pre-creates partshift's own schema with a trigger. Whatever partshift runs — plan, a run
// with its copy, stream, apply, index build and cutover, status, verify, abort — must call
// none of it and must refuse a state schema it does not own; the attacker never becomes a
// superuser. Each planted object, when called, raises a WARNING naming the database (read back
// from the server log, which sees even read-only transactions) and tries ALTER ROLE … SUPERUSER.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "support/sandbox.hpp"

using namespace partshift;
using namespace partshift::testing;
using namespace std::chrono_literals;

namespace {

// hostile_role: a LOGIN role, not a superuser, named after the running test (roles are
// cluster-wide and tests run side by side). Declared before the database so it is dropped
// after it.
class hostile_role {
  public:
    hostile_role()
        : name_("atk_" + std::to_string(
                             std::hash<std::string>{}(
                                 ::testing::UnitTest::GetInstance()->current_test_info()->name()) %
                             1000000007)) {
        pg::connection admin(sandbox_dsn("postgres"), "partshift-test");
        admin.exec("DROP ROLE IF EXISTS " + name_);
        admin.exec("CREATE ROLE " + name_ + " LOGIN NOSUPERUSER");
    }
    ~hostile_role() {
        try {
            pg::connection admin(sandbox_dsn("postgres"), "partshift-test");
            admin.exec("DROP ROLE IF EXISTS " + name_);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "warning: could not drop role %s: %s\n", name_.c_str(), e.what());
        }
    }
    const std::string& name() const { return name_; }

  private:
    std::string name_;
};

// pinned: a session like partshift's own, on which nothing planted resolves (the test's reads
// and writes after planting must not be counted as captures).
pg::connection pinned(const test_database& db) {
    return pg::connection(db.dsn(), "partshift-test");
}

std::string relkind_of(const test_database& db, const std::string& name) {
    auto r = pinned(db).query(
        "SELECT coalesce((SELECT relkind::text FROM pg_class WHERE oid = to_regclass($1)), '-')",
        name);
    return r.get(0, 0);
}

bool is_superuser(const std::string& role) {
    pg::connection admin(sandbox_dsn("postgres"), "partshift-test");
    return admin.query("SELECT rolsuper FROM pg_roles WHERE rolname = $1", role).get_bool(0, 0);
}

// captures: the planted objects' WARNING lines for this database in the server log.
std::vector<std::string> captures(const std::string& db_name) {
    std::vector<std::string> found;
    const char* dir = std::getenv("PARTSHIFT_SANDBOX_DIR");
    if (!dir) return found;
    std::ifstream log(std::string(dir) + "/server.log");
    std::string line, marker = "partshift-capture " + db_name + " ";
    while (std::getline(log, line))
        if (line.find(marker) != std::string::npos) found.push_back(line);
    return found;
}

// The body every planted object runs: mark the call in the server log, then try to take over
// (which works only when the caller is a superuser).
std::string capture_function(const std::string& db_name, const std::string& role) {
    return "CREATE FUNCTION public.shadow_capture(fn pg_catalog.text) RETURNS void "
           "LANGUAGE plpgsql AS $b$ BEGIN "
           "RAISE WARNING 'partshift-capture " +
           db_name +
           " % by %', fn, pg_catalog.current_setting('application_name'); "
           "BEGIN EXECUTE 'ALTER ROLE " +
           role + " SUPERUSER'; EXCEPTION WHEN others THEN NULL; END; END $b$;";
}

// plant: as the attacker, a shadow in public of every pg_catalog function (same name and
// argument types, so with public first in the path it is an exact match that wins), of every
// operator, and domains named like the common types. Objects plpgsql cannot express
// (pseudo-type arguments, OUT parameters) are skipped.
void plant(const test_database& db, const std::string& role) {
    db.exec("SET ROLE " + role + ";" + capture_function(db.name(), role) + R"sql(

        DO $plant$
        DECLARE f record; fn text; ret text; call text; n int := 0;
        BEGIN
          FOR f IN
            SELECT p.oid, p.proname, p.proretset, p.pronargs,
                   pg_catalog.pg_get_function_identity_arguments(p.oid) AS args,
                   pg_catalog.format_type(p.prorettype, NULL) AS rettype
            FROM pg_catalog.pg_proc p
            WHERE p.pronamespace = 'pg_catalog'::regnamespace AND p.prokind = 'f'
              AND p.proargmodes IS NULL AND p.provariadic = 0
              AND p.proname <> 'shadow_capture'
          LOOP
            fn := f.proname;
            call := 'pg_catalog.' || pg_catalog.quote_ident(f.proname) || '(' ||
                    coalesce((SELECT pg_catalog.string_agg('$' || i, ', ')
                              FROM pg_catalog.generate_series(1, f.pronargs) i), '') || ')';
            BEGIN
              EXECUTE pg_catalog.format(
                'CREATE FUNCTION public.%I(%s) RETURNS %s%s LANGUAGE plpgsql AS $b$'
                'BEGIN PERFORM public.shadow_capture(%L); %s END $b$',
                f.proname, f.args, CASE WHEN f.proretset THEN 'SETOF ' ELSE '' END, f.rettype,
                f.proname,
                CASE WHEN f.proretset THEN 'RETURN QUERY SELECT * FROM ' || call || ';'
                     WHEN f.rettype = 'void' THEN 'PERFORM ' || call || ';'
                     ELSE 'RETURN ' || call || ';' END);
              n := n + 1;
            EXCEPTION WHEN others THEN NULL;
            END;
          END LOOP;
          FOR f IN
            SELECT o.oid, o.oprname, o.oprleft, o.oprright,
                   pg_catalog.format_type(o.oprleft, NULL) AS l,
                   pg_catalog.format_type(o.oprright, NULL) AS r,
                   pg_catalog.format_type(o.oprresult, NULL) AS res
            FROM pg_catalog.pg_operator o
            WHERE o.oprnamespace = 'pg_catalog'::regnamespace
          LOOP
            fn := 'operator ' || f.oprname;
            BEGIN
              IF f.oprleft = 0 THEN
                EXECUTE pg_catalog.format(
                  'CREATE FUNCTION public.shadow_op_%s(%s) RETURNS %s LANGUAGE plpgsql AS $b$'
                  'BEGIN PERFORM public.shadow_capture(%L); RETURN OPERATOR(pg_catalog.%s) $1; END $b$',
                  f.oid, f.r, f.res, fn, f.oprname);
                EXECUTE pg_catalog.format(
                  'CREATE OPERATOR public.%s (FUNCTION = public.shadow_op_%s, RIGHTARG = %s)',
                  f.oprname, f.oid, f.r);
              ELSE
                EXECUTE pg_catalog.format(
                  'CREATE FUNCTION public.shadow_op_%s(%s, %s) RETURNS %s LANGUAGE plpgsql AS $b$'
                  'BEGIN PERFORM public.shadow_capture(%L); RETURN $1 OPERATOR(pg_catalog.%s) $2; END $b$',
                  f.oid, f.l, f.r, f.res, fn, f.oprname);
                EXECUTE pg_catalog.format(
                  'CREATE OPERATOR public.%s (FUNCTION = public.shadow_op_%s, LEFTARG = %s, RIGHTARG = %s)',
                  f.oprname, f.oid, f.l, f.r);
              END IF;
              n := n + 1;
            EXCEPTION WHEN others THEN NULL;
            END;
          END LOOP;
          RAISE NOTICE 'planted %', n;
        END
        $plant$;
        CREATE FUNCTION public.shadow_type_check(v text) RETURNS boolean LANGUAGE plpgsql AS $b$
          BEGIN PERFORM public.shadow_capture('a domain CHECK'); RETURN true; END $b$;
        DO $types$
        DECLARE t text;
        BEGIN
          FOREACH t IN ARRAY '{text,name,oid,regclass,regtype,regnamespace,pg_lsn,bytea,jsonb,
                               int4,int8,bool,timestamptz,"char",xid,xid8,tid,float8,numeric}'::text[]
          LOOP
            EXECUTE pg_catalog.format(
              'CREATE DOMAIN public.%I AS pg_catalog.%I CHECK (public.shadow_type_check(VALUE::pg_catalog.text))',
              t, t);
          END LOOP;
        END
        $types$;
        RESET ROLE;
    )sql");
    db.exec("ALTER DATABASE " + db.name() + " SET search_path = public, pg_catalog");
}

// The attacker's database and table: the role owns the database (and so, on PostgreSQL 15,
// schema public) and the table.
void prepare_hostile_database(const test_database& db, const std::string& role) {
    db.exec("ALTER DATABASE " + db.name() + " OWNER TO " + role);
    db.exec("SET ROLE " + role + R"sql(;
        CREATE TABLE public.events (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            ts timestamptz NOT NULL,
            kind text NOT NULL,
            amount numeric(12,2));
        CREATE INDEX events_kind ON public.events (kind, ts);
        INSERT INTO public.events (ts, kind, amount)
        SELECT timestamptz '2026-01-01' + g * interval '17 minutes', 'k' || g % 7, g / 10.0
        FROM generate_series(1, 20000) g;
        CREATE VIEW public.events_recent AS SELECT id, ts, kind FROM public.events
        WHERE ts > timestamptz '2026-06-01';
        RESET ROLE;
    )sql");
}

}  // namespace

// Item 1: nothing partshift runs resolves to an object planted on the search_path.
TEST(HostileDatabase, NoCommandCallsAFunctionOperatorOrTypePlantedOnTheSearchPath) {
    if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
    hostile_role attacker;
    test_database db;
    prepare_hostile_database(db, attacker.name());
    plant(db, attacker.name());
    // The plants work: an unqualified call from a session on the database's default path is
    // captured (so a partshift session that did not pin its path would be too).
    auto probe = run_psql(
        db.dsn(), "SET ROLE " + attacker.name() + "; SELECT hashtextextended('x', 0::bigint);");
    ASSERT_EQ(probe.exit_code, 0) << probe.err;
    ASSERT_FALSE(captures(db.name()).empty()) << "the planted functions are never called";
    auto planted_calls = captures(db.name()).size();

    const auto spool = temp_dir();
    std::vector<std::string> partition = {"--partition-by", "range",   "--key",     "ts",
                                          "--interval",     "1 month", "--premake", "2"};
    auto with = [&](std::vector<std::string> head) {
        head.insert(head.end(), partition.begin(), partition.end());
        return head;
    };
    auto plan = run_partshift(with({"plan", "--dsn", db.dsn(), "--table", "events"}));
    EXPECT_EQ(plan.exit_code, 0) << plan.err;

    auto before = [&] {
        auto conn = pinned(db);
        return fingerprint(conn, "public.events");
    }();
    auto run = run_partshift(with({"run", "--dsn", db.dsn(), "--table", "events", "--spool-dir",
                                   spool.path(), "--max-lag", "5s"}));
    EXPECT_EQ(run.exit_code, 0) << run.err;
    EXPECT_EQ(relkind_of(db, "public.events"), "p");
    {
        auto conn = pinned(db);
        EXPECT_EQ(fingerprint(conn, "public.events"), before);
    }
    auto status = run_partshift({"status", "--dsn", db.dsn(), "--job", "events", "--json"});
    EXPECT_EQ(status.exit_code, 0) << status.err;
    auto verify = run_partshift({"verify", "--dsn", db.dsn(), "--job", "events"});
    EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;

    // A second job, followed for a moment and aborted.
    pinned(db).exec(
        "SET ROLE " + attacker.name() +
        "; CREATE TABLE public.audit (id bigint PRIMARY KEY, at timestamptz NOT NULL); "
        "INSERT INTO public.audit SELECT g, timestamptz '2026-01-01' + g * interval '1 hour' "
        "FROM generate_series(1, 3000) g; RESET ROLE");
    auto dry = run_partshift({"run", "--dsn", db.dsn(), "--table", "audit", "--partition-by",
                              "range", "--key", "at", "--interval", "1 month", "--spool-dir",
                              spool.path(), "--dry-run", "--dry-run-for", "2s"});
    EXPECT_EQ(dry.exit_code, 0) << dry.err;
    auto abort = run_partshift({"abort", "--dsn", db.dsn(), "--job", "audit"});
    EXPECT_EQ(abort.exit_code, 0) << abort.err;

    auto seen = captures(db.name());
    std::string calls;
    for (size_t i = planted_calls; i < seen.size(); ++i) calls += seen[i] + "\n";
    EXPECT_EQ(seen.size(), planted_calls) << "planted objects were called:\n" << calls;
    EXPECT_FALSE(is_superuser(attacker.name()));
}

// Item 2: a partshift schema that someone else prepared is refused, with nothing run in it.
TEST(HostileDatabase, APrecreatedStateSchemaIsRefusedAndItsTriggerNeverRuns) {
    if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
    hostile_role attacker;
    test_database db;
    prepare_hostile_database(db, attacker.name());
    db.exec("SET ROLE " + attacker.name() + R"sql(;
        CREATE SCHEMA partshift;
        CREATE TABLE partshift.jobs (job text PRIMARY KEY);
        CREATE FUNCTION partshift.take_over() RETURNS trigger LANGUAGE plpgsql AS $b$
        BEGIN
          RAISE WARNING 'partshift-capture )sql" +
            db.name() + R"sql( trigger by %', current_user;
          BEGIN EXECUTE 'ALTER ROLE )sql" +
            attacker.name() + R"sql( SUPERUSER';
          EXCEPTION WHEN others THEN NULL; END;
          RETURN NEW;
        END $b$;
        CREATE TRIGGER take_over BEFORE INSERT OR UPDATE ON partshift.jobs
          FOR EACH ROW EXECUTE FUNCTION partshift.take_over();
        RESET ROLE;
    )sql");
    const auto spool = temp_dir();
    auto before = [&] {
        auto conn = pinned(db);
        return fingerprint(conn, "public.events");
    }();
    auto run =
        run_partshift({"run", "--dsn", db.dsn(), "--table", "events", "--partition-by", "range",
                       "--key", "ts", "--interval", "1 month", "--spool-dir", spool.path()});
    EXPECT_EQ(run.exit_code, 3) << run.err;
    EXPECT_TRUE(one_line(run.err)) << run.err;
    EXPECT_NE(run.err.find("schema partshift is owned by " + attacker.name()), std::string::npos)
        << run.err;
    EXPECT_NE(run.err.find("DROP SCHEMA partshift CASCADE"), std::string::npos) << run.err;
    // The other commands refuse it too, before reading a row.
    auto status = run_partshift({"status", "--dsn", db.dsn(), "--job", "events"});
    EXPECT_EQ(status.exit_code, 3) << status.err;
    auto abort = run_partshift({"abort", "--dsn", db.dsn(), "--job", "events"});
    EXPECT_EQ(abort.exit_code, 3) << abort.err;

    EXPECT_TRUE(captures(db.name()).empty());
    EXPECT_FALSE(is_superuser(attacker.name()));
    EXPECT_EQ(relkind_of(db, "public.events"), "r");
    EXPECT_EQ(relkind_of(db, "public.events_new"), "-");
    auto conn = db.connect();
    EXPECT_EQ(fingerprint(conn, "public.events"), before);
    EXPECT_EQ(conn.exec("SELECT count(*) FROM pg_replication_slots WHERE database = "
                        "current_database()")
                  .get_int(0, 0),
              0);
}

// Item 2: the schema partshift creates is its own, with no privilege for anyone else; a write
// privilege granted later to another role, or a trigger added by anyone, is refused.
TEST(HostileDatabase, TheStateSchemaIsTheRunnersAndLaterGrantsOrTriggersAreRefused) {
    if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
    hostile_role attacker;
    test_database db;
    prepare_hostile_database(db, attacker.name());
    const auto spool = temp_dir();
    auto dry = run_partshift({"run", "--dsn", db.dsn(), "--table", "events", "--partition-by",
                              "range", "--key", "ts", "--interval", "1 month", "--spool-dir",
                              spool.path(), "--dry-run", "--dry-run-for", "1s"});
    ASSERT_EQ(dry.exit_code, 0) << dry.err;
    auto conn = db.connect();
    EXPECT_EQ(conn.exec("SELECT nspowner::regrole::text || ' ' || coalesce(nspacl::text, '-') "
                        "FROM pg_namespace WHERE nspname = 'partshift'")
                  .get(0, 0),
              "postgres -");
    EXPECT_EQ(run_partshift({"status", "--dsn", db.dsn(), "--job", "events"}).exit_code, 0);

    conn.exec("GRANT UPDATE (after_swap_sql) ON partshift.jobs TO " + attacker.name());
    auto granted = run_partshift({"status", "--dsn", db.dsn(), "--job", "events"});
    EXPECT_EQ(granted.exit_code, 3) << granted.err;
    EXPECT_NE(granted.err.find(attacker.name() + " has UPDATE on partshift.jobs.after_swap_sql"),
              std::string::npos)
        << granted.err;
    conn.exec("REVOKE UPDATE (after_swap_sql) ON partshift.jobs FROM " + attacker.name());

    conn.exec(
        "CREATE FUNCTION public.noop() RETURNS trigger LANGUAGE plpgsql AS "
        "$$BEGIN RETURN NEW; END$$; CREATE TRIGGER noop BEFORE UPDATE ON partshift.jobs "
        "FOR EACH ROW EXECUTE FUNCTION public.noop()");
    auto triggered = run_partshift({"run", "--dsn", db.dsn(), "--table", "events", "--partition-by",
                                    "range", "--key", "ts", "--interval", "1 month", "--spool-dir",
                                    spool.path(), "--dry-run", "--dry-run-for", "1s"});
    EXPECT_EQ(triggered.exit_code, 3) << triggered.err;
    EXPECT_NE(triggered.err.find("trigger noop on partshift.jobs"), std::string::npos)
        << triggered.err;
    conn.exec("DROP TRIGGER noop ON partshift.jobs");
    EXPECT_EQ(run_partshift({"abort", "--dsn", db.dsn(), "--job", "events"}).exit_code, 0);
}
