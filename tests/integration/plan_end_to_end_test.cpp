// Integration tests for `partshift plan` end to end: the printed script runs under psql with
// ON_ERROR_STOP and builds the expected partition tree, with the source's columns and
// equivalent indexes, for the table shapes users bring (events by month, a LIST profile store,
// multi-tenant LIST → HASH, and awkward quoted names).
#include <gtest/gtest.h>

#include <algorithm>

#include "support/sandbox.hpp"

using namespace partshift;
using namespace partshift::testing;

namespace {

#define REQUIRE_SANDBOX() \
    if (!sandbox_available()) GTEST_SKIP() << "no sandbox (run through scripts/test.sh)"

command_result plan(const test_database& db, const std::string& table,
                    std::vector<std::string> options) {
    std::vector<std::string> args{"plan", "--dsn", db.dsn(), "--table", table};
    args.insert(args.end(), options.begin(), options.end());
    return run_partshift(args);
}

// apply_plan runs the plan's script and fails the test when psql does.
void apply_plan(const test_database& db, const command_result& planned) {
    ASSERT_EQ(planned.exit_code, 0) << planned.err << planned.out;
    auto applied = run_psql(db.dsn(), planned.out);
    ASSERT_EQ(applied.exit_code, 0) << applied.err << "\n--- script ---\n" << planned.out;
}

// column_rows: name, type, default and NOT NULL of every column, one string per column.
std::vector<std::string> column_rows(pg::connection& conn, const std::string& relation) {
    auto r = conn.query(
        "SELECT a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || "
        "  coalesce(' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid), '') || "
        "  CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END || "
        "  CASE WHEN a.attidentity <> '' THEN ' IDENTITY ' || a.attidentity::text ELSE '' END "
        "FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid "
        "  AND d.adnum = a.attnum "
        "WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped "
        "ORDER BY a.attnum",
        relation);
    std::vector<std::string> out;
    for (int i = 0; i < r.rows(); ++i) out.push_back(r.get(i, 0));
    return out;
}

struct index_shape {
    std::string method;
    bool unique = false;
    bool primary = false;
    std::string predicate;
    std::vector<std::string> keys;      // key expressions / columns as the server prints them
    std::vector<std::string> includes;  // INCLUDE columns
    std::string text() const {
        std::string s = method + (unique ? " unique" : "") + (primary ? " primary" : "") + " (";
        for (const auto& k : keys) s += k + ",";
        s += ") include (";
        for (const auto& k : includes) s += k + ",";
        return s + ") where " + predicate;
    }
};

std::vector<index_shape> index_shapes(pg::connection& conn, const std::string& relation) {
    auto r = conn.query(
        "SELECT i.indexrelid, am.amname, i.indisunique, i.indisprimary, "
        "  coalesce(pg_get_expr(i.indpred, i.indrelid), '') AS pred, i.indnkeyatts, i.indnatts "
        "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam "
        "WHERE i.indrelid = $1::regclass ORDER BY c.relname",
        relation);
    std::vector<index_shape> out;
    for (int row = 0; row < r.rows(); ++row) {
        index_shape s;
        s.method = r.get(row, "amname");
        s.unique = r.get_bool(row, "indisunique");
        s.primary = r.get_bool(row, "indisprimary");
        s.predicate = r.get(row, "pred");
        const auto nkey = r.get_int(row, "indnkeyatts"), natts = r.get_int(row, "indnatts");
        for (int64_t k = 1; k <= natts; ++k) {
            auto col = conn.query("SELECT pg_get_indexdef($1::oid, $2::int, false)",
                                  r.get(row, "indexrelid"), k)
                           .get(0, 0);
            (k <= nkey ? s.keys : s.includes).push_back(col);
        }
        out.push_back(std::move(s));
    }
    return out;
}

// expect_equivalent_indexes: every source index has a target index of the same method,
// uniqueness and predicate whose keys are the source's keys, plus (for unique indexes only)
// partition key columns the planner had to add.
void expect_equivalent_indexes(pg::connection& conn, const std::string& source,
                               const std::string& target,
                               const std::vector<std::string>& partition_keys) {
    auto src = index_shapes(conn, source), tgt = index_shapes(conn, target);
    EXPECT_EQ(src.size(), tgt.size());
    for (const auto& s : src) {
        bool found = std::any_of(tgt.begin(), tgt.end(), [&](const index_shape& t) {
            if (t.method != s.method || t.unique != s.unique || t.primary != s.primary ||
                t.predicate != s.predicate || t.includes != s.includes ||
                t.keys.size() < s.keys.size() ||
                !std::equal(s.keys.begin(), s.keys.end(), t.keys.begin()))
                return false;
            for (auto k = t.keys.begin() + s.keys.size(); k != t.keys.end(); ++k)
                if (!s.unique || std::find(partition_keys.begin(), partition_keys.end(), *k) ==
                                     partition_keys.end())
                    return false;
            return true;
        });
        EXPECT_TRUE(found) << "no equivalent of source index " << s.text() << " on " << target;
    }
}

struct tree_stats {
    int64_t leaves = 0;
    int64_t depth = 0;   // deepest level: 1 for one level of partitions, 2 for two
    int64_t level1 = 0;  // partitions directly under the root
};

tree_stats tree_of(pg::connection& conn, const std::string& root) {
    auto r = conn.query(
        "SELECT count(*) FILTER (WHERE isleaf), max(level), count(*) FILTER (WHERE level = 1) "
        "FROM pg_partition_tree($1::regclass)",
        root);
    return {r.get_int(0, 0), r.get_int(0, 1), r.get_int(0, 2)};
}

// landing: the leaf a row with the given values goes to, and its parent's partition bound.
std::string leaf_of(pg::connection& conn, const std::string& root, const std::string& where) {
    return conn.exec("SELECT tableoid::regclass::text FROM " + root + " WHERE " + where).get(0, 0);
}

std::string bound_of(pg::connection& conn, const std::string& relation) {
    return conn
        .query("SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE oid = $1::regclass",
               relation)
        .get(0, 0);
}

std::string parent_of(pg::connection& conn, const std::string& relation) {
    return conn
        .query("SELECT inhparent::regclass::text FROM pg_inherits WHERE inhrelid = $1::regclass",
               relation)
        .get(0, 0);
}

}  // namespace

