// The index builder against the sandbox: per-partition builds attached to ONLY-parent indexes
// over a two-level partition tree, the primary key through constraints, resume after a
// partial build, and the separate unique-index call: concurrently, beside writers that are
// never held up, resumable after an INVALID leftover or a stop, and loud on a duplicate.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "partshift/base/progress.hpp"
#include "partshift/copy/index_builder.hpp"
#include "partshift/error.hpp"
#include "partshift/throttle/copy_gate.hpp"
#include "support/sandbox.hpp"

using namespace partshift;
using namespace partshift::testing;
using namespace std::chrono_literals;

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

std::vector<copy::index_to_build> unique_only() {
    auto all = target_indexes();
    return {all.back()};
}

// writer: what the applier does during the unique build, on its own connection: updates and
// inserts through the parent into every partition, timing its slowest statement.
class writer {
  public:
    explicit writer(const test_database& db)
        : thread_([this, conn = db.connect()]() mutable { loop(conn); }) {}
    ~writer() { finish(); }

    void finish() {
        done_ = true;
        if (thread_.joinable()) thread_.join();
    }
    std::chrono::milliseconds slowest() const { return slowest_; }
    int64_t statements() const { return statements_; }

  private:
    void loop(pg::connection& conn) {
        for (int64_t i = 0; !done_; ++i) {
            // Rows 1..100000 span January and February (two levels); new ids go past them.
            timed([&] {
                conn.query("UPDATE t_new SET v = v + 1 WHERE id = $1", 1 + (i * 7919) % 100000);
            });
            timed([&] {
                conn.query(
                    "INSERT INTO t_new (id, ts, email, v) VALUES ($1::int8, timestamptz "
                    "'2024-01-01' + ($1::int8 % 100000) * interval '40 seconds', "
                    "'new' || $1::int8 || '@example.com', 1)",
                    200000 + i);
            });
        }
    }

    template <typename F>
    void timed(F statement) {
        auto start = std::chrono::steady_clock::now();
        statement();
        slowest_ = std::max(slowest_, std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::steady_clock::now() - start));
        ++statements_;
    }

    std::atomic<bool> done_{false};
    std::chrono::milliseconds slowest_{0};
    int64_t statements_ = 0;
    std::thread thread_;
};

// hold_write_lock: a transaction that inserted one row into `table` (at `ts`) and stays open
// for `hold`, as a long application (or applier) transaction does: a blocking CREATE INDEX
// would wait for it and make every writer of the table queue behind itself meanwhile.
std::thread hold_write_lock(const test_database& db, const std::string& table, int64_t id,
                            const std::string& ts, std::chrono::milliseconds hold) {
    auto conn = db.connect();
    conn.exec("BEGIN");
    conn.query("INSERT INTO " + table +
                   " (id, ts, email) VALUES ($1::int8, $2::timestamptz, 'holder' || $1::int8)",
               id, ts);
    return std::thread([conn = std::move(conn), hold]() mutable {
        std::this_thread::sleep_for(hold);
        conn.exec("COMMIT");
    });
}

