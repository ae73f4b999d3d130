// Integration tests for `partshift plan` refusing bad input (exit 2) and unready tables or
// roles (exit 3), each with its one-line reason; and for `plan` changing nothing.
#include <gtest/gtest.h>

#include <algorithm>

#include "support/sandbox.hpp"

#include "partshift/pg/quote.hpp"

using namespace partshift;
using namespace partshift::testing;

namespace {

#define REQUIRE_SANDBOX() \
    if (!sandbox_available()) GTEST_SKIP() << "no sandbox (run through scripts/test.sh)"

command_result plan(const std::string& dsn, const std::string& table,
                    std::vector<std::string> options) {
    std::vector<std::string> args{"plan", "--dsn", dsn, "--table", table};
    args.insert(args.end(), options.begin(), options.end());
    return run_partshift(args);
}

const std::vector<std::string> by_month{"--partition-by", "range",  "--key", "ts",
                                        "--interval",     "1 month"};

#define EXPECT_FAILS_WITH(result, code, text)                                  \
    do {                                                                       \
        const auto& r_ = (result);                                             \
        EXPECT_EQ(r_.exit_code, code) << r_.err;                               \
        EXPECT_NE(r_.err.find(text), std::string::npos) << r_.err;             \
        EXPECT_TRUE(one_line(r_.err)) << "stderr is not one line: " << r_.err; \
    } while (0)

void create_events(const test_database& db) {
    db.exec(
        "CREATE TABLE events (id bigint PRIMARY KEY, ts timestamptz NOT NULL, note text);"
        "INSERT INTO events SELECT g, '2025-01-01'::timestamptz + g * interval '1 day', 'n' "
        "FROM generate_series(1, 90) g");
}

}  // namespace

TEST(PlanErrors, NonexistentTable) {
    REQUIRE_SANDBOX();
    test_database db;
    EXPECT_FAILS_WITH(plan(db.dsn(), "nope", by_month), 2, "table \"nope\" does not exist");
    EXPECT_FAILS_WITH(plan(db.dsn(), "\"unterminated", by_month), 2, "invalid table name");
}

TEST(PlanErrors, NonexistentKeyColumn) {
    REQUIRE_SANDBOX();
    test_database db;
    create_events(db);
    EXPECT_FAILS_WITH(plan(db.dsn(), "events",
                           {"--partition-by", "range", "--key", "nope", "--interval", "1 month"}),
                      2, "column \"nope\" does not exist");
}

TEST(PlanErrors, ModulusZero) {
    REQUIRE_SANDBOX();
    test_database db;
    create_events(db);
    EXPECT_FAILS_WITH(
        plan(db.dsn(), "events", {"--partition-by", "hash", "--key", "id", "--modulus", "0"}), 2,
        "--modulus");
}

TEST(PlanErrors, IntervalOnTextColumn) {
    REQUIRE_SANDBOX();
    test_database db;
    create_events(db);
    EXPECT_FAILS_WITH(plan(db.dsn(), "events",
                           {"--partition-by", "range", "--key", "note", "--interval", "1 month"}),
                      2, "--interval needs a date or timestamp column");
}

TEST(PlanErrors, UnsupportedKindsOfTable) {
    REQUIRE_SANDBOX();
    test_database db;
    db.exec(
        "CREATE TABLE parted (id int, ts timestamptz NOT NULL) PARTITION BY RANGE (ts);"
        "CREATE UNLOGGED TABLE unlogged_events (id int PRIMARY KEY, ts timestamptz NOT NULL)");
    // A partitioned table is re-partitioned (repartition_test.cpp); this one has no key.
    EXPECT_FAILS_WITH(plan(db.dsn(), "parted", by_month), 3, "no primary key");
    EXPECT_FAILS_WITH(plan(db.dsn(), "unlogged_events", by_month), 2, "unlogged");

    // A temporary table lives in its session's pg_temp_N schema; keep the session open.
    auto holder = db.connect();
    holder.exec("CREATE TEMP TABLE temp_events (id int PRIMARY KEY, ts timestamptz NOT NULL)");
    auto schema =
        holder.exec("SELECT nspname FROM pg_namespace WHERE oid = pg_my_temp_schema()").get(0, 0);
    EXPECT_FAILS_WITH(plan(db.dsn(), schema + ".temp_events", by_month), 2, "temporary");
}

TEST(PlanErrors, ForeignTable) {
    REQUIRE_SANDBOX();
    test_database db;
    try {
        db.exec("CREATE EXTENSION file_fdw");
    } catch (const std::exception& e) {
        GTEST_SKIP() << "file_fdw is not available: " << e.what();
    }
    db.exec(
        "CREATE SERVER files FOREIGN DATA WRAPPER file_fdw;"
        "CREATE FOREIGN TABLE ft (id int, ts timestamptz) SERVER files "
        "OPTIONS (filename '/dev/null')");
    EXPECT_FAILS_WITH(plan(db.dsn(), "ft", by_month), 2, "foreign table");
}

