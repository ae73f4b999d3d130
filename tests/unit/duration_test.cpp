// Unit tests for DURATION parsing.
#include <gtest/gtest.h>

#include "partshift/cli/duration.hpp"
#include "partshift/error.hpp"

using partshift::cli::parse_duration;
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
