// spool_feed: spool records → decoded messages for the applier, in spool order.
#include "partshift/migrate/spool_feed.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "partshift/spool/record_conversion.hpp"

namespace partshift::migrate {

namespace asio = boost::asio;

namespace {

bool is_position_record(const proto::spool_record& r) {
    return r.has_message() && !r.message().transactional() &&
           r.message().prefix() == spool::position_prefix;
}

}  // namespace

bool spool_feed::fill_lookahead() const {
    // Position records are the spool's own bookkeeping (idle acknowledgements), not changes:
    // the applier never sees them, and one at the end must not hide that it is caught up (it
    // commits its batch when caught up).
    while (!lookahead_ || is_position_record(*lookahead_)) {
        lookahead_ = reader_.next(writer_.written_position());
        if (!lookahead_) return false;
    }
    return true;
}

bool spool_feed::caught_up() const {
    return !fill_lookahead();
}

asio::awaitable<std::optional<stream::message>> spool_feed::next() {
    std::optional<asio::steady_timer> wait;
    while (!stop_) {
        if (fill_lookahead()) {
            auto message = spool::from_spool_record(*lookahead_);
            lookahead_.reset();
            co_return message;
        }
        // New data is readable as soon as the streamer publishes it; polling keeps the two
        // roles independent (no callback from streamer into applier). Short: the cutover's
        // fence travels this way while the source is locked.
        if (!wait) wait.emplace(co_await asio::this_coro::executor);
        wait->expires_after(std::chrono::milliseconds(5));
        co_await wait->async_wait(asio::use_awaitable);
    }
    co_return std::nullopt;
}

asio::awaitable<bool> spool_feed::wait_for_data(std::chrono::steady_clock::time_point deadline) {
    std::optional<asio::steady_timer> wait;
    while (!stop_ && !fill_lookahead()) {
        const auto now = std::chrono::steady_clock::now();
        if (now >= deadline) co_return false;
        if (!wait) wait.emplace(co_await asio::this_coro::executor);
        wait->expires_after(std::min<std::chrono::steady_clock::duration>(
            std::chrono::milliseconds(5), deadline - now));
        co_await wait->async_wait(asio::use_awaitable);
    }
    co_return !stop_;
}

}  // namespace partshift::migrate