int64_t index_oid(pg::connection& conn, const std::string& name) {
    return conn.query("SELECT coalesce(to_regclass($1)::oid::int8, 0)", name).get_int(0, 0);
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

TEST(CopyIndexBuilder, UniqueIndexesBuildConcurrentlyBesideWriters) {
    if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
    test_database db;
    create_target(db);
    std::atomic<bool> stop{false};
    copy::index_build_options options;
    options.workers = 2;
    ASSERT_TRUE(copy::build_indexes_blocking(db.dsn(), {"public", "t_new"}, target_indexes(),
                                             options, stop));

    writer w(db);
    std::this_thread::sleep_for(300ms);
    // One holder has the parent (so CREATE INDEX ON ONLY waits, in lock_timeout steps), the
    // other only a leaf (so that leaf's CONCURRENTLY build waits for it).
    auto on_parent = hold_write_lock(db, "t_new", -1, "2030-01-01", 2s);
    auto on_leaf = hold_write_lock(db, "t_new_2024_01", -2, "2024-01-15", 4s);
    auto start = std::chrono::steady_clock::now();
    ASSERT_TRUE(copy::build_indexes_blocking(db.dsn(), {"public", "t_new"}, unique_only(), options,
                                             stop, /*unique_only=*/true));
    auto took = std::chrono::steady_clock::now() - start;
    on_parent.join();
    on_leaf.join();
    std::this_thread::sleep_for(300ms);
    w.finish();

    // The build had to wait for the open transactions; the writer never did for long.
    EXPECT_GE(took, 3500ms);
    EXPECT_GT(w.statements(), 20);
    EXPECT_LT(w.slowest(), 1000ms) << "a writer waited on the index build";
    auto conn = db.connect();
    auto u = report(conn, "t_new_email_ts_key");
    EXPECT_EQ(u.attached, 5);
    EXPECT_EQ(u.invalid, 0);
    EXPECT_GT(conn.exec("SELECT count(*) FROM t_new WHERE id > 200000").get_int(0, 0), 0);
}

TEST(CopyIndexBuilder, UniqueBuildDropsAnInvalidLeftoverAndKeepsTheRest) {
    if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
    test_database db;
    create_target(db);
    const std::string broken = copy::child_index_name("t_new_2024_01", "t_new_email_ts_key", false);
    const std::string kept = copy::child_index_name("t_new_default", "t_new_email_ts_key", false);
    // As if a run died midway: the ONLY parent index, one leaf index built and attached, and
    // one leaf index left INVALID by a CONCURRENTLY build that failed (here on a duplicate
    // that is gone again).
    db.exec(
        "CREATE UNIQUE INDEX t_new_email_ts_key ON ONLY t_new USING btree (email, ts, id);"
        "CREATE UNIQUE INDEX " +
        kept +
        " ON t_new_default USING btree (email, ts, id);"
        "ALTER INDEX t_new_email_ts_key ATTACH PARTITION " +
        kept +
        ";"
        "INSERT INTO t_new_2024_01 SELECT * FROM t_new_2024_01 WHERE id = 1;");
    EXPECT_ANY_THROW(db.exec("CREATE UNIQUE INDEX CONCURRENTLY " + broken +
                             " ON t_new_2024_01 USING btree (email, ts, id)"));
    db.exec(
        "DELETE FROM t_new_2024_01 WHERE ctid = "
        "(SELECT max(ctid) FROM t_new_2024_01 WHERE id = 1)");
    auto conn = db.connect();
    ASSERT_FALSE(
        conn.query("SELECT indisvalid FROM pg_index WHERE indexrelid = $1::regclass", broken)
            .get_bool(0, 0));
    auto kept_oid = index_oid(conn, kept);
    auto broken_oid = index_oid(conn, broken);

    std::atomic<bool> stop{false};
    ASSERT_TRUE(copy::build_indexes_blocking(db.dsn(), {"public", "t_new"}, unique_only(), {}, stop,
                                             /*unique_only=*/true));
    auto u = report(conn, "t_new_email_ts_key");
    EXPECT_EQ(u.attached, 5);
    EXPECT_EQ(u.invalid, 0);
    EXPECT_EQ(index_oid(conn, kept), kept_oid);
    EXPECT_NE(index_oid(conn, broken), broken_oid);
    EXPECT_NE(index_oid(conn, broken), 0);
}

TEST(CopyIndexBuilder, UniqueBuildStoppedMidwayIsFinishedByARerun) {
    if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
    test_database db;
    create_target(db);
    // One leaf's build waits for this transaction; the stop comes meanwhile and must not
    // wait for it.
    auto holder = hold_write_lock(db, "t_new_2024_01", -2, "2024-01-15", 4s);
    std::atomic<bool> stop{false};
    std::thread stopper([&] {
        std::this_thread::sleep_for(1500ms);
        stop = true;
    });
    auto start = std::chrono::steady_clock::now();
    EXPECT_FALSE(copy::build_indexes_blocking(db.dsn(), {"public", "t_new"}, unique_only(), {},
                                              stop, /*unique_only=*/true));
    EXPECT_LT(std::chrono::steady_clock::now() - start, 3500ms) << "the stop waited for the build";
    stopper.join();
    holder.join();
    stop = false;
    ASSERT_TRUE(copy::build_indexes_blocking(db.dsn(), {"public", "t_new"}, unique_only(), {}, stop,
                                             /*unique_only=*/true));
    auto conn = db.connect();
    auto u = report(conn, "t_new_email_ts_key");
    EXPECT_EQ(u.attached, 5);
    EXPECT_EQ(u.invalid, 0);
}

TEST(CopyIndexBuilder, UniqueViolationNamesIndexPartitionAndDetail) {
    if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
    test_database db;
    create_target(db);
    // A diverged row in a second-level partition.
    db.exec("INSERT INTO t_new SELECT * FROM t_new WHERE id = 70000");
    auto conn = db.connect();
    std::string leaf = conn.exec(
                               "SELECT tableoid::regclass::text FROM t_new WHERE id = 70000 "
                               "LIMIT 1")
                           .get(0, 0);
    ASSERT_EQ(leaf.rfind("t_new_2024_02_h", 0), 0u) << leaf;
    std::atomic<bool> stop{false};
    std::string message;
    try {
        copy::build_indexes_blocking(db.dsn(), {"public", "t_new"}, unique_only(), {}, stop,
                                     /*unique_only=*/true);
        ADD_FAILURE() << "the duplicate was not reported";
    } catch (const partshift::runtime_error& e) {
        message = e.what();
    }
    EXPECT_NE(message.find("t_new_email_ts_key"), std::string::npos) << message;
    EXPECT_NE(message.find("public." + leaf), std::string::npos) << message;
    EXPECT_NE(message.find("is duplicated"), std::string::npos) << message;
    EXPECT_NE(message.find("user70000@example.com"), std::string::npos) << message;
    // No invalid leftover stays behind to enforce uniqueness on the writers.
    EXPECT_EQ(index_oid(conn, copy::child_index_name(leaf, "t_new_email_ts_key", false)), 0);
    EXPECT_EQ(conn.exec("SELECT count(*) FROM pg_index i JOIN pg_partition_tree('t_new') t "
                        "ON t.relid = i.indrelid WHERE NOT i.indisvalid AND t.isleaf")
                  .get_int(0, 0),
              0);
}

// The copy's throttles hold the index build too: no leaf build starts while the copy is
// throttled, and under a --max-copy-rate ceiling the builds are paced by their partitions'
// rows (100,000 rows, three indexes built here: at 100,000 rows/s about three seconds).
TEST(CopyIndexBuilder, WaitsWhileTheCopyIsThrottledAndKeepsToItsCeiling) {
    if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
    test_database db;
    create_target(db);
    auto conn = db.connect();
    base::progress progress;
    progress.copy_throttle_checked = true;
    progress.copy_throttled = true;
    throttle::copy_gate gate(progress);
    std::atomic<bool> stop{false};
    copy::index_build_options options;
    options.workers = 2;
    options.gate = &gate;
    std::atomic<bool> built{false};
    std::thread builder([&] {
        built = copy::build_indexes_blocking(db.dsn(), {"public", "t_new"}, target_indexes(),
                                             options, stop);
    });
    const auto leaf_indexes = [&] {
        return conn
            .exec(
                "SELECT count(*) FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON "
                "c.oid = i.indrelid WHERE c.relkind = 'r' AND c.relname LIKE 't\\_new\\_%'")
            .get_int(0, 0);
    };
    std::this_thread::sleep_for(1500ms);
    EXPECT_EQ(leaf_indexes(), 0) << "a leaf index was built while the copy was throttled";

    progress.max_copy_rate = 100000;
    const auto released = std::chrono::steady_clock::now();
    progress.copy_throttled = false;
    builder.join();
    const auto took = std::chrono::steady_clock::now() - released;
    ASSERT_TRUE(built);
    // Three indexes over 100,000 rows at 100,000 rows/s, less the gate's 200 ms of credit.
    EXPECT_GE(took, 2500ms);
    for (const char* name : {"t_new_pkey", "t_new_lower_email_idx", "t_new_v_partial_idx"}) {
        SCOPED_TRACE(name);
        auto r = report(conn, name);
        EXPECT_EQ(r.attached, 5);
        EXPECT_EQ(r.invalid, 0);
    }
}
