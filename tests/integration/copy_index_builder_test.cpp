// The index builder against the sandbox: per-partition builds attached to ONLY-parent indexes
// over a two-level partition tree, the primary key through constraints, resume after a
// partial build, and the separate unique-index call.
#include <gtest/gtest.h>

#include <atomic>

#include "partshift/copy/index_builder.hpp"
#include "support/sandbox.hpp"

using namespace partshift;
using namespace partshift::testing;

namespace {

void create_target(const test_database& db) {
    db.exec(
        "CREATE TABLE t_new (id bigint NOT NULL, ts timestamptz NOT NULL, email text, "
        "v int, doc jsonb) PARTITION BY RANGE (ts);"
        "CREATE TABLE t_new_2024_01 PARTITION OF t_new "
        "  FOR VALUES FROM ('2024-01-01') TO ('2024-02-01');"
        // A second level: February, hashed by id.
        "CREATE TABLE t_new_2024_02 PARTITION OF t_new "
        "  FOR VALUES FROM ('2024-02-01') TO ('2024-03-01') PARTITION BY HASH (id);"
        "CREATE TABLE t_new_2024_02_h0 PARTITION OF t_new_2024_02 "
        "  FOR VALUES WITH (MODULUS 2, REMAINDER 0);"
        "CREATE TABLE t_new_2024_02_h1 PARTITION OF t_new_2024_02 "
        "  FOR VALUES WITH (MODULUS 2, REMAINDER 1);"
        "CREATE TABLE t_new_default PARTITION OF t_new DEFAULT;"
        "INSERT INTO t_new SELECT g, timestamptz '2024-01-01' + g * interval '40 seconds', "
        "  'user' || g || '@example.com', g % 100, jsonb_build_object('g', g) "
        "FROM generate_series(1, 100000) g;");
}

std::vector<copy::index_to_build> target_indexes() {
    copy::index_to_build pk;
    pk.name = "t_new_pkey";
    pk.is_primary = pk.is_unique = true;
    pk.key_columns = {"id", "ts"};
    copy::index_to_build lower_email;
    lower_email.name = "t_new_lower_email_idx";
    lower_email.create_on_parent_sql =
        "CREATE INDEX t_new_lower_email_idx ON ONLY public.t_new USING btree (lower(email))";
    copy::index_to_build partial;
    partial.name = "t_new_v_partial_idx";
    partial.using_clause = "USING btree (v) WHERE (v > 50)";
    copy::index_to_build unique_email;
    // A unique index must hold every partition key column of every level.
    unique_email.name = "t_new_email_ts_key";
    unique_email.is_unique = true;
    unique_email.using_clause = "USING btree (email, ts, id)";
    return {pk, lower_email, partial, unique_email};
}

// index_report: per parent index, how many indexes hang below it (recursively) and how many of
// all of them (itself included) are invalid.
struct index_report {
    int64_t attached = 0;
    int64_t invalid = 0;
};

index_report report(pg::connection& conn, const std::string& index) {
    auto r = conn.query(
        "WITH RECURSIVE tree AS (SELECT $1::regclass::oid AS idx UNION ALL "
        "  SELECT i.inhrelid FROM pg_inherits i JOIN tree ON i.inhparent = tree.idx) "
        "SELECT count(*) - 1, count(*) FILTER (WHERE NOT x.indisvalid) "
        "FROM tree JOIN pg_index x ON x.indexrelid = tree.idx",
        index);
    return {r.get_int(0, 0), r.get_int(0, 1)};
}

}  // namespace

