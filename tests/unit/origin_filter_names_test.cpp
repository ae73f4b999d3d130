// Unit tests for the origin filter's pure parts: the origins' names, the recorded choice, the
// stop line, and the status line.
#include <gtest/gtest.h>

#include <set>

#include "partshift/monitor/server_features.hpp"
#include "partshift/state/job_names.hpp"
#include "partshift/stream/origin_filter.hpp"

using namespace partshift;

TEST(OriginFilterNames, OneOriginPerSessionNamedAfterTheSlot) {
    const auto slot = state::slot_name("shop", "orders");
    EXPECT_EQ(stream::origin_name(slot, 'a', 1), slot + "_a1");
    EXPECT_EQ(stream::origin_name(slot, 'c', 12), slot + "_c12");
    EXPECT_NE(stream::origin_name(slot, 'c', 1), stream::origin_name(slot, 'c', 11));
}

TEST(OriginFilterNames, LongSlotsStayWithinNamedatalenDistinctAndPartshifts) {
    const auto slot = state::slot_name("a_database_with_a_long_name",
                                       std::string(80, 'x'));  // a 63-byte slot name
    ASSERT_EQ(slot.size(), 63u);
    std::set<std::string> names;
    for (int n = 1; n <= 64; ++n) names.insert(stream::origin_name(slot, 'c', n));
    names.insert(stream::origin_name(slot, 'a', 1));
    EXPECT_EQ(names.size(), 65u);
    for (const auto& n : names) {
        EXPECT_LE(n.size(), 63u) << n;
        // What the foreign-origin check counts as partshift's own.
        EXPECT_EQ(n.rfind("partshift_", 0), 0u) << n;
    }
    EXPECT_EQ(stream::origin_name(slot, 'c', 7), stream::origin_name(slot, 'c', 7));  // stable
}

TEST(OriginFilterNames, TheRecordedChoice) {
    EXPECT_EQ(stream::origin_filter_record({true, ""}), "on");
    EXPECT_EQ(stream::origin_filter_record({false, "why"}), "off: why");
    EXPECT_TRUE(stream::origin_filter_enabled(std::string("on")));
    EXPECT_FALSE(stream::origin_filter_enabled(std::string("off: why")));
    EXPECT_FALSE(stream::origin_filter_enabled(std::nullopt));  // a job of an earlier partshift
}

TEST(OriginFilterNames, TheStopLineNamesTheOriginAndTheWayOut) {
    const auto line = stream::foreign_origin_message({"sub_16384", "sub_b"}, "orders");
    EXPECT_NE(line.find("replication origin sub_16384, sub_b appeared"), std::string::npos);
    EXPECT_NE(line.find("may be missing from the stream"), std::string::npos);
    EXPECT_NE(line.find("partshift abort --job orders"), std::string::npos);
    EXPECT_NE(line.find("--no-origin-filter"), std::string::npos);
    EXPECT_EQ(line.find('\n'), std::string::npos);
}

TEST(OriginFilterNames, StatusSaysWhetherTheFilterIsOnAndWhyNot) {
    proto::status_report s;
    s.set_server_version("17.12");
    s.set_server_version_num(170012);
    s.set_origin_filter("on");
    EXPECT_NE(monitor::server_features_text(s).find(
                  "origin       the slot skips partshift's own writes (origin filter on)\n"),
              std::string::npos);
    s.set_origin_filter("off: the server is PostgreSQL 15 (pgoutput filters by origin from 16 on)");
    EXPECT_NE(monitor::server_features_text(s).find(
                  "origin       origin filter off (the server is PostgreSQL 15 (pgoutput filters "
                  "by origin from 16 on))\n"),
              std::string::npos);
    s.set_origin_filter("");
    EXPECT_NE(monitor::server_features_text(s).find(
                  "origin filter off (the job was started by an earlier partshift)"),
              std::string::npos);
}
