// The planner's DDL runs on a real PostgreSQL 15: every rendered script executes, partitions
// route rows where their names say, and unique keys are extended. Table models are hand-built
// here, so these tests do not depend on the catalog inspector.
#include <gtest/gtest.h>

#include "partshift/plan/plan_renderer.hpp"
#include "partshift/plan/planner.hpp"
#include "support/sandbox.hpp"

using namespace partshift::plan;
using namespace partshift::testing;
namespace catalog = partshift::catalog;

namespace {

catalog::column col(std::string name, uint32_t oid, std::string type, bool not_null = true) {
    catalog::column c;
    c.name = std::move(name);
    c.type_oid = oid;
    c.type_name = std::move(type);
    c.not_null = not_null;
    return c;
}

catalog::table_model events() {
    catalog::table_model t;
    t.name = {"app", "Event Log"};
    auto id = col("id", 20, "bigint");
    id.identity = 'a';
    t.columns.push_back(id);
    t.columns.push_back(col("at", 1184, "timestamp with time zone"));
    t.columns.push_back(col("day", 1082, "date"));
    t.columns.push_back(col("user", 23, "integer"));
    t.columns.push_back(col("kind", 25, "text"));
    auto email = col("Email", 25, "text", false);
    email.collation = "\"C\"";
    email.storage = 'm';
    t.columns.push_back(email);
    auto twice = col("twice", 20, "bigint", false);
    twice.generated_expr = "((\"user\")::bigint * 2)";
    t.columns.push_back(twice);
    t.checks.push_back({"user_positive", "CHECK ((\"user\" > 0))", false});
    catalog::index pk;
    pk.name = "Event Log_pkey";
    pk.using_clause = "USING btree (id)";
    pk.key_columns = {"id"};
    pk.is_primary = pk.is_unique = pk.is_constraint = true;
    t.indexes.push_back(pk);
    catalog::index expr;
    expr.name = "event_email_lower";
    expr.using_clause =
        "USING btree (lower(\"Email\") text_pattern_ops) WHERE (\"Email\" IS NOT NULL)";
    expr.is_unique = expr.has_expressions = expr.is_partial = true;
    t.indexes.push_back(expr);
    t.storage_options = {"fillfactor=80"};
    t.comment = "it's a log";
    return t;
}

void expect_script_runs(const target_plan& plan, const test_database& db) {
    auto r =
        run_psql(db.dsn(), "CREATE SCHEMA IF NOT EXISTS app;\nSET TimeZone = 'Europe/Berlin';\n" +
                               render_sql(plan));
    ASSERT_EQ(r.exit_code, 0) << r.err << "\n" << render_sql(plan);
}

std::string partition_of(partshift::pg::connection& conn, const std::string& target,
                         const std::string& values) {
    return conn
        .exec("INSERT INTO " + target + " (at, day, \"user\", kind) VALUES " + values +
              " RETURNING tableoid::regclass::text")
        .get(0, 0);
}

}  // namespace

TEST(PlanDdl, MonthlyRangeWithListSubpartitionsRoutesRows) {
    if (!sandbox_available()) GTEST_SKIP() << "no sandbox (run through scripts/test.sh)";
    test_database db;
    partition_spec spec;
    spec.level1.method = partition_method::range;
    spec.level1.key = "at";
    spec.level1.interval = "1 month";
    spec.premake = 1;
    spec.level2 = level_spec{};
    spec.level2->method = partition_method::list;
    spec.level2->key = "kind";
    data_facts facts;
    facts.level1_min = "2024-01-31 23:30:00+01";
    facts.level1_max = "2024-02-29 12:00:00+01";
    facts.level2_values = {"Click", "page view"};
    facts.now = "2024-03-01 00:00:00+01";
    facts.timezone = "Europe/Berlin";
    const auto plan = make_plan(events(), spec, facts);
    expect_script_runs(plan, db);

    auto conn = db.connect();
    conn.exec("SET TimeZone = 'UTC'");  // bounds carry their zone: the session's must not matter
    const std::string target = "app.\"Event Log_new\"";
    EXPECT_EQ(partition_of(conn, target, "('2024-01-31 23:30:00+01', '2024-01-31', 1, 'Click')"),
              "app.\"Event Log_p2024_01_click\"");
    EXPECT_EQ(partition_of(conn, target, "('2024-02-29 23:59:59+01', '2024-02-29', 1, 'other')"),
              "app.\"Event Log_p2024_02_default\"");
    EXPECT_EQ(
        partition_of(conn, target, "('2024-04-30 23:59:59+02', '2024-04-30', 1, 'page view')"),
        "app.\"Event Log_p2024_04_page_view\"");
    // The primary key was extended: (id, at, kind).
    EXPECT_EQ(conn.exec("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = "
                        "'Event Log_pkey_new'")
                  .get(0, 0),
              "PRIMARY KEY (id, at, kind)");
}

TEST(PlanDdl, HourlyAcrossDaylightSavingAndIntegerSteps) {
    if (!sandbox_available()) GTEST_SKIP() << "no sandbox (run through scripts/test.sh)";
    test_database db;
    partition_spec hourly;
    hourly.level1.method = partition_method::range;
    hourly.level1.key = "at";
    hourly.level1.interval = "1 hour";
    data_facts facts;
    facts.level1_min = "2025-03-30 01:30:00+01";
    facts.level1_max = "2025-03-30 03:30:00+02";
    facts.now = "2025-03-30 03:30:00+02";
    facts.timezone = "Europe/Berlin";
    expect_script_runs(make_plan(events(), hourly, facts), db);

    partition_spec steps;
    steps.level1.method = partition_method::range;
    steps.level1.key = "user";
    steps.level1.step = "1000000000";
    steps.default_partition = true;
    steps.level2 = level_spec{};
    steps.level2->method = partition_method::hash;
    steps.level2->key = "id";
    steps.level2->modulus = 3;
    facts.level1_min = "1";
    facts.level1_max = "2147483647";
    plan_names names;
    names.target_name = "ev_by_user";
    names.final_name = "ev";
    // A second plan of the same table would collide on the _new index names: its own database.
    test_database steps_db("t_planddl_steps");
    expect_script_runs(make_plan(events(), steps, facts, names), steps_db);
    auto conn = steps_db.connect();
    EXPECT_EQ(partition_of(conn, "app.ev_by_user", "(now(), current_date, 2000000001, 'x')")
                  .rfind("app.ev_p2000000000_h", 0),
              0u);
}
