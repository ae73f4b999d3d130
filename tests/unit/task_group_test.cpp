// Unit tests for task::task_group: first failure with its task's name, a failure stops the
// group, join waits for every task (coroutines and blocking jobs) without a timer of its own,
// sleepers wake on a stop, child groups share the stop but not the join. No server.
#include <gtest/gtest.h>

#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "partshift/task/task_group.hpp"

using namespace partshift;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

// run_until_joined: spawns `setup`'s tasks, joins them on the loop, returns the loop's time.
template <typename Setup>
std::chrono::steady_clock::duration run_until_joined(task::task_group& group, asio::io_context& io,
                                                     Setup setup) {
    const auto start = std::chrono::steady_clock::now();
    setup();
    bool joined = false;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            co_await group.join();
            joined = true;
        },
        asio::detached);
    io.run();
    EXPECT_TRUE(joined);
    return std::chrono::steady_clock::now() - start;
}

asio::awaitable<void> sleep_until_stopped(task::task_group& group, int& woke) {
    co_await group.wait_for_stop();
    ++woke;
}

asio::awaitable<void> throw_after(task::task_group& group, std::chrono::milliseconds d) {
    co_await group.sleep_for(d);
    throw std::runtime_error("boom");
}

}  // namespace

TEST(TaskGroup, JoinWithoutTasksReturnsAtOnce) {
    asio::io_context io;
    task::task_group group(io.get_executor());
    run_until_joined(group, io, [] {});
    EXPECT_FALSE(group.stop_requested());
    EXPECT_EQ(group.first_failure(), nullptr);
}

TEST(TaskGroup, FailureIsKeptWithItsNameAndStopsTheOthers) {
    asio::io_context io;
    task::task_group group(io.get_executor());
    int woke = 0;
    const auto took = run_until_joined(group, io, [&] {
        group.spawn("sleeper 1", sleep_until_stopped(group, woke));
        group.spawn("sleeper 2", sleep_until_stopped(group, woke));
        group.spawn("thrower", throw_after(group, 10ms));
    });
    EXPECT_EQ(woke, 2);
    EXPECT_TRUE(group.stop_requested());
    EXPECT_LT(took, 5s);
    ASSERT_EQ(group.failures().size(), 1u);
    EXPECT_EQ(group.failures()[0].task, "thrower");
    EXPECT_NE(group.failure_of("thrower"), nullptr);
    EXPECT_EQ(group.failure_of("sleeper 1"), nullptr);
    EXPECT_THROW(group.rethrow_first_failure(), std::runtime_error);
}

TEST(TaskGroup, FirstFailureIsTheEarliest) {
    asio::io_context io;
    task::task_group group(io.get_executor());
    run_until_joined(group, io, [&] {
        group.spawn_blocking("late", [] {
            std::this_thread::sleep_for(50ms);
            throw std::logic_error("late");
        });
        group.spawn("early", throw_after(group, 1ms));
    });
    ASSERT_EQ(group.failures().size(), 2u);
    EXPECT_EQ(group.failures()[0].task, "early");
    EXPECT_EQ(group.failures()[1].task, "late");
    EXPECT_THROW(group.rethrow_first_failure(), std::runtime_error);
}

TEST(TaskGroup, StopGroupTaskEndsTheRunWhenItIsDone) {
    asio::io_context io;
    task::task_group group(io.get_executor());
    int woke = 0;
    bool ran = false;
    run_until_joined(group, io, [&] {
        group.spawn("role", sleep_until_stopped(group, woke));
        group.spawn_blocking(
            "script", [&] { ran = true; }, task::when_done::stop_group);
    });
    EXPECT_TRUE(ran);
    EXPECT_EQ(woke, 1);
    EXPECT_TRUE(group.failures().empty());
}

