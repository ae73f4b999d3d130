// Unit tests for monitor/tail_estimate: the applier's capacity over its busy seconds, and
// whether the tail the lock would wait for fits under --max-lock-hold.
#include <gtest/gtest.h>

#include "partshift/monitor/tail_estimate.hpp"

using namespace partshift::monitor;
using namespace std::chrono_literals;

namespace {
const auto start = capacity_meter::clock::time_point{} + 1h;
}

TEST(CapacityMeter, CountsOnlyTheSecondsWithABacklog) {
    capacity_meter m;
    uint64_t applied = 0;
    // 20 idle seconds (lag 0, the applier moves with the idle position), then 10 busy ones at
    // 2 MB/s: the capacity is 2 MB/s, not the average over 30 s.
    int t = 0;
    for (; t < 20; ++t) {
        applied += 1000;
        m.add(start + std::chrono::seconds(t), applied, 0);
    }
    EXPECT_FALSE(m.bytes_per_second().has_value());
    for (; t < 31; ++t) {
        m.add(start + std::chrono::seconds(t), applied, 10'000'000);
        applied += 2'000'000;
    }
    ASSERT_TRUE(m.bytes_per_second().has_value());
    EXPECT_NEAR(*m.bytes_per_second(), 2'000'000, 1);
}

TEST(CapacityMeter, NoFigureBeforeAFewBusySecondsAndNoneAfterAReset) {
    capacity_meter m;
    m.add(start, 0, 1'000'000);
    m.add(start + 1s, 500'000, 1'000'000);
    m.add(start + 2s, 1'000'000, 1'000'000);
    EXPECT_FALSE(m.bytes_per_second().has_value());  // 2 busy seconds
    m.add(start + 3s, 1'500'000, 1'000'000);
    ASSERT_TRUE(m.bytes_per_second().has_value());
    EXPECT_NEAR(*m.bytes_per_second(), 500'000, 1);
    m.reset();
    EXPECT_FALSE(m.bytes_per_second().has_value());
}

TEST(CapacityMeter, OldBusySecondsLeaveTheWindow) {
    capacity_meter m;
    uint64_t applied = 0;
    for (int t = 0; t <= 10; ++t) {  // busy at 1 MB/s
        m.add(start + std::chrono::seconds(t), applied, 5'000'000);
        applied += 1'000'000;
    }
    for (int t = 11; t <= 60; ++t) {  // then busy at 3 MB/s for longer than the window
        m.add(start + std::chrono::seconds(t), applied, 5'000'000);
        applied += 3'000'000;
    }
    EXPECT_NEAR(*m.bytes_per_second(), 3'000'000, 1);
}

TEST(TailEstimate, TheBacklogPlusWhatArrivesBeforeTheLockAtTheCapacity) {
    tail_inputs in;
    in.applied_position = 100'000'000;
    in.insert_position = 102'000'000;  // read a second ago
    in.insert_age_seconds = 1;
    in.received_position = 101'000'000;  // the walsender is behind the server
    in.lead_seconds = 0.5;
    in.incoming_bytes_per_second = 2'000'000;
    in.capacity_bytes_per_second = 1'500'000;
    // Now: 102 MB + 2 MB/s * 1 s = 104 MB; (4 MB + 2 MB/s * 0.5 s) / 1.5 MB/s = 3.33 s
    ASSERT_TRUE(tail_seconds(in).has_value());
    EXPECT_NEAR(*tail_seconds(in), 5.0 / 1.5, 1e-9);
    // The walsender ahead of the (older) insert position: its position is "now".
    in.received_position = 105'000'000;
    EXPECT_NEAR(*tail_seconds(in), 6.0 / 1.5, 1e-9);
    in.capacity_bytes_per_second.reset();
    EXPECT_FALSE(tail_seconds(in).has_value());
    in.capacity_bytes_per_second = 0;
    EXPECT_FALSE(tail_seconds(in).has_value());
}

TEST(TailEstimate, FitsWhenTwiceTheEstimateIsWithinTheHold) {
    EXPECT_TRUE(tail_fits(1.0, 2000ms));
    EXPECT_FALSE(tail_fits(1.01, 2000ms));
    EXPECT_TRUE(tail_fits(0, 10ms));
    EXPECT_FALSE(tail_fits(-1, 60000ms));  // unknown never fits
}
