// Unit tests for migrate::spool_signal: a waiter on the loop wakes on a notify (from the loop
// or another thread), returns at once when a notify came after the generation it looked at,
// and otherwise sleeps until its deadline. No server.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <thread>

#include "partshift/migrate/spool_signal.hpp"

using partshift::migrate::spool_signal;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using clock_type = std::chrono::steady_clock;

namespace {

// A deadline far enough that reaching it means the wake was missed.
constexpr auto missed = 20s;

// wait_once: runs one wait on an io_context, with `act` started beside it; how long it took.
template <typename Act>
clock_type::duration wait_once(spool_signal& signal, uint64_t seen, clock_type::duration limit,
                               Act act) {
    asio::io_context io;
    clock_type::duration took{};
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            const auto start = clock_type::now();
            co_await signal.wait(seen, start + limit);
            took = clock_type::now() - start;
        },
        asio::detached);
    act(io);
    io.run();
    return took;
}

}  // namespace

TEST(SpoolSignal, ANotifyOnTheLoopWakesTheWait) {
    spool_signal signal;
    const auto took = wait_once(signal, signal.generation(), missed, [&](asio::io_context& io) {
        asio::co_spawn(
            io,
            [&]() -> asio::awaitable<void> {
                asio::steady_timer later(io, 50ms);
                co_await later.async_wait(asio::use_awaitable);
                signal.notify();
            },
            asio::detached);
    });
    EXPECT_LT(took, 5s);
}

TEST(SpoolSignal, ANotifyFromAnotherThreadWakesTheWait) {
    spool_signal signal;
    std::thread notifier;
    const auto took = wait_once(signal, signal.generation(), missed, [&](asio::io_context&) {
        notifier = std::thread([&] {
            std::this_thread::sleep_for(50ms);
            signal.notify();
        });
    });
    notifier.join();
    EXPECT_LT(took, 5s);
}

TEST(SpoolSignal, ANotifyBeforeTheWaitIsNotLost) {
    // The feed reads the generation, finds the spool empty, and the streamer publishes before
    // the feed waits: the wait must return at once.
    spool_signal signal;
    const uint64_t seen = signal.generation();
    signal.notify();
    const auto took = wait_once(signal, seen, missed, [](asio::io_context&) {});
    EXPECT_LT(took, 1s);
}

TEST(SpoolSignal, WithoutANotifyTheWaitEndsAtItsDeadline) {
    spool_signal signal;
    const auto took = wait_once(signal, signal.generation(), 100ms, [](asio::io_context&) {});
    EXPECT_GE(took, 100ms);
    EXPECT_LT(took, 5s);
}

TEST(SpoolSignal, EachNotifyMovesTheGeneration) {
    spool_signal signal;
    const uint64_t before = signal.generation();
    signal.notify();
    signal.notify();
    EXPECT_EQ(signal.generation(), before + 2);
}
