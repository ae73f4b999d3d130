// Unit tests for monitor/apply_pace: when lag says the applier cannot keep up.
#include <gtest/gtest.h>

#include "partshift/monitor/apply_pace.hpp"

using partshift::monitor::apply_pace;
using namespace std::chrono_literals;

namespace {

// feed: one sample a second for `seconds`, lag seconds and bytes from the functions of t.
template <typename Seconds, typename Bytes>
apply_pace fed(int seconds, Seconds lag_seconds, Bytes lag_bytes) {
    apply_pace pace;
    const auto start = apply_pace::clock::time_point{} + 1h;
    for (int t = 0; t <= seconds; ++t)
        pace.add(start + std::chrono::seconds(t), lag_seconds(t), lag_bytes(t), 1500);
    return pace;
}

}  // namespace

TEST(ApplyPace, LagGrowingSecondBySecondIsFallingBehind) {
    auto pace = fed(
        60, [](int t) { return 5.0 + t; }, [](int t) { return 1'000'000 + 50'000 * t; });
    auto why = pace.behind();
    ASSERT_TRUE(why.has_value());
    EXPECT_NE(why->find("not keeping up"), std::string::npos) << *why;
    EXPECT_NE(why->find("1500 changes/s"), std::string::npos) << *why;
}

TEST(ApplyPace, ADrainingBacklogIsNotBehindEvenWhileItsOldestChangeAges) {
    // The oldest unapplied change ages, but the bytes left shrink: catching up.
    auto pace = fed(
        60, [](int t) { return 20.0 + t; }, [](int t) { return 90'000'000 - 1'000'000 * t; });
    EXPECT_FALSE(pace.behind().has_value());
}

TEST(ApplyPace, ASteadySmallLagIsNotBehind) {
    auto pace = fed(
        120, [](int t) { return 0.2 + (t % 3) * 0.1; }, [](int) { return 40'000; });
    EXPECT_FALSE(pace.behind().has_value());
}

TEST(ApplyPace, TooEarlyOrBelowTheFloorIsNoVerdict) {
    // Growing, but only 20 s of history.
    EXPECT_FALSE(fed(
                     20, [](int t) { return 10.0 + t; }, [](int t) { return 1'000 * t + 1; })
                     .behind()
                     .has_value());
    // Growing slowly and still small (under 10 s).
    EXPECT_FALSE(fed(
                     60, [](int t) { return 1.0 + t * 0.1; }, [](int t) { return 1'000 * t + 1; })
                     .behind()
                     .has_value());
}

TEST(ApplyPace, AResetForgetsTheHistory) {
    auto pace = fed(
        60, [](int t) { return 5.0 + t; }, [](int t) { return 1'000 * t + 1; });
    ASSERT_TRUE(pace.behind().has_value());
    pace.reset();
    EXPECT_FALSE(pace.behind().has_value());
}
