// spool_sink: the streamer's change_sink over the durable spool (spool_writer).
#pragma once

#include "partshift/migrate/spool_signal.hpp"
#include "partshift/spool/record_arena.hpp"
#include "partshift/spool/spool_writer.hpp"
#include "partshift/stream/change_sink.hpp"

namespace partshift::migrate {

class spool_sink : public stream::change_sink {
  public:
    // signal: told whenever the published data grows, so the applier's feed wakes for it.
    spool_sink(spool::spool_writer& writer, spool_signal& signal)
        : writer_(writer), signal_(signal) {}
    void append(const stream::message& msg) override;
    stream::lsn_t flush() override;
    void publish() override;
    uint64_t unflushed_bytes() const override { return unflushed_; }
    stream::lsn_t last_commit_end_lsn() const override { return writer_.last_commit_end_lsn(); }
    void record_position(stream::lsn_t lsn) override;
    stream::lsn_t durable_position() const override { return writer_.durable_position_lsn(); }

  private:
    // notify_if_grew: tells the signal when the writer's published position moved.
    void notify_if_grew();

    spool::spool_writer& writer_;
    spool_signal& signal_;
    spool::spool_position told_;  // the published position the signal was last told of
    uint64_t unflushed_ = 0;
    spool::record_arena arena_;  // each appended record is built here
};

}  // namespace partshift::migrate
