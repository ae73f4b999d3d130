// ledger_load: pgbench with tests/workload/ledger_writes.pgbench, and the checks over its ledger.
#include "support/ledger_load.hpp"

#include <gtest/gtest.h>

#include <chrono>

namespace partshift::testing {
namespace {

using namespace std::chrono_literals;

const std::string workload_dir = std::string(PARTSHIFT_SOURCE_DIR) + "/tests/workload";

int64_t count(const test_database& db, const std::string& sql) {
    auto conn = db.connect();
    return conn.exec(sql).get_int(0, 0);
}

}  // namespace

void create_ledger(const test_database& db) {
    db.exec(
        "CREATE TABLE ledger (n bigserial PRIMARY KEY, op text NOT NULL, id bigint NOT NULL);"
        "CREATE TABLE initial AS SELECT id, amount FROM events;");
}

std::unique_ptr<child_process> start_ledger_load(const test_database& db, const std::string& mode,
                                                 int seconds, const std::string& log_path,
                                                 int rate) {
    // --max-tries: an UPDATE racing a concurrent partition-key move of the same row fails
    // with serialization_failure on any partitioned table (the row moved partitions);
    // applications retry it, and so does this load. A retried transaction commits once,
    // so the ledger still counts every committed write exactly once.
    std::vector<std::string> argv{"pgbench", "-n", "-M", mode, "-c", "3", "-j", "1"};
    if (rate > 0) {
        argv.push_back("-R");
        argv.push_back(std::to_string(rate));
    }
    for (std::string a : {"--max-tries", "10", "--verbose-errors", "-T"}) argv.push_back(a);
    argv.push_back(std::to_string(seconds));
    argv.push_back("-f");
    argv.push_back(workload_dir + "/ledger_writes.pgbench");
    argv.push_back(db.name());
    return std::make_unique<child_process>(argv, log_path);
}

void expect_ledger_holds(const test_database& db, const std::string& t) {
    EXPECT_GT(count(db, "SELECT count(*) FROM ledger"), 100);
    EXPECT_EQ(count(db, "SELECT count(*) FROM (SELECT id FROM " + t +
                            " GROUP BY id HAVING count(*) > 1) d"),
              0);
    EXPECT_EQ(count(db, "SELECT count(*) FROM ledger l JOIN " + t +
                            " e USING (id) WHERE l.op = 'delete'"),
              0)
        << "deleted rows came back";
    EXPECT_EQ(count(db,
                    "SELECT count(*) FROM ledger l WHERE l.op = 'insert' AND NOT EXISTS "
                    "(SELECT 1 FROM " +
                        t +
                        " e WHERE e.id = l.id) AND NOT EXISTS (SELECT 1 "
                        "FROM ledger d WHERE d.op = 'delete' AND d.id = l.id)"),
              0)
        << "inserted rows are missing";
    EXPECT_EQ(count(db,
                    "WITH u AS (SELECT id, count(*) AS n FROM ledger WHERE op = 'update' "
                    "GROUP BY id), "
                    "expected AS (SELECT i.id, i.amount + coalesce(u.n, 0) AS amount FROM "
                    "initial i LEFT JOIN u USING (id) UNION ALL SELECT l.id, coalesce(u.n, 0) "
                    "FROM ledger l LEFT JOIN u USING (id) WHERE l.op = 'insert') "
                    "SELECT count(*) FROM expected x JOIN " +
                        t + " e USING (id) WHERE e.amount <> x.amount"),
              0)
        << "updates lost or applied twice";
    EXPECT_EQ(count(db, "SELECT count(*) FROM " + t),
              count(db,
                    "SELECT (SELECT count(*) FROM initial) + (SELECT count(*) FROM ledger "
                    "WHERE op = 'insert') - (SELECT count(*) FROM ledger WHERE op = "
                    "'delete')"));
}

void expect_pgbench_clean(child_process& load) {
    auto code = load.wait(180s);
    ASSERT_TRUE(code.has_value());
    EXPECT_EQ(*code, 0) << load.log();
    EXPECT_NE(load.log().find("number of failed transactions: 0 "), std::string::npos)
        << load.log();
}

}  // namespace partshift::testing
