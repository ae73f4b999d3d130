// Unit tests for the lag definition.
#include <gtest/gtest.h>

#include "partshift/monitor/lag.hpp"

using partshift::monitor::compute_lag;

TEST(Lag, DuringCopyEverythingReceivedIsLag) {
    auto f = compute_lag(1000, 900, 900, 100, 0, 0, /*applying=*/false);
    EXPECT_FALSE(f.caught_up);
    EXPECT_EQ(f.lag_bytes, 900u);
}

TEST(Lag, CaughtUpApplierIsAtTheIdlePosition) {
    // All spooled transactions applied, slot acknowledged to the keepalive position.
    auto f = compute_lag(5000, 4000, 5000, 4000, 0, 0, true);
    EXPECT_TRUE(f.caught_up);
    EXPECT_EQ(f.lag_bytes, 0u);
    EXPECT_EQ(f.lag_seconds, 0);
}

TEST(Lag, BacklogCountsBytesAndSeconds) {
    auto f = compute_lag(5000, 4000, 4000, 3000, 1'000'000, 3'500'000, true);
    EXPECT_FALSE(f.caught_up);
    EXPECT_EQ(f.lag_bytes, 2000u);
    EXPECT_DOUBLE_EQ(f.lag_seconds, 2.5);
}

TEST(Lag, NeverNegative) {
    auto f = compute_lag(100, 200, 300, 300, 0, 0, true);
    EXPECT_EQ(f.lag_bytes, 0u);
}
