// task_group: one way to start, stop and wait for the tasks of a run on the event loop
// (DESIGN.md §4). A task is a coroutine spawned on the loop, or a blocking job run on the
// group's thread pool (libpq calls, hooks, the cutover). The group keeps every failure with
// the name of the task that threw it (the first one is the run's), turns a failure into a
// stop request, lets a coroutine sleep until a deadline or a stop (whichever comes first),
// and joins its tasks without polling: the last task to end wakes the joiner.
// A child group (made from a parent) shares its parent's stop and thread pool and has tasks,
// failures and a join of its own: a phase waits for what it started before its locals go.
// Must not: know partshift's roles (it knows Asio only), retry, log, or decide which failure
// matters more than another: callers read failure_of(name) when they must.
#pragma once

#include <utility>  // before Asio's coroutine headers (GCC 12 + Boost 1.74)

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

namespace partshift::task {

namespace asio = boost::asio;

// when_done: what a task's normal end does to its group (a failure always stops it).
enum class when_done {
    keep_running,  // the others go on (a role that ends when told to stop)
    stop_group,    // the group is asked to stop (the phase script, the cutover)
};

// task_failure: an exception a task ended with, and the task's name.
struct task_failure {
    std::string task;
    std::exception_ptr error;
};

class task_group {
  public:
    // A group on `loop` (an io_context's executor) with a pool of `blocking_threads` for
    // blocking jobs. Blocking jobs queue when every thread is busy: the pool is sized for the
    // cutover, a hook and a control statement at once.
    explicit task_group(asio::any_io_executor loop, std::size_t blocking_threads = 4);
    // A child group: the parent's loop, pool and stop; tasks, failures and join of its own.
    explicit task_group(task_group& parent);
    task_group(const task_group&) = delete;
    task_group& operator=(const task_group&) = delete;
    // Joins the pool's threads (the root group); the caller must have joined the tasks.
    ~task_group();

    asio::any_io_executor executor() const { return loop_; }

    // request_stop: every task of the group (and of its parent and children) is asked to
    // end; sleepers wake now. Any thread; idempotent.
    void request_stop();
    bool stop_requested() const noexcept { return stop_->flag.load(); }
    // stop_flag: the stop as the roles that take `std::atomic<bool>&` read it. Read only:
    // writing it directly would not wake sleepers (use request_stop).
    std::atomic<bool>& stop_flag() noexcept { return stop_->flag; }
    // on_stop: `f` runs on the loop once a stop is requested (at once if it already was).
    void on_stop(std::function<void()> f);

    // spawn runs `task` on the loop. On the loop's thread.
    void spawn(std::string name, asio::awaitable<void> task,
               when_done done = when_done::keep_running);
    // spawn_blocking runs `job` on a pool thread; its end is handled on the loop.
    void spawn_blocking(std::string name, std::function<void()> job,
                        when_done done = when_done::keep_running);

    // run_blocking: `f()` on a pool thread; the awaiting coroutine resumes on the loop with
    // its result or its exception. The loop runs on meanwhile. Not a task: nothing is kept.
    // Name the job before the co_await (`auto job = [copy] {…}; co_await run_blocking(
    // std::move(job));`): GCC 12 destroys a closure or aggregate temporary built inside a
    // co_await expression twice when it owns heap data (a "double free" in the hooks' run).
    template <typename F>
    auto run_blocking(F f) -> asio::awaitable<std::invoke_result_t<F&>>;

    // sleep_for waits `d`, or less if a stop is requested; false if stopped. Loop only.
    asio::awaitable<bool> sleep_for(std::chrono::steady_clock::duration d);
    // wait_for_stop returns once a stop is requested. Loop only.
    asio::awaitable<void> wait_for_stop();

    // join returns once every task spawned in this group has ended (not the parent's, nor
    // a child's). Loop only; one joiner at a time.
    asio::awaitable<void> join();
    std::size_t running() const noexcept { return running_; }

    // The failures, in the order they happened.
    const std::vector<task_failure>& failures() const noexcept { return failures_; }
    std::exception_ptr first_failure() const;
    std::exception_ptr failure_of(const std::string& task) const;
    // rethrow_first_failure rethrows the first failure as it was thrown (its type decides
    // the exit code), if any.
    void rethrow_first_failure() const;

  private:
    struct stop_state {
        std::atomic<bool> flag{false};
        std::vector<std::function<void()>> callbacks;  // loop only
        std::set<asio::steady_timer*> sleepers;        // loop only
    };
    void task_ended(const std::string& name, std::exception_ptr e, when_done done);
    static void wake(stop_state& stop);  // on the loop

    asio::any_io_executor loop_;
    std::shared_ptr<asio::thread_pool> pool_;
    std::shared_ptr<stop_state> stop_;
    std::size_t running_ = 0;
    std::vector<task_failure> failures_;
    asio::steady_timer idle_;  // expires never; cancelled when the last task ends
};

template <typename F>
auto task_group::run_blocking(F f) -> asio::awaitable<std::invoke_result_t<F&>> {
    using result_type = std::invoke_result_t<F&>;
    auto initiate = [pool = pool_, loop = loop_, f = std::move(f)](auto handler) mutable {
        // The work guard keeps the loop from returning while the job runs off it.
        asio::post(*pool, [work = asio::make_work_guard(loop), f = std::move(f),
                           handler = std::move(handler)]() mutable {
            std::exception_ptr error;
            if constexpr (std::is_void_v<result_type>) {
                try {
                    f();
                } catch (...) {
                    error = std::current_exception();
                }
                asio::post(work.get_executor(), [handler = std::move(handler), error]() mutable {
                    std::move(handler)(error);
                });
            } else {
                std::optional<result_type> value;
                try {
                    value.emplace(f());
                } catch (...) {
                    error = std::current_exception();
                }
                asio::post(work.get_executor(),
                           [handler = std::move(handler), error, v = std::move(value)]() mutable {
                               std::move(handler)(error, std::move(v));
                           });
            }
        });
    };
    if constexpr (std::is_void_v<result_type>) {
        co_await asio::async_initiate<decltype(asio::use_awaitable), void(std::exception_ptr)>(
            std::move(initiate), asio::use_awaitable);
    } else {
        auto value =
            co_await asio::async_initiate<decltype(asio::use_awaitable),
                                          void(std::exception_ptr, std::optional<result_type>)>(
                std::move(initiate), asio::use_awaitable);
        co_return std::move(*value);
    }
}

}  // namespace partshift::task