TEST(PlanErrors, NoPrimaryKeyIsAPreflightFailure) {
    REQUIRE_SANDBOX();
    test_database db;
    db.exec(
        "CREATE TABLE nokey (id int, ts timestamptz NOT NULL);"
        "INSERT INTO nokey VALUES (1, '2025-01-05')");
    auto r = plan(db.dsn(), "nokey", by_month);
    EXPECT_FAILS_WITH(r, 3, "no primary key or replica identity index");
    EXPECT_NE(r.err.find("REPLICA IDENTITY USING INDEX"), std::string::npos) << r.err;
    // The script is printed anyway, with the failure marked.
    EXPECT_NE(r.out.find("CREATE TABLE"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("FAILED"), std::string::npos) << r.out;
}

TEST(PlanErrors, NullsInPartitionKey) {
    REQUIRE_SANDBOX();
    test_database db;
    db.exec(
        "CREATE TABLE events (id int PRIMARY KEY, ts timestamptz);"
        "INSERT INTO events VALUES (1, '2025-01-05'), (2, NULL), (3, NULL)");
    EXPECT_FAILS_WITH(plan(db.dsn(), "events", by_month), 3, "2 rows have a NULL ts");
}

TEST(PlanErrors, RowsOutsideExplicitList) {
    REQUIRE_SANDBOX();
    test_database db;
    db.exec(
        "CREATE TABLE tickets (id int PRIMARY KEY, status text NOT NULL);"
        "INSERT INTO tickets VALUES (1, 'open'), (2, 'closed'), (3, 'lost'), (4, 'lost')");
    auto r = plan(db.dsn(), "tickets",
                  {"--partition-by", "list", "--key", "status", "--values", "open,closed",
                   "--no-default-partition"});
    EXPECT_FAILS_WITH(r, 3, "2 rows have a status not in --values");
    // With a default partition the same list is fine.
    r = plan(db.dsn(), "tickets",
             {"--partition-by", "list", "--key", "status", "--values", "open,closed"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
}

// A list value the key's type cannot hold would make a script that fails when applied: refuse
// it at plan time and name it, on either level.
TEST(PlanErrors, ListValueThatDoesNotFitTheKeyType) {
    REQUIRE_SANDBOX();
    test_database db;
    create_events(db);
    EXPECT_FAILS_WITH(
        plan(db.dsn(), "events", {"--partition-by", "list", "--key", "id", "--values", "1,2,x"}), 2,
        "--values value 'x'");
    EXPECT_FAILS_WITH(plan(db.dsn(), "events",
                           {"--partition-by", "range", "--key", "ts", "--interval", "1 month",
                            "--subpartition-by", "list", "--subkey", "id", "--subvalues",
                            "1,99999999999999999999"}),
                      2, "--subvalues value '99999999999999999999'");
    // Values the type accepts in another spelling stay fine.
    auto r =
        plan(db.dsn(), "events", {"--partition-by", "list", "--key", "id", "--values", "01,2,3"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST(PlanErrors, RoleWithoutReplication) {
    REQUIRE_SANDBOX();
    test_database db;
    create_events(db);
    const std::string role = db.name() + "_app";
    {
        auto conn = db.connect();
        conn.exec("DROP ROLE IF EXISTS " + pg::escape_identifier(role));
        conn.exec("CREATE ROLE " + pg::escape_identifier(role) + " LOGIN");
        conn.exec("GRANT SELECT ON events TO " + pg::escape_identifier(role));
    }
    auto r = plan(db.dsn() + " user=" + role, "events", by_month);
    {
        auto conn = db.connect();
        conn.exec("DROP OWNED BY " + pg::escape_identifier(role));
        conn.exec("DROP ROLE " + pg::escape_identifier(role));
    }
    // Every missing right at once, one line each (issue 21 item 4), the database named.
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_NE(r.err.find("REPLICATION"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("GRANT CREATE ON DATABASE " + pg::quote_ident(db.name())),
              std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("does not own"), std::string::npos) << r.err;
    size_t lines = 0;
    for (size_t at = 0; (at = r.err.find("partshift: preflight failed: ", at)) != std::string::npos;
         ++at)
        ++lines;
    EXPECT_EQ(lines, static_cast<size_t>(std::count(r.err.begin(), r.err.end(), '\n'))) << r.err;
    EXPECT_GE(lines, 4u) << r.err;
}

TEST(PlanErrors, CannotConnect) {
    REQUIRE_SANDBOX();
    auto r = run_partshift({"plan", "--dsn", "host=/nonexistent-partshift dbname=x", "--table",
                            "events", "--partition-by", "hash", "--key", "id", "--modulus", "4"});
    EXPECT_FAILS_WITH(r, 1, "cannot connect");
}

TEST(PlanErrors, HelpListsOptions) {
    auto r = run_partshift({"plan", "--help"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    for (auto opt : {"--dsn", "--table", "--partition-by", "--key", "--interval", "--values",
                     "--modulus", "--premake", "--target-name", "--json"})
        EXPECT_NE(r.out.find(opt), std::string::npos) << opt;
    EXPECT_FAILS_WITH(run_partshift({"plan", "--partition-by", "hash"}), 2, "--table");
}

TEST(PlanErrors, PlanChangesNothing) {
    REQUIRE_SANDBOX();
    test_database db;
    create_events(db);
    auto conn = db.connect();
    auto snapshot = [&] {
        return conn
            .exec(
                "SELECT (SELECT count(*) FROM pg_class) || '/' || "
                "(SELECT count(*) FROM pg_replication_slots "
                " WHERE database = current_database()) || '/' || "
                "(SELECT count(*) FROM pg_publication) || '/' || "
                "(SELECT count(*) FROM pg_namespace) || '/' || "
                "(SELECT md5(string_agg(relname, ',' ORDER BY relname)) FROM pg_class)")
            .get(0, 0);
    };
    const auto before = snapshot();
    const auto rows_before = fingerprint(conn, "events");
    for (auto json : {false, true}) {
        auto options = by_month;
        if (json) options.push_back("--json");
        auto r = plan(db.dsn(), "events", options);
        EXPECT_EQ(r.exit_code, 0) << r.err;
    }
    EXPECT_EQ(snapshot(), before);
    EXPECT_EQ(fingerprint(conn, "events"), rows_before);
}
