// The sandbox itself: logical decoding is available and databases are isolated per test.
#include <gtest/gtest.h>

#include "support/sandbox.hpp"

using namespace partshift::testing;

TEST(Sandbox, ServerHasLogicalWal) {
    if (!sandbox_available()) GTEST_SKIP() << "no sandbox (run through scripts/test.sh)";
    test_database db;
    auto conn = db.connect();
    EXPECT_EQ(conn.exec("SHOW wal_level").get(0, 0), "logical");
    conn.exec("CREATE TABLE t (id int primary key, v text)");
    conn.exec("INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 100) g");
    auto before = fingerprint(conn, "t");
    EXPECT_EQ(before.rows, 100);
    conn.exec("UPDATE t SET v = 'changed' WHERE id = 5");
    EXPECT_NE(fingerprint(conn, "t"), before);
}