TEST(PlanEndToEnd, EventsRangeByMonth) {
    REQUIRE_SANDBOX();
    test_database db;
    db.exec(R"sql(
        CREATE TABLE events (
            id bigserial PRIMARY KEY,
            ts timestamptz NOT NULL,
            idempotency_key text UNIQUE,
            payload jsonb);
        INSERT INTO events (ts, idempotency_key, payload)
            SELECT '2025-01-15 10:00+00'::timestamptz + g * interval '1 hour', 'k' || g,
                   jsonb_build_object('g', g)
            FROM generate_series(0, 24 * 120) g;
    )sql");
    auto planned =
        plan(db, "events",
             {"--partition-by", "range", "--key", "ts", "--interval", "1 month", "--premake", "3"});
    ASSERT_EQ(planned.exit_code, 0) << planned.err;
    // Uniqueness weakened by the partition key is called out.
    EXPECT_NE(planned.out.find("-- WARNING"), std::string::npos) << planned.out;
    EXPECT_NE(planned.out.find("events_pkey"), std::string::npos) << planned.out;
    EXPECT_NE(planned.out.find("events_idempotency_key_key"), std::string::npos) << planned.out;
    ASSERT_NO_FATAL_FAILURE(apply_plan(db, planned));

    auto conn = db.connect();
    // One partition per month from the first row's month to this month (or the last row's,
    // whichever is later), plus three made ahead.
    const auto expected = conn.exec(
                                  "SELECT (SELECT count(*) FROM generate_series("
                                  "  date_trunc('month', min(ts)), "
                                  "  date_trunc('month', greatest(max(ts), now())), "
                                  "  interval '1 month')) + 3 FROM events")
                              .get_int(0, 0);
    const auto tree = tree_of(conn, "events_new");
    EXPECT_EQ(tree.leaves, expected);
    EXPECT_EQ(tree.depth, 1);
    EXPECT_EQ(column_rows(conn, "events_new"), column_rows(conn, "events"));
    expect_equivalent_indexes(conn, "events", "events_new", {"ts"});

    conn.exec("INSERT INTO events_new SELECT * FROM events");
    EXPECT_EQ(fingerprint(conn, "events_new"), fingerprint(conn, "events"));
    const auto leaf = leaf_of(conn, "events_new", "idempotency_key = 'k600'");  // 2025-02-09
    EXPECT_NE(bound_of(conn, leaf).find("FROM ('2025-02-01"), std::string::npos)
        << leaf << ": " << bound_of(conn, leaf);
}

