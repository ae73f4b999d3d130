// task_group: the bookkeeping of spawned tasks, the stop and the join (see the header).
#include "partshift/task/task_group.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>

namespace partshift::task {

task_group::task_group(asio::any_io_executor loop, std::size_t blocking_threads)
    : loop_(loop),
      pool_(std::make_shared<asio::thread_pool>(blocking_threads)),
      stop_(std::make_shared<stop_state>()),
      idle_(loop, asio::steady_timer::time_point::max()) {}

task_group::task_group(task_group& parent)
    : loop_(parent.loop_),
      pool_(parent.pool_),
      stop_(parent.stop_),
      idle_(parent.loop_, asio::steady_timer::time_point::max()) {}

task_group::~task_group() {
    // The last owner of the pool (the root group, normally) waits for its threads; a job
    // still running then is one that ignores the stop, and would outlive what it refers to.
    if (pool_.use_count() == 1) pool_->join();
}

void task_group::request_stop() {
    if (stop_->flag.exchange(true)) return;
    // On the loop: the timers and the callbacks belong to it. Holds the state, not the
    // group: a child group may be gone by then.
    asio::post(loop_, [stop = stop_] { wake(*stop); });
}

void task_group::wake(stop_state& stop) {
    for (auto* timer : stop.sleepers) timer->cancel();
    auto callbacks = std::move(stop.callbacks);
    stop.callbacks.clear();
    for (auto& f : callbacks) f();
}

void task_group::on_stop(std::function<void()> f) {
    if (stop_requested()) {
        asio::post(loop_, std::move(f));
        return;
    }
    stop_->callbacks.push_back(std::move(f));
}

void task_group::spawn(std::string name, asio::awaitable<void> task, when_done done) {
    ++running_;
    asio::co_spawn(
        loop_, std::move(task),
        [this, name = std::move(name), done](std::exception_ptr e) { task_ended(name, e, done); });
}

void task_group::spawn_blocking(std::string name, std::function<void()> job, when_done done) {
    ++running_;
    asio::post(*pool_, [this, name = std::move(name), job = std::move(job), done,
                        work = asio::make_work_guard(loop_)]() mutable {
        std::exception_ptr error;
        try {
            job();
        } catch (...) {
            error = std::current_exception();
        }
        asio::post(work.get_executor(),
                   [this, name = std::move(name), error, done] { task_ended(name, error, done); });
    });
}

void task_group::task_ended(const std::string& name, std::exception_ptr e, when_done done) {
    if (e) failures_.push_back({name, e});
    if (e || done == when_done::stop_group) request_stop();
    if (--running_ == 0) idle_.cancel();
}

asio::awaitable<bool> task_group::sleep_for(std::chrono::steady_clock::duration d) {
    if (stop_requested()) co_return false;
    asio::steady_timer timer(loop_, d);
    stop_->sleepers.insert(&timer);
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    stop_->sleepers.erase(&timer);
    co_return !stop_requested();
}

asio::awaitable<void> task_group::wait_for_stop() {
    // Not `while (co_await …) {}`: GCC 12 compiles that coroutine's end to an illegal
    // instruction (TaskGroup tests died with SIGILL).
    for (;;) {
        const bool slept = co_await sleep_for(std::chrono::hours(24));
        if (!slept) co_return;
    }
}

asio::awaitable<void> task_group::join() {
    while (running_ > 0) {
        // Cancelled by the task that ends last (task_ended); no timeout, no polling.
        idle_.expires_at(asio::steady_timer::time_point::max());
        boost::system::error_code ec;
        co_await idle_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
}

std::exception_ptr task_group::first_failure() const {
    return failures_.empty() ? nullptr : failures_.front().error;
}

std::exception_ptr task_group::failure_of(const std::string& task) const {
    for (const auto& f : failures_)
        if (f.task == task) return f.error;
    return nullptr;
}

void task_group::rethrow_first_failure() const {
    if (auto e = first_failure()) std::rethrow_exception(e);
}

}  // namespace partshift::task
