// Unit tests for the CLI's value parsers: DURATION (parse and format back) and SIZE.
#include <gtest/gtest.h>

#include "partshift/cli/byte_size.hpp"
#include "partshift/cli/duration.hpp"
#include "partshift/error.hpp"

using partshift::cli::format_duration;
using partshift::cli::parse_duration;
using partshift::cli::parse_size;
using namespace std::chrono_literals;

TEST(Duration, ParsesEveryUnit) {
    EXPECT_EQ(parse_duration("500ms", "x"), 500ms);
    EXPECT_EQ(parse_duration("30s", "x"), 30s);
    EXPECT_EQ(parse_duration("10m", "x"), 10min);
    EXPECT_EQ(parse_duration("1h", "x"), 1h);
    EXPECT_EQ(parse_duration("1h30m", "x"), 90min);
}

TEST(Duration, RejectsBadInputWithTheOptionName) {
    for (const char* bad : {"", "10", "s", "1.5s", "-3s", "10 s", "3d"}) {
        try {
            parse_duration(bad, "max-lag");
            ADD_FAILURE() << "accepted " << bad;
        } catch (const partshift::usage_error& e) {
            EXPECT_NE(std::string(e.what()).find("--max-lag"), std::string::npos);
        }
    }
}

TEST(Duration, FormatsTheShortestTextThatParsesBack) {
    EXPECT_EQ(format_duration(2s), "2s");
    EXPECT_EQ(format_duration(50ms), "50ms");
    EXPECT_EQ(format_duration(10min), "10m");
    EXPECT_EQ(format_duration(2h), "2h");
    EXPECT_EQ(format_duration(1500ms), "1500ms");
    EXPECT_EQ(format_duration(0ms), "0ms");
    for (std::chrono::milliseconds d : {2000ms, 50ms, 90000ms, 600000ms, 1500ms})
        EXPECT_EQ(parse_duration(format_duration(d), "x"), d) << format_duration(d);
}

TEST(Size, AcceptsEveryWayOfWritingAUnit) {
    // Issue 21: `--slot-wal-limit 1G` was refused, only `1GB` was taken.
    for (const char* text : {"1G", "1GB", "1GiB", "1g", "1gb", "1gib"})
        EXPECT_EQ(parse_size(text, "slot-wal-limit"), 1LL << 30) << text;
    for (const char* text : {"64M", "64MB", "64MiB"})
        EXPECT_EQ(parse_size(text, "slot-wal-limit"), 64LL << 20) << text;
    for (const char* text : {"64k", "64kB", "64KiB", "64K"})
        EXPECT_EQ(parse_size(text, "slot-wal-limit"), 64LL << 10) << text;
    EXPECT_EQ(parse_size("2T", "slot-wal-limit"), 2LL << 40);
    EXPECT_EQ(parse_size("20GB", "slot-wal-limit"), 20LL << 30);
    EXPECT_EQ(parse_size("1048576", "slot-wal-limit"), 1048576);
    EXPECT_EQ(parse_size("512B", "slot-wal-limit"), 512);
}

TEST(Size, RejectsBadInputWithTheOptionName) {
    for (const char* bad : {"", "MB", "12 parsecs", "0", "0GB", "1.5G", "-1G", "1GBB", "1iB", "1Gi",
                            "999999999999999T"}) {
        try {
            parse_size(bad, "slot-wal-limit");
            ADD_FAILURE() << "accepted " << bad;
        } catch (const partshift::usage_error& e) {
            EXPECT_NE(std::string(e.what()).find("--slot-wal-limit"), std::string::npos);
        }
    }
}
