// Unit tests for monitor/apply_pace: when the lag does not converge, said once, with the rates,
// and not flapping while the load hovers at the applier's pace.
#include <gtest/gtest.h>

#include <functional>

#include "partshift/monitor/apply_pace.hpp"

using partshift::monitor::apply_pace;
using namespace std::chrono_literals;

namespace {

// A source writing `incoming(t)` bytes/s and an applier getting through `applied(t)` bytes/s
// (1 change per 100 bytes applied), fed once a second; lag seconds follow the bytes at the
// source's rate. Counts the verdict's changes.
struct simulation {
    apply_pace pace;
    apply_pace::clock::time_point start = apply_pace::clock::time_point{} + 1h;
    int t = 0;
    uint64_t source = 1'000'000'000, applied = 1'000'000'000;
    int64_t changes = 0;
    int fell_behind = 0, caught_up = 0;
    double max_lag = 1;
    int lanes = 1;

    void run(int seconds, const std::function<double(int)>& incoming,
             const std::function<double(int)>& applying) {
        for (int end = t + seconds; t < end; ++t) {
            source += static_cast<uint64_t>(incoming(t));
            const uint64_t can = static_cast<uint64_t>(applying(t));
            const uint64_t step = std::min(can, source - applied);
            applied += step;
            changes += static_cast<int64_t>(step / 100);
            const double rate = std::max(1.0, incoming(t));
            const auto c =
                pace.add({start + std::chrono::seconds(t), source, applied,
                          static_cast<double>(source - applied) / rate, changes, max_lag, lanes});
            if (c == apply_pace::change::fell_behind) ++fell_behind;
            if (c == apply_pace::change::caught_up) ++caught_up;
        }
    }
};

auto constant(double v) {
    return [v](int) { return v; };
}

}  // namespace