TEST(CopyIndexBuilder, BuildsPerPartitionAndAttaches) {
    if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
    test_database db;
    create_target(db);
    auto conn = db.connect();
    std::atomic<bool> stop{false};
    copy::index_build_options options;
    options.workers = 3;

    ASSERT_TRUE(copy::build_indexes_blocking(db.dsn(), {"public", "t_new"}, target_indexes(),
                                             options, stop));
    // 3 leaves + 1 intermediate below each parent index; every index valid.
    for (const char* name : {"t_new_pkey", "t_new_lower_email_idx", "t_new_v_partial_idx"}) {
        SCOPED_TRACE(name);
        auto r = report(conn, name);
        EXPECT_EQ(r.attached, 5);
        EXPECT_EQ(r.invalid, 0);
    }
    // The primary key is a constraint on the parent and on every partition.
    EXPECT_EQ(conn.exec("SELECT conname FROM pg_constraint WHERE conrelid = 't_new'::regclass "
                        "AND contype = 'p'")
                  .get(0, 0),
              "t_new_pkey");
    EXPECT_EQ(conn.exec("SELECT count(*) FROM pg_constraint c JOIN pg_partition_tree('t_new') t "
                        "ON t.relid = c.conrelid WHERE c.contype = 'p'")
                  .get_int(0, 0),
              6);
    // The partial predicate and the expression survived the re-aiming at partitions.
    EXPECT_NE(conn.exec("SELECT pg_get_indexdef('t_new_2024_01_t_new_v_partial_idx'::regclass)")
                  .get(0, 0)
                  .find("WHERE (v > 50)"),
              std::string::npos);
    // The unique index waits for its own call.
    EXPECT_EQ(conn.exec("SELECT to_regclass('t_new_email_ts_key') IS NULL").get_bool(0, 0), true);
    ASSERT_TRUE(copy::build_indexes_blocking(db.dsn(), {"public", "t_new"}, target_indexes(),
                                             options, stop, /*unique_only=*/true));
    auto u = report(conn, "t_new_email_ts_key");
    EXPECT_EQ(u.attached, 5);
    EXPECT_EQ(u.invalid, 0);
    EXPECT_TRUE(conn.exec("SELECT indisunique FROM pg_index WHERE indexrelid = "
                          "'t_new_email_ts_key'::regclass")
                    .get_bool(0, 0));

    // The planner uses them.
    conn.exec("ANALYZE t_new");
    auto plan = conn.exec("EXPLAIN SELECT * FROM t_new WHERE id = 5 AND ts = '2024-01-01'");
    std::string text;
    for (int i = 0; i < plan.rows(); ++i) text += plan.get(i, 0) + "\n";
    EXPECT_NE(text.find("Index Scan using t_new_2024_01_pkey"), std::string::npos) << text;
}

TEST(CopyIndexBuilder, ResumesAPartialBuildAndSkipsValidIndexes) {
    if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
    test_database db;
    create_target(db);
    // As if a run died midway: the ONLY parent PK exists, one leaf PK built but not attached,
    // one leaf PK built and attached.
    db.exec(
        "ALTER TABLE ONLY t_new ADD CONSTRAINT t_new_pkey PRIMARY KEY (id, ts);"
        "ALTER TABLE t_new_2024_01 ADD CONSTRAINT t_new_2024_01_pkey PRIMARY KEY (id, ts);"
        "ALTER TABLE t_new_default ADD CONSTRAINT t_new_default_pkey PRIMARY KEY (id, ts);"
        "ALTER INDEX t_new_pkey ATTACH PARTITION t_new_default_pkey;");
    auto conn = db.connect();
    auto oid_before = conn.exec("SELECT 't_new_2024_01_pkey'::regclass::oid").get(0, 0);
    std::atomic<bool> stop{false};
    auto indexes = target_indexes();
    ASSERT_TRUE(copy::build_indexes_blocking(db.dsn(), {"public", "t_new"}, indexes, {}, stop));
    auto r = report(conn, "t_new_pkey");
    EXPECT_EQ(r.attached, 5);
    EXPECT_EQ(r.invalid, 0);
    EXPECT_EQ(conn.exec("SELECT 't_new_2024_01_pkey'::regclass::oid").get(0, 0), oid_before);
    // A second run changes nothing.
    auto all_before = conn.exec(
                              "SELECT string_agg(indexrelid::text, ',' ORDER BY indexrelid) "
                              "FROM pg_index")
                          .get(0, 0);
    ASSERT_TRUE(copy::build_indexes_blocking(db.dsn(), {"public", "t_new"}, indexes, {}, stop));
    EXPECT_EQ(conn.exec("SELECT string_agg(indexrelid::text, ',' ORDER BY indexrelid) "
                        "FROM pg_index")
                  .get(0, 0),
              all_before);
}