TEST(PlanEndToEnd, ProfileStoreListDiscovered) {
    REQUIRE_SANDBOX();
    test_database db;
    db.exec(R"sql(
        CREATE TABLE profiles (
            tenant text NOT NULL,
            user_key text NOT NULL,
            region text NOT NULL,
            attrs jsonb NOT NULL DEFAULT '{}',
            active char(1) NOT NULL DEFAULT 'y',
            score real,
            PRIMARY KEY (tenant, user_key));
        CREATE INDEX profiles_lower_key ON profiles (lower(user_key)) WHERE score > 0;
        CREATE INDEX profiles_attrs ON profiles USING gin (attrs);
        INSERT INTO profiles (tenant, user_key, region, score)
            SELECT 't' || (g % 7), 'u' || g, (ARRAY['eu', 'us', 'apac'])[1 + g % 3], g / 10.0
            FROM generate_series(1, 300) g;
    )sql");
    auto planned = plan(db, "profiles", {"--partition-by", "list", "--key", "region"});
    ASSERT_NO_FATAL_FAILURE(apply_plan(db, planned));

    auto conn = db.connect();
    const auto tree = tree_of(conn, "profiles_new");
    EXPECT_EQ(tree.leaves, 4);  // apac, eu, us and the default partition
    EXPECT_EQ(tree.depth, 1);
    EXPECT_EQ(column_rows(conn, "profiles_new"), column_rows(conn, "profiles"));
    expect_equivalent_indexes(conn, "profiles", "profiles_new", {"region"});

    conn.exec("INSERT INTO profiles_new SELECT * FROM profiles");
    conn.exec("INSERT INTO profiles_new (tenant, user_key, region) VALUES ('t1', 'x', 'mars')");
    EXPECT_EQ(bound_of(conn, leaf_of(conn, "profiles_new", "user_key = 'u3'")),
              "FOR VALUES IN ('eu')");
    EXPECT_EQ(bound_of(conn, leaf_of(conn, "profiles_new", "user_key = 'x'")), "DEFAULT");
}