TEST(ApplyPace, AnApplierSlowerThanTheSourceIsBehindWithTheRatesAndWhatToDo) {
    simulation s;
    s.run(60, constant(1'000'000), constant(800'000));
    ASSERT_TRUE(s.pace.behind());
    EXPECT_EQ(s.fell_behind, 1);  // said once, not every tick
    const auto why = s.pace.why();
    ASSERT_TRUE(why.has_value());
    EXPECT_NE(why->find("not keeping up"), std::string::npos) << *why;
    // Incoming and apply rates, in bytes/s and changes/s (the source's estimated).
    EXPECT_NE(why->find("the source writes 976.6 kB/s of WAL (~10,000 changes/s)"),
              std::string::npos)
        << *why;
    EXPECT_NE(why->find("partshift applies 781."), std::string::npos) << *why;
    EXPECT_NE(why->find(" kB/s (8,000 changes/s)"), std::string::npos) << *why;
    EXPECT_NE(why->find("cannot open"), std::string::npos) << *why;
    EXPECT_NE(why->find("throttle the application"), std::string::npos) << *why;
    EXPECT_NE(why->find("quieter hour"), std::string::npos) << *why;
    EXPECT_NE(why->find("--cutover-when tail-fits"), std::string::npos) << *why;
}

TEST(ApplyPace, TheAdviceNamesMoreApplyLanesUntilTheMost) {
    // One lane: two are suggested, with the command that sets them on the running job.
    simulation one;
    one.run(60, constant(1'000'000), constant(800'000));
    ASSERT_TRUE(one.pace.why().has_value());
    EXPECT_NE(one.pace.why()->find("'partshift set --apply-workers 2'; it runs 1 now"),
              std::string::npos)
        << *one.pace.why();
    EXPECT_EQ(one.pace.why()->find("one session"), std::string::npos) << *one.pace.why();
    // Twice what it runs, capped at the most there may be; at the most, no such advice.
    simulation twelve;
    twelve.lanes = 12;
    twelve.run(60, constant(1'000'000), constant(800'000));
    ASSERT_TRUE(twelve.pace.why().has_value());
    EXPECT_NE(twelve.pace.why()->find("--apply-workers 16'; it runs 12 now"), std::string::npos)
        << *twelve.pace.why();
    simulation most;
    most.lanes = 16;
    most.run(60, constant(1'000'000), constant(800'000));
    ASSERT_TRUE(most.pace.why().has_value());
    EXPECT_NE(most.pace.why()->find("already applies in 16 lanes, the most it has"),
              std::string::npos)
        << *most.pace.why();
    EXPECT_EQ(most.pace.why()->find("--apply-workers"), std::string::npos) << *most.pace.why();
    EXPECT_NE(most.pace.why()->find("quieter hour"), std::string::npos) << *most.pace.why();
}

TEST(ApplyPace, ALagThatGrowsSlowlyIsBehindToo) {
    // 10% short: the lag's age grows by 0.1 s per second, far below the half second per second
    // the first version waited for; the gate never opens all the same.
    simulation s;
    s.run(60, constant(1'000'000), constant(900'000));
    EXPECT_TRUE(s.pace.behind());
}

TEST(ApplyPace, ADrainingBacklogIsNotBehind) {
    simulation s;
    s.source += 90'000'000;  // a backlog, drained faster than the source writes
    s.run(60, constant(1'000'000), constant(2'000'000));
    EXPECT_FALSE(s.pace.behind());
    EXPECT_EQ(s.fell_behind, 0);
}

TEST(ApplyPace, AnApplierThatKeepsUpIsNotBehind) {
    simulation s;
    s.run(120, constant(1'000'000), constant(5'000'000));
    EXPECT_FALSE(s.pace.behind());
    EXPECT_FALSE(s.pace.why().has_value());
}

TEST(ApplyPace, TooEarlyIsNoVerdict) {
    simulation s;
    s.run(25, constant(1'000'000), constant(100'000));
    EXPECT_FALSE(s.pace.behind());
}

TEST(ApplyPace, ALoadHoveringAtThePaceDoesNotFlap) {
    // Behind first; then the source alternates a little above and below the applier's pace:
    // the lag wobbles by less than the thresholds, so the verdict stays, said once.
    simulation s;
    s.run(60, constant(1'000'000), constant(800'000));
    ASSERT_TRUE(s.pace.behind());
    s.run(
        300, [](int t) { return (t / 10) % 2 ? 1'020'000.0 : 980'000.0; }, constant(1'000'000));
    EXPECT_TRUE(s.pace.behind());
    EXPECT_EQ(s.fell_behind, 1);
    EXPECT_EQ(s.caught_up, 0);
    // The same wobble from a good start never warns.
    simulation calm;
    calm.run(
        300, [](int t) { return (t / 10) % 2 ? 1'020'000.0 : 980'000.0; }, constant(1'000'000));
    EXPECT_FALSE(calm.pace.behind());
    EXPECT_EQ(calm.fell_behind, 0);
}

TEST(ApplyPace, RecoversOnceAndWarnsAgainOnlyAfterARelapse) {
    simulation s;
    s.run(60, constant(1'000'000), constant(800'000));
    ASSERT_TRUE(s.pace.behind());
    s.run(60, constant(200'000), constant(800'000));  // a quieter hour: the lag drains
    EXPECT_FALSE(s.pace.behind());
    EXPECT_EQ(s.caught_up, 1);
    s.run(90, constant(1'000'000), constant(800'000));  // busy again
    EXPECT_TRUE(s.pace.behind());
    EXPECT_EQ(s.fell_behind, 2);
    EXPECT_EQ(s.caught_up, 1);
}

TEST(ApplyPace, ALagSpikeLeavingTheWindowIsNoRecovery) {
    // Seen in ApplyPaceTest: the copy's WAL, decoded right after follow began, is a lag spike
    // at the window's start; behind already (the first sample predates the spike), the lag
    // "shrank" against that spike once the window was a minute long, though it kept growing.
    simulation s;
    s.run(1, constant(1'000'000), constant(800'000));
    s.source += 25'000'000;
    s.run(4, constant(1'000'000), constant(10'000'000));  // the spike drains...
    s.run(80, constant(1'000'000), constant(800'000));    // ...then the shortfall goes on
    EXPECT_TRUE(s.pace.behind());
    EXPECT_EQ(s.fell_behind, 1);
    EXPECT_EQ(s.caught_up, 0);
}

TEST(ApplyPace, ALagWithinMaxLagIsNeverBehind) {
    // Growing, but still within --max-lag: the gate can open.
    simulation s;
    s.max_lag = 3600;
    s.run(60, constant(1'000'000), constant(800'000));
    EXPECT_FALSE(s.pace.behind());
}

TEST(ApplyPace, AResetForgetsTheHistoryAndTheVerdict) {
    simulation s;
    s.run(60, constant(1'000'000), constant(800'000));
    ASSERT_TRUE(s.pace.behind());
    s.pace.reset();
    EXPECT_FALSE(s.pace.behind());
    EXPECT_FALSE(s.pace.why().has_value());
}

TEST(ApplyPace, ALagShrinkingInBytesWhileItAgesIsNoRecovery) {
    // Seen in ApplyPaceTest under the whole suite: the source position is the server's, and
    // other databases' WAL made the lag in bytes jump and fall again while partshift's lag
    // kept ageing (7.0 s, then 7.3 s); the verdict cleared and warned again 20 s later.
    apply_pace pace;
    const auto start = apply_pace::clock::time_point{} + 1h;
    uint64_t source = 1'000'000'000, applied = 1'000'000'000;
    int fell_behind = 0, caught_up = 0;
    auto tick = [&](int t, double age) {
        const auto c =
            pace.add({start + std::chrono::seconds(t), source, applied, age, t * 100, 1});
        if (c == apply_pace::change::fell_behind) ++fell_behind;
        if (c == apply_pace::change::caught_up) ++caught_up;
    };
    int t = 0;
    for (; t < 60; ++t) {  // 1 MB/s in, 0.8 MB/s applied: behind, ageing 0.2 s a second
        source += 1'000'000;
        applied += 800'000;
        tick(t, 0.2 * t);
    }
    ASSERT_TRUE(pace.behind());
    source += 40'000'000;  // a burst of someone else's WAL...
    tick(t++, 0.2 * t);
    for (; t < 90; ++t) {  // ...that the applied position passes, while the age still grows
        source += 1'000'000;
        applied = source - 100'000;
        tick(t, 0.2 * t);
    }
    EXPECT_TRUE(pace.behind());
    EXPECT_EQ(fell_behind, 1);
    EXPECT_EQ(caught_up, 0);
}