TEST(TaskGroup, RunBlockingReturnsValuesAndExceptionsOffTheLoop) {
    asio::io_context io;
    task::task_group group(io.get_executor());
    int value = 0;
    bool threw = false;
    std::thread::id job_thread;
    auto script = [&]() -> asio::awaitable<void> {
        value = co_await group.run_blocking([&] {
            job_thread = std::this_thread::get_id();
            return 42;
        });
        try {
            co_await group.run_blocking([] { throw std::runtime_error("no"); });
        } catch (const std::runtime_error&) {
            threw = true;
        }
    };
    run_until_joined(group, io, [&] { group.spawn("script", script()); });
    EXPECT_EQ(value, 42);
    EXPECT_TRUE(threw);
    EXPECT_NE(job_thread, std::this_thread::get_id());
    EXPECT_TRUE(group.failures().empty());
}

// A job that owns heap data (a lambda capturing strings by value, as the hooks' figures are)
// is destroyed once, off the loop, and sees its copies intact. Named before the co_await: GCC
// 12 frees a closure temporary built inside the co_await expression twice (task_group.hpp).
TEST(TaskGroup, RunBlockingOwnsAJobsCapturesUntilItEnds) {
    asio::io_context io;
    task::task_group group(io.get_executor());
    std::vector<std::string> seen;
    auto script = [&]() -> asio::awaitable<void> {
        for (int i = 0; i < 50; ++i) {
            const std::string figures(200, static_cast<char>('a' + i % 26));
            const auto* stop = &group.stop_flag();
            auto record = [figures, stop, &seen] {
                if (!stop->load()) seen.push_back(figures);
            };
            co_await group.run_blocking(std::move(record));
            auto measure = [figures] { return figures.size(); };
            auto length = co_await group.run_blocking(std::move(measure));
            EXPECT_EQ(length, 200u);
        }
    };
    run_until_joined(group, io, [&] { group.spawn("script", script()); });
    ASSERT_EQ(seen.size(), 50u);
    EXPECT_EQ(seen[27], std::string(200, 'b'));
    EXPECT_TRUE(group.failures().empty());
}

TEST(TaskGroup, SleepForEndsEarlyOnStopAndSaysSo) {
    asio::io_context io;
    task::task_group group(io.get_executor());
    bool full = true;
    bool short_sleep = false;
    // A named closure: a coroutine lambda's captures live in the closure, which must outlive
    // the coroutine.
    auto sleeper = [&]() -> asio::awaitable<void> {
        short_sleep = co_await group.sleep_for(1ms);
        full = co_await group.sleep_for(1h);
    };
    const auto took = run_until_joined(group, io, [&] {
        group.spawn("sleeper", sleeper());
        group.on_stop([] {});
        group.spawn_blocking("stopper", [&] {
            std::this_thread::sleep_for(20ms);
            group.request_stop();  // from a pool thread
        });
    });
    EXPECT_TRUE(short_sleep);
    EXPECT_FALSE(full);
    EXPECT_LT(took, 5s);
}

TEST(TaskGroup, OnStopRunsOnceOnTheLoop) {
    asio::io_context io;
    task::task_group group(io.get_executor());
    int calls = 0;
    run_until_joined(group, io, [&] {
        group.on_stop([&] { ++calls; });
        group.request_stop();
        group.request_stop();
    });
    EXPECT_EQ(calls, 1);
    int late = 0;
    group.on_stop([&] { ++late; });  // already stopped: runs at once, on the loop
    io.restart();
    io.run();
    EXPECT_EQ(late, 1);
}

TEST(TaskGroup, ChildSharesTheStopButJoinsOnlyItsOwnTasks) {
    asio::io_context io;
    task::task_group parent(io.get_executor());
    int woke = 0;
    bool child_joined = false;
    bool child_failed = false;
    auto phase = [&]() -> asio::awaitable<void> {
        task::task_group child(parent);
        child.spawn("child task", throw_after(child, 1ms));
        co_await child.join();
        child_joined = true;
        child_failed = child.failure_of("child task") != nullptr;
    };
    run_until_joined(parent, io, [&] {
        parent.spawn("parent role", sleep_until_stopped(parent, woke));
        parent.spawn("phase", phase());
    });
    EXPECT_TRUE(child_failed);
    EXPECT_TRUE(child_joined);
    EXPECT_EQ(woke, 1);
    EXPECT_TRUE(parent.stop_requested());    // the child's failure stopped both
    EXPECT_TRUE(parent.failures().empty());  // but it stays the child's to report
}
