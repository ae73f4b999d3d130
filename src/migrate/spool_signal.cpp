// spool_signal: a generation count and the one waiting timer, cancelled on its own executor.
#include "partshift/migrate/spool_signal.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace partshift::migrate {

namespace asio = boost::asio;

uint64_t spool_signal::generation() const {
    std::lock_guard lock(mutex_);
    return generation_;
}

void spool_signal::notify() {
    std::shared_ptr<asio::steady_timer> waiter;
    {
        std::lock_guard lock(mutex_);
        ++generation_;
        waiter.swap(waiter_);
    }
    // A timer is not thread-safe: it is cancelled on its own executor (a posted handler, run
    // in this same turn of the loop when the notifier is on it too).
    if (waiter) asio::post(waiter->get_executor(), [waiter] { waiter->cancel(); });
}

asio::awaitable<void> spool_signal::wait(uint64_t seen,
                                         std::chrono::steady_clock::time_point deadline) {
    auto timer = std::make_shared<asio::steady_timer>(co_await asio::this_coro::executor, deadline);
    bool notified = false;
    {
        std::lock_guard lock(mutex_);
        notified = generation_ != seen;
        if (!notified) waiter_ = timer;
    }
    if (notified) co_return;
    boost::system::error_code ignored;  // cancelled by notify(), or expired
    co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    std::lock_guard lock(mutex_);
    if (waiter_ == timer) waiter_.reset();
}

}  // namespace partshift::migrate
