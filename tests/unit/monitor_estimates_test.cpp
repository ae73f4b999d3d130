// Unit tests for the copy/index/catch-up estimates (issue 21 item 1): trailing rates, time
// left, the rows of running chunks estimated from the target's growth, and catch-up that
// converges or not.
#include <gtest/gtest.h>

#include "partshift/monitor/estimates.hpp"

using namespace partshift::monitor;
using namespace std::chrono_literals;

namespace {
const estimate_clock::time_point t0{};
}

TEST(RateMeter, UnknownUntilASecondOfSamples) {
    rate_meter m;
    EXPECT_FALSE(m.per_second());
    m.add(t0, 0);
    EXPECT_FALSE(m.per_second());
    m.add(t0 + 500ms, 100);
    EXPECT_FALSE(m.per_second());
    m.add(t0 + 2s, 1000);
    ASSERT_TRUE(m.per_second());
    EXPECT_DOUBLE_EQ(*m.per_second(), 500);
}

TEST(RateMeter, ForgetsWhatIsOlderThanTheWindow) {
    rate_meter m(10s);
    m.add(t0, 0);
    m.add(t0 + 5s, 50'000);  // fast at first
    for (int s = 6; s <= 40; ++s) m.add(t0 + std::chrono::seconds(s), 50'000 + (s - 5) * 100.0);
    ASSERT_TRUE(m.per_second());
    EXPECT_NEAR(*m.per_second(), 100, 1);  // only the last ~10 s count
}

TEST(SecondsLeft, NeedsAPositiveRate) {
    EXPECT_FALSE(seconds_left(100, std::nullopt));
    EXPECT_FALSE(seconds_left(100, 0.0));
    EXPECT_DOUBLE_EQ(*seconds_left(0, std::nullopt), 0);
    EXPECT_DOUBLE_EQ(*seconds_left(1000, 250.0), 4);
}

TEST(RowsInFlight, FromTheTargetsGrowthLessWhatCommitted) {
    // 100 bytes a row; the target grew 3 MB-ish = 30,000 rows, 20,000 of them committed.
    EXPECT_EQ(rows_in_flight_estimate(3'000'000 + 8192, 8192, 100, 20'000, 100'000), 10'000);
    // Never negative, never more than the running chunks hold.
    EXPECT_EQ(rows_in_flight_estimate(1'000'000, 0, 100, 20'000, 100'000), 0);
    EXPECT_EQ(rows_in_flight_estimate(90'000'000, 0, 100, 0, 50'000), 50'000);
    // Unknown row width, or no chunk running: none.
    EXPECT_EQ(rows_in_flight_estimate(3'000'000, 0, 0, 0, 50'000), 0);
    EXPECT_EQ(rows_in_flight_estimate(3'000'000, 0, 100, 0, 0), 0);
}

TEST(CatchUp, ConvergesWhenTheApplierOutrunsTheSource) {
    catch_up_meter m;
    // Source writes 1 MB/s; the applier gets through 3 MB/s; lag starts at 60 MB.
    const uint64_t mb = 1 << 20;
    for (int s = 0; s <= 10; ++s)
        m.add(t0 + std::chrono::seconds(s), 100 * mb + s * mb, 40 * mb + s * 3 * mb);
    auto e = m.estimate(/*lag_seconds=*/30, /*max_lag_seconds=*/1);
    EXPECT_EQ(e.state, catch_up_state::converging);
    ASSERT_TRUE(e.seconds_left);
    // 40 MB left at a net 2 MB/s.
    EXPECT_NEAR(*e.seconds_left, 20, 0.01);
    EXPECT_NEAR(e.applied_bytes_per_second, 3.0 * mb, 1);
    EXPECT_NEAR(e.incoming_bytes_per_second, 1.0 * mb, 1);
    EXPECT_EQ(describe_catch_up(e), "~20 s left (applying 3.0 MB/s of WAL, 1.0 MB/s incoming)");
}

TEST(CatchUp, NotConvergingWhenTheLagGrows) {
    catch_up_meter m;
    const uint64_t mb = 1 << 20;
    for (int s = 0; s <= 10; ++s)
        m.add(t0 + std::chrono::seconds(s), 100 * mb + s * 2 * mb, 40 * mb + s * mb);
    auto e = m.estimate(30, 1);
    EXPECT_EQ(e.state, catch_up_state::not_converging);
    EXPECT_FALSE(e.seconds_left);
    EXPECT_EQ(e.lag_growth_bytes, static_cast<int64_t>(10 * mb));
    EXPECT_EQ(describe_catch_up(e),
              "not converging: the lag grew by 10.0 MB over the last 10 s (applying 1.0 MB/s of "
              "WAL, 2.0 MB/s incoming)");
}

TEST(CatchUp, CaughtUpWithinTheGateAndUnknownTooEarly) {
    catch_up_meter m;
    EXPECT_EQ(m.estimate(0.2, 1).state, catch_up_state::unknown);  // no sample yet
    m.add(t0, 1000, 900);
    EXPECT_EQ(m.estimate(0.2, 1).state, catch_up_state::caught_up);
    m.add(t0 + 2s, 2000, 1000);
    EXPECT_EQ(m.estimate(5, 1).state, catch_up_state::unknown);  // 2 s of history: too early
    m.reset();
    EXPECT_EQ(m.estimate(5, 1).state, catch_up_state::unknown);
}