TEST(PlanEndToEnd, MultiTenantListThenHash) {
    REQUIRE_SANDBOX();
    test_database db;
    db.exec(R"sql(
        CREATE TABLE orders (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            customer_id int NOT NULL,
            amount numeric(12,2) NOT NULL CHECK (amount >= 0),
            created_at timestamptz NOT NULL DEFAULT now());
        CREATE INDEX orders_customer_created ON orders (customer_id, created_at DESC);
        INSERT INTO orders (customer_id, amount)
            SELECT 1 + g % 3, g FROM generate_series(1, 500) g;
    )sql");
    auto planned = plan(db, "orders",
                        {"--partition-by", "list", "--key", "customer_id", "--subpartition-by",
                         "hash", "--subkey", "id", "--submodulus", "4"});
    ASSERT_NO_FATAL_FAILURE(apply_plan(db, planned));

    auto conn = db.connect();
    const auto tree = tree_of(conn, "orders_new");
    EXPECT_EQ(tree.depth, 2);
    EXPECT_EQ(tree.level1, 4);  // customers 1, 2, 3 and the default partition
    EXPECT_EQ(tree.leaves, tree.level1 * 4);
    EXPECT_EQ(column_rows(conn, "orders_new"), column_rows(conn, "orders"));
    expect_equivalent_indexes(conn, "orders", "orders_new", {"customer_id", "id"});

    conn.exec("INSERT INTO orders_new OVERRIDING SYSTEM VALUE SELECT * FROM orders");
    EXPECT_EQ(fingerprint(conn, "orders_new"), fingerprint(conn, "orders"));
    const auto leaf = leaf_of(conn, "orders_new", "id = 7");  // customer 2
    EXPECT_NE(bound_of(conn, leaf).find("FOR VALUES WITH (modulus 4"), std::string::npos);
    EXPECT_EQ(bound_of(conn, parent_of(conn, leaf)), "FOR VALUES IN (2)");
}

TEST(PlanEndToEnd, QuotedNamesAndQuotesInValues) {
    REQUIRE_SANDBOX();
    test_database db;
    db.exec(R"sql(
        CREATE SCHEMA "Sales Ops";
        CREATE TABLE "Sales Ops"."Order Lines" (
            "order" int NOT NULL,
            line int NOT NULL,
            status text NOT NULL,
            "Note" text DEFAULT 'it''s',
            PRIMARY KEY ("order", line));
        CREATE INDEX "Order Lines status idx" ON "Sales Ops"."Order Lines" ("Note", "order");
        INSERT INTO "Sales Ops"."Order Lines" VALUES
            (1, 1, 'new', NULL), (1, 2, 'it''s shipped', 'x'), (2, 1, 'say "hi"', NULL);
    )sql");
    auto planned = plan(
        db, "\"Sales Ops\".\"Order Lines\"",
        {"--partition-by", "list", "--key", "status", "--values", "new,it's shipped,say \"hi\""});
    ASSERT_NO_FATAL_FAILURE(apply_plan(db, planned));

    auto conn = db.connect();
    const std::string source = "\"Sales Ops\".\"Order Lines\"";
    const std::string target = "\"Sales Ops\".\"Order Lines_new\"";
    const auto tree = tree_of(conn, target);
    EXPECT_EQ(tree.leaves, 4);  // three values and the default partition
    EXPECT_EQ(column_rows(conn, target), column_rows(conn, source));
    expect_equivalent_indexes(conn, source, target, {"status"});

    conn.exec("INSERT INTO " + target + " SELECT * FROM " + source);
    EXPECT_EQ(bound_of(conn, leaf_of(conn, target, "\"order\" = 1 AND line = 2")),
              "FOR VALUES IN ('it''s shipped')");
    EXPECT_EQ(bound_of(conn, leaf_of(conn, target, "\"order\" = 2")),
              "FOR VALUES IN ('say \"hi\"')");
}

TEST(PlanEndToEnd, JsonOutput) {
    REQUIRE_SANDBOX();
    test_database db;
    db.exec(
        "CREATE TABLE events (id bigint PRIMARY KEY, ts timestamptz NOT NULL);"
        "INSERT INTO events SELECT g, '2025-01-01'::timestamptz + g * interval '1 day' "
        "FROM generate_series(1, 40) g");
    auto r =
        plan(db, "events", {"--partition-by", "hash", "--key", "id", "--modulus", "4", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // Valid JSON as far as the server is concerned, with the partitions and checks in it.
    auto conn = db.connect();
    auto parsed = conn.query("SELECT $1::jsonb IS NOT NULL", r.out);
    EXPECT_TRUE(parsed.get_bool(0, 0));
    EXPECT_NE(r.out.find("events_new"), std::string::npos);
    EXPECT_NE(r.out.find("preflight"), std::string::npos) << r.out;
}
