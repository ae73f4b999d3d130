// copy_gate: waiting and pacing for the copier. Timers only; no SQL.
#include "partshift/throttle/copy_gate.hpp"

#include <algorithm>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace partshift::throttle {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

asio::awaitable<void> copy_gate::wait_open(const std::function<bool()>& halted) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    while ((!progress_.copy_throttle_checked || progress_.copy_throttled) && !halted()) {
        timer.expires_after(100ms);
        co_await timer.async_wait(asio::use_awaitable);
    }
}

asio::awaitable<void> copy_gate::pace(int64_t rows, const std::function<bool()>& halted) {
    const double rate = progress_.max_copy_rate;
    const auto now = clock::now();
    if (rate <= 0) {
        next_free_ = now;
        co_return;
    }
    // No credit saved up beyond a moment: after a pause the ceiling holds from the start.
    next_free_ = std::max(next_free_, now - 200ms);
    next_free_ += std::chrono::duration_cast<clock::duration>(
        std::chrono::duration<double>(static_cast<double>(rows) / rate));
    asio::steady_timer timer(co_await asio::this_coro::executor);
    while (clock::now() < next_free_ && !halted()) {
        // `partshift set` changed the ceiling: the new one counts from now on.
        if (progress_.max_copy_rate != rate) {
            next_free_ = clock::now();
            break;
        }
        timer.expires_at(std::min(next_free_, clock::now() + 200ms));
        co_await timer.async_wait(asio::use_awaitable);
    }
}

}  // namespace partshift::throttle
