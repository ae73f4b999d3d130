// Unit tests for the lag definition.
#include <gtest/gtest.h>

#include "partshift/base/commit_clock.hpp"
#include "partshift/migrate/follow_watcher.hpp"
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

// Lag in seconds is the age of the oldest commit not yet applied, not the time since the
// target was last exactly current: a steady stream of commits applied promptly has a small
// lag even though something is always pending.
TEST(CommitClock, OldestUnappliedCommitUnderSteadyLoad) {
    partshift::base::commit_clock clock;
    for (uint64_t i = 1; i <= 100; ++i) clock.received(i * 100, static_cast<int64_t>(i) * 1000);
    EXPECT_EQ(clock.oldest_unapplied(0), 1000);
    EXPECT_EQ(clock.oldest_unapplied(5000), 51000);  // commits up to LSN 5000 are applied
    EXPECT_EQ(clock.oldest_unapplied(10000), 0);     // all applied: nothing pending
    clock.received(10100, 101000);
    EXPECT_EQ(clock.oldest_unapplied(10000), 101000);
}

TEST(CommitClock, ResentCommitsAreNotCountedTwice) {
    partshift::base::commit_clock clock;
    clock.received(100, 1);
    clock.received(200, 2);
    clock.received(150, 9);  // sent again after a reconnect
    EXPECT_EQ(clock.oldest_unapplied(100), 2);
    EXPECT_EQ(clock.oldest_unapplied(200), 0);
}

TEST(CommitClock, WhenFullItErrsOnTheOldSide) {
    partshift::base::commit_clock clock(2);
    clock.received(100, 1);
    clock.received(200, 2);
    clock.received(300, 3);  // not recorded: stands for everything after it
    clock.received(400, 4);
    EXPECT_EQ(clock.oldest_unapplied(200), 3);
    EXPECT_EQ(clock.oldest_unapplied(300), 3);  // 400 still pending: never report younger than 3
    EXPECT_EQ(clock.oldest_unapplied(400), 0);
    clock.received(500, 5);  // recording again
    EXPECT_EQ(clock.oldest_unapplied(400), 5);
}

TEST(FollowWatcher, GateNeedsAKnownLagWithinTheLimit) {
    using partshift::migrate::follow_watcher;
    EXPECT_FALSE(follow_watcher::lag_within(-1, std::chrono::seconds(1)));  // not measured yet
    EXPECT_TRUE(follow_watcher::lag_within(0, std::chrono::seconds(1)));
    EXPECT_TRUE(follow_watcher::lag_within(1'000'000, std::chrono::seconds(1)));
    EXPECT_FALSE(follow_watcher::lag_within(1'000'001, std::chrono::seconds(1)));
}
