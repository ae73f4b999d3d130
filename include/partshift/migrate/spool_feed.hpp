// spool_feed: the applier's change_feed over the spool, following the live writer: it reads
// what the writer published (written, durable or not), and waits for the streamer's signal when it
// has read it all.
#pragma once

#include <utility>

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <optional>

#include "partshift/apply/change_feed.hpp"
#include "partshift/migrate/spool_signal.hpp"
#include "partshift/spool/spool_reader.hpp"
#include "partshift/spool/spool_writer.hpp"

namespace partshift::migrate {

class spool_feed : public apply::change_feed {
  public:
    // signal: the streamer's sink tells it of new data, and the run of a stop.
    spool_feed(spool::spool_writer& writer, spool_signal& signal, stream::lsn_t applied_lsn,
               const std::atomic<bool>& stop)
        : writer_(writer), signal_(signal), reader_(writer.dir(), applied_lsn), stop_(stop) {}

    boost::asio::awaitable<std::optional<stream::message>> next() override;
    // caught_up looks one record ahead: the applier asks at each source commit whether to
    // commit its batch now, which must be answered before next() would wait.
    bool caught_up() const override;
    boost::asio::awaitable<bool> wait_for_data(
        std::chrono::steady_clock::time_point deadline) override;

  private:
    bool fill_lookahead() const;

    spool::spool_writer& writer_;
    spool_signal& signal_;
    mutable spool::spool_reader reader_;
    // at most one record, the reader's own (valid until its next read)
    mutable const proto::spool_record* lookahead_ = nullptr;
    const std::atomic<bool>& stop_;
};

}  // namespace partshift::migrate
