// Unit tests for slot/publication naming.
#include <gtest/gtest.h>

#include "partshift/state/job_names.hpp"

using namespace partshift::state;

TEST(JobNames, SimpleJobNamesStayReadable) {
    EXPECT_EQ(object_name("orders"), "partshift_orders");
}

TEST(JobNames, OddNamesBecomeLegalAndDistinct) {
    auto a = object_name("Order Lines");
    auto b = object_name("order lines");
    EXPECT_NE(a, b);
    for (const auto& n : {a, b}) {
        EXPECT_LE(n.size(), 63u);
        for (char c : n)
            EXPECT_TRUE((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_') << n;
    }
    EXPECT_EQ(object_name("Order Lines"), a);  // stable
}

TEST(JobNames, LongNamesAreCutWithAHash) {
    std::string long_name(100, 'x');
    auto n = object_name(long_name);
    EXPECT_EQ(n.size(), 63u);
    EXPECT_NE(object_name(long_name + "y"), n);
}

TEST(JobNames, SlotNamesDifferPerDatabase) {
    auto a = slot_name("shop", "events");
    auto b = slot_name("shop_eu", "events");
    EXPECT_NE(a, b);
    EXPECT_EQ(a.rfind("partshift_events_", 0), 0u);
    EXPECT_LE(slot_name("db", std::string(100, 'x')).size(), 63u);
}

// Issue 18 item 6: one spool root may serve many servers; the same job name in a database of
// the same name on another cluster (another system identifier), or in another database of the
// same cluster, gets a spool directory of its own.
TEST(JobNames, SpoolDirectoriesDifferPerClusterDatabaseAndJob) {
    const auto a = spool_dir_name("7312345678901234567", "16384", "events");
    EXPECT_EQ(a, "7312345678901234567-16384-partshift_events");
    EXPECT_NE(spool_dir_name("7399999999999999999", "16384", "events"), a);
    EXPECT_NE(spool_dir_name("7312345678901234567", "16385", "events"), a);
    EXPECT_NE(spool_dir_name("7312345678901234567", "16384", "Events"), a);
    EXPECT_EQ(spool_dir_name("7312345678901234567", "16384", "events"), a);  // stable
    // Nothing that could leave the root: the job's part is a legal object name.
    EXPECT_EQ(spool_dir_name("1", "2", "../../etc").find('/'), std::string::npos);
}
