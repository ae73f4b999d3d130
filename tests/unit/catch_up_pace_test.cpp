// Unit tests for base/catch_up_pace (the working share of each slice) and monitor/catch_up_pacer
// (when a catch-up is paced, lifted and ended).
#include <gtest/gtest.h>

#include "partshift/base/catch_up_pace.hpp"
#include "partshift/monitor/catch_up_pacer.hpp"

using partshift::base::pace_wait;
using partshift::monitor::catch_up_pacer;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

clock_type::time_point at(std::chrono::microseconds since_epoch) {
    return clock_type::time_point{} + since_epoch;
}

catch_up_pacer::reading lagging(double lag_seconds, bool not_converging = false) {
    return {.percent = 50,
            .applying = true,
            .lag_seconds = lag_seconds,
            .max_lag_seconds = 1,
            .not_converging = not_converging};
}

}  // namespace

TEST(CatchUpPace, WorksInTheFirstShareOfEachSliceAndWaitsOutTheRest) {
    // 40% of 50 ms: work for 20 ms, rest for 30 ms, on every slice of the clock.
    for (auto slice_start : {0us, 50'000us, 1'000'000'000us}) {
        EXPECT_EQ(pace_wait(at(slice_start), 40), 0ns);
        EXPECT_EQ(pace_wait(at(slice_start + 19'999us), 40), 0ns);
        EXPECT_EQ(pace_wait(at(slice_start + 20'000us), 40), 30ms);
        EXPECT_EQ(pace_wait(at(slice_start + 45'000us), 40), 5ms);
    }
}

TEST(CatchUpPace, NeverWaitsAtFullSpeed) {
    for (auto t : {0us, 25'000us, 49'999us}) {
        EXPECT_EQ(pace_wait(at(t), 100), 0ns);
        EXPECT_EQ(pace_wait(at(t), 150), 0ns);
    }
    // 0%: only a slice's start, never longer than a slice.
    EXPECT_EQ(pace_wait(at(1us), 0), 49'999us);
}

TEST(CatchUpPace, RolesRestOnlyWhilePacedAndNeverUnderTheCutoversLock) {
    partshift::base::progress p;
    p.catch_up_pace_percent = 40;
    EXPECT_EQ(partshift::base::paced_rest(p, at(20'000us)), 0ns);
    p.catch_up_paced = true;
    EXPECT_EQ(partshift::base::paced_rest(p, at(20'000us)), 30ms);
    p.cutover = partshift::base::cutover_stage::cutting_over;
    EXPECT_EQ(partshift::base::paced_rest(p, at(20'000us)), 0ns);
}

TEST(CatchUpPacer, PacesOnlyWhileTheLagIsOverMaxLag) {
    catch_up_pacer pacer;
    EXPECT_EQ(pacer.judge(lagging(0.5)), catch_up_pacer::change::none);
    EXPECT_FALSE(pacer.paced());
    EXPECT_EQ(pacer.judge(lagging(12)), catch_up_pacer::change::paced);
    EXPECT_TRUE(pacer.paced());
    EXPECT_EQ(pacer.judge(lagging(6)), catch_up_pacer::change::none);
    EXPECT_TRUE(pacer.paced());
    EXPECT_EQ(pacer.judge(lagging(0.9)), catch_up_pacer::change::ended);
    EXPECT_FALSE(pacer.paced());
}

TEST(CatchUpPacer, NeverPacesWithoutAPaceOrWhileNotApplying) {
    catch_up_pacer pacer;
    auto full = lagging(30);
    full.percent = 100;
    EXPECT_EQ(pacer.judge(full), catch_up_pacer::change::none);
    EXPECT_FALSE(pacer.paced());
    auto copying = lagging(30);
    copying.applying = false;
    EXPECT_EQ(pacer.judge(copying), catch_up_pacer::change::none);
    EXPECT_FALSE(pacer.paced());
    // Paced, then the applier stops (the cutover's lock): ended at once.
    EXPECT_EQ(pacer.judge(lagging(30)), catch_up_pacer::change::paced);
    EXPECT_EQ(pacer.judge(copying), catch_up_pacer::change::ended);
}

TEST(CatchUpPacer, PacesFromTheStartUntilTheLagIsMeasured) {
    catch_up_pacer pacer;
    auto unknown = lagging(0);
    unknown.lag_known = false;
    EXPECT_EQ(pacer.judge(unknown), catch_up_pacer::change::paced);
    EXPECT_EQ(pacer.judge(unknown), catch_up_pacer::change::none);
    EXPECT_TRUE(pacer.paced());
    EXPECT_EQ(pacer.judge(lagging(0.3)), catch_up_pacer::change::ended);
}

TEST(CatchUpPacer, LiftsThePaceUntilCaughtUpWhenTheLagWouldNotShrink) {
    catch_up_pacer pacer;
    EXPECT_EQ(pacer.judge(lagging(5)), catch_up_pacer::change::paced);
    EXPECT_EQ(pacer.judge(lagging(7, true)), catch_up_pacer::change::lifted);
    EXPECT_FALSE(pacer.paced());
    // Converging again at full speed: still not paced, however long the lag stays over.
    EXPECT_EQ(pacer.judge(lagging(6)), catch_up_pacer::change::none);
    EXPECT_EQ(pacer.judge(lagging(3)), catch_up_pacer::change::none);
    EXPECT_FALSE(pacer.paced());
    // Caught up, said once; a later backlog is paced again.
    EXPECT_EQ(pacer.judge(lagging(0.2)), catch_up_pacer::change::caught_up_after_lift);
    EXPECT_EQ(pacer.judge(lagging(0.2)), catch_up_pacer::change::none);
    EXPECT_EQ(pacer.judge(lagging(4)), catch_up_pacer::change::paced);
    EXPECT_TRUE(pacer.paced());
}

TEST(CatchUpPacer, ALiftEndedByTheApplierStoppingOrThePaceTurnedOffIsNotCaughtUp) {
    for (const bool stop_applying : {true, false}) {
        catch_up_pacer pacer;
        EXPECT_EQ(pacer.judge(lagging(5)), catch_up_pacer::change::paced);
        EXPECT_EQ(pacer.judge(lagging(7, true)), catch_up_pacer::change::lifted);
        auto after = lagging(7);
        if (stop_applying)
            after.applying = false;
        else
            after.percent = 100;  // partshift set --catch-up-pace 100
        EXPECT_EQ(pacer.judge(after), catch_up_pacer::change::none);
        EXPECT_EQ(pacer.judge(lagging(0.2)), catch_up_pacer::change::none);
    }
}

TEST(CatchUpPacer, ANewPercentKeepsPacingAndOneHundredEndsIt) {
    catch_up_pacer pacer;
    EXPECT_EQ(pacer.judge(lagging(5)), catch_up_pacer::change::paced);
    auto slower = lagging(5);
    slower.percent = 20;  // partshift set --catch-up-pace 20: the pace goes on, at 20%
    EXPECT_EQ(pacer.judge(slower), catch_up_pacer::change::none);
    EXPECT_TRUE(pacer.paced());
    auto full = lagging(5);
    full.percent = 100;
    EXPECT_EQ(pacer.judge(full), catch_up_pacer::change::ended);
    EXPECT_FALSE(pacer.paced());
}
