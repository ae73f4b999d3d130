// change_sink: where the streamer puts decoded changes (the spool, or a test double).
// The streamer acknowledges to the server only what flush() reports durable (invariant 2).
#pragma once

#include <cstdint>

#include "partshift/stream/pgoutput_messages.hpp"

namespace partshift::stream {

class change_sink {
  public:
    virtual ~change_sink() = default;
    // append records one message of a transaction, in stream order.
    virtual void append(const message& msg) = 0;
    // flush makes everything appended durable and returns the end LSN of the last complete
    // transaction now durable (0 if none).
    virtual lsn_t flush() = 0;
    // publish makes what is appended visible to the sink's reader without making it durable
    // (no fsync); flush() does both.
    virtual void publish() {}
    // bytes appended since the last flush (to bound what a crash could lose).
    virtual uint64_t unflushed_bytes() const = 0;
    // last_commit_end_lsn: the end LSN of the last complete transaction in the sink, so that
    // transactions the server sends again after a reconnect (their commit LSN is below it)
    // are skipped, not duplicated.
    virtual lsn_t last_commit_end_lsn() const = 0;
    // record_position notes, between transactions, that everything the server sent up to lsn
    // is in the sink (no published transaction in between); the next flush() makes it
    // durable. The streamer acknowledges an idle position only once the sink records it, so a
    // damaged or missing spool can never hide behind a position the slot has passed.
    virtual void record_position(lsn_t lsn) = 0;
    // durable_position: the highest LSN the sink holds durably: the last durable commit end,
    // or a durable recorded position.
    virtual lsn_t durable_position() const = 0;
};

}  // namespace partshift::stream
