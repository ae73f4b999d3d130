// spool_feed: spool records → decoded messages for the applier, in spool order.
#include "partshift/migrate/spool_feed.hpp"

#include "partshift/spool/record_conversion.hpp"

namespace partshift::migrate {

namespace asio = boost::asio;

namespace {

// A signal lost despite the generation count (it cannot be, but a stuck applier would be
// silent) costs at most this much.
constexpr std::chrono::milliseconds backstop{200};

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
        lookahead_ = reader_.next_in_place(writer_.written_position());
        if (!lookahead_) return false;
    }
    return true;
}

bool spool_feed::caught_up() const {
    return !fill_lookahead();
}

asio::awaitable<std::optional<stream::message>> spool_feed::next() {
    while (!stop_) {
        const uint64_t seen = signal_.generation();  // before looking: no notify is missed
        if (fill_lookahead()) {
            auto message = spool::from_spool_record(*lookahead_);
            lookahead_ = nullptr;
            co_return message;
        }
        // Woken by the streamer's sink as soon as it publishes (the cutover's fence travels
        // this way while the source is locked), or by a stop; the timeout is only a backstop.
        co_await signal_.wait(seen, std::chrono::steady_clock::now() + backstop);
    }
    co_return std::nullopt;
}

asio::awaitable<bool> spool_feed::wait_for_data(std::chrono::steady_clock::time_point deadline) {
    while (!stop_) {
        const uint64_t seen = signal_.generation();
        if (fill_lookahead()) co_return true;
        const auto now = std::chrono::steady_clock::now();
        if (now >= deadline) co_return false;
        co_await signal_.wait(seen, std::min(deadline, now + backstop));
    }
    co_return false;
}

}  // namespace partshift::migrate
