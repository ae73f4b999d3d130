// Unit tests for base::progress_signal: a waiter wakes when notified after its condition came
// true, when notified after a stop, and at its deadline without any notify; a condition true
// from the start needs no notify; a notify whose condition is still false does not end the
// wait. No server.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "partshift/base/progress_signal.hpp"

using namespace partshift;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

// A deadline far enough that reaching it means the wake was missed.
constexpr auto missed = 20s;

struct waiter_result {
    bool value = false;
    clock_type::duration took{};
};

// wait_in_thread: runs wait_until on another thread (as the cutover does), returns its result.
template <typename Act>
waiter_result wait_in_thread(base::progress_signal& signal, std::atomic<uint64_t>& position,
                             uint64_t target, clock_type::time_point deadline,
                             std::atomic<bool>& stop, Act act) {
    waiter_result result;
    const auto start = clock_type::now();
    std::thread waiter([&] {
        result.value = signal.wait_until([&] { return position.load() >= target; }, deadline, stop);
        result.took = clock_type::now() - start;
    });
    act();
    waiter.join();
    return result;
}

}  // namespace

TEST(ProgressSignal, NotifyWakesAWaiterWhoseConditionCameTrue) {
    base::progress_signal signal;
    std::atomic<uint64_t> position{10};
    std::atomic<bool> stop{false};
    auto r = wait_in_thread(signal, position, 100, clock_type::now() + missed, stop, [&] {
        std::this_thread::sleep_for(50ms);
        position = 50;  // not there yet: the waiter sleeps on
        signal.notify();
        std::this_thread::sleep_for(50ms);
        position = 100;
        signal.notify();
    });
    EXPECT_TRUE(r.value);
    EXPECT_GE(r.took, 90ms);  // the first notify did not end it
    EXPECT_LT(r.took, 10s);
}

TEST(ProgressSignal, StopWakesAWaiter) {
    base::progress_signal signal;
    std::atomic<uint64_t> position{0};
    std::atomic<bool> stop{false};
    auto r = wait_in_thread(signal, position, 100, clock_type::time_point::max(), stop, [&] {
        std::this_thread::sleep_for(50ms);
        stop = true;
        signal.notify();
    });
    EXPECT_FALSE(r.value);
    EXPECT_LT(r.took, 10s);
}

TEST(ProgressSignal, DeadlineEndsAWaitNobodyNotifies) {
    base::progress_signal signal;
    std::atomic<uint64_t> position{0};
    std::atomic<bool> stop{false};
    auto r = wait_in_thread(signal, position, 100, clock_type::now() + 200ms, stop, [] {});
    EXPECT_FALSE(r.value);
    EXPECT_GE(r.took, 190ms);  // the deadline was set a moment before the start
    EXPECT_LT(r.took, 10s);
}

TEST(ProgressSignal, ConditionAlreadyTrueReturnsAtOnce) {
    base::progress_signal signal;
    std::atomic<bool> stop{true};  // ready() wins over a stop, as the tail wait needs
    const auto start = clock_type::now();
    EXPECT_TRUE(signal.wait_until([] { return true; }, clock_type::now() + missed, stop));
    EXPECT_LT(clock_type::now() - start, 10s);
}

TEST(ProgressSignal, SleepUntilEndsAtTheDeadlineOrAtAStop) {
    base::progress_signal signal;
    std::atomic<bool> stop{false};
    auto start = clock_type::now();
    EXPECT_TRUE(signal.sleep_until(start + 100ms, stop));
    EXPECT_GE(clock_type::now() - start, 100ms);

    start = clock_type::now();
    std::thread stopper([&] {
        std::this_thread::sleep_for(50ms);
        stop = true;
        signal.notify();
    });
    EXPECT_FALSE(signal.sleep_until(clock_type::now() + missed, stop));
    stopper.join();
    EXPECT_LT(clock_type::now() - start, 10s);
}
