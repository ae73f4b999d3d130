// spool_feed: the applier's change_feed over the spool, following the live writer: it reads
// only what the writer made durable, and waits (polling a timer) when it has read it all.
#pragma once

#include <utility>

#include <atomic>
#include <boost/asio/awaitable.hpp>

#include "partshift/apply/change_feed.hpp"
#include "partshift/spool/spool_reader.hpp"
#include "partshift/spool/spool_writer.hpp"

namespace partshift::migrate {

class spool_feed : public apply::change_feed {
public:
    spool_feed(spool::spool_writer& writer, stream::lsn_t applied_lsn,
               const std::atomic<bool>& stop)
        : writer_(writer), reader_(writer.dir(), applied_lsn), stop_(stop) {}

    boost::asio::awaitable<std::optional<stream::message>> next() override;
    bool caught_up() const override { return caught_up_; }

private:
    spool::spool_writer& writer_;
    spool::spool_reader reader_;
    const std::atomic<bool>& stop_;
    bool caught_up_ = false;
};

}  // namespace partshift::migrate
