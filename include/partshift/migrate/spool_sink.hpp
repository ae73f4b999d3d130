// spool_sink: the streamer's change_sink over the durable spool (spool_writer).
#pragma once

#include "partshift/spool/spool_writer.hpp"
#include "partshift/stream/change_sink.hpp"

namespace partshift::migrate {

class spool_sink : public stream::change_sink {
  public:
    explicit spool_sink(spool::spool_writer& writer) : writer_(writer) {}
    void append(const stream::message& msg) override;
    stream::lsn_t flush() override;
    void publish() override { writer_.publish(); }
    uint64_t unflushed_bytes() const override { return unflushed_; }
    stream::lsn_t last_commit_end_lsn() const override { return writer_.last_commit_end_lsn(); }
    void record_position(stream::lsn_t lsn) override;
    stream::lsn_t durable_position() const override { return writer_.durable_position_lsn(); }

  private:
    spool::spool_writer& writer_;
    uint64_t unflushed_ = 0;
};

}  // namespace partshift::migrate
