// ledger_checks: see the header.
#include "support/ledger_checks.hpp"

#include <gtest/gtest.h>

namespace partshift::testing {

void expect_ledger_holds(const test_database& db) {
    auto conn = db.connect();
    auto count = [&](const std::string& sql) { return conn.exec(sql).get_int(0, 0); };
    EXPECT_GT(count("SELECT count(*) FROM ledger"), 100);
    EXPECT_EQ(count("SELECT count(*) FROM (SELECT id FROM events GROUP BY id "
                    "HAVING count(*) > 1) d"),
              0);
    EXPECT_EQ(count("SELECT count(*) FROM ledger l JOIN events e USING (id) "
                    "WHERE l.op = 'delete'"),
              0)
        << "deleted rows came back";
    EXPECT_EQ(count("SELECT count(*) FROM ledger l WHERE l.op = 'insert' AND NOT EXISTS "
                    "(SELECT 1 FROM events e WHERE e.id = l.id) AND NOT EXISTS (SELECT 1 "
                    "FROM ledger d WHERE d.op = 'delete' AND d.id = l.id)"),
              0)
        << "inserted rows are missing";
    EXPECT_EQ(count("WITH u AS (SELECT id, count(*) AS n FROM ledger WHERE op = 'update' "
                    "GROUP BY id), "
                    "expected AS (SELECT i.id, i.amount + coalesce(u.n, 0) AS amount FROM "
                    "initial i LEFT JOIN u USING (id) UNION ALL SELECT l.id, coalesce(u.n, 0) "
                    "FROM ledger l LEFT JOIN u USING (id) WHERE l.op = 'insert') "
                    "SELECT count(*) FROM expected x JOIN events e USING (id) "
                    "WHERE e.amount <> x.amount"),
              0)
        << "updates lost or applied twice";
    EXPECT_EQ(count("SELECT count(*) FROM events"),
              count("SELECT (SELECT count(*) FROM initial) + (SELECT count(*) FROM ledger "
                    "WHERE op = 'insert') - (SELECT count(*) FROM ledger WHERE op = "
                    "'delete')"));
}

}  // namespace partshift::testing
