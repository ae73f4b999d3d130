// durable_lsn: which applied LSN the target's WAL flush covers. With synchronous_commit off a
// batch's COMMIT returns before its WAL is flushed, so its applied LSN is durable only once
// the flush position passes a WAL position read right after that commit; what must not run
// ahead of the flush (deleting spool segments) follows this. Pure bookkeeping: the apply
// session reads the positions and hands them in; no connection here.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <utility>

#include "partshift/stream/pgoutput_messages.hpp"

namespace partshift::apply {

class durable_lsn {
  public:
    // asynchronous_commit: whether commits return before their flush (applier_options).
    explicit durable_lsn(bool asynchronous_commit) : asynchronous_commit_(asynchronous_commit) {}

    // resume: at the start of a run, the saved applied LSN, which may itself come from an
    // asynchronous commit not yet flushed (a run killed a moment ago): durable once the flush
    // passes `insert_position`, the WAL position read with it. Forgets earlier commits.
    void resume(uint64_t insert_position, stream::lsn_t applied);
    // committed: a batch committing `applied`; its WAL position comes with the next note().
    void committed(stream::lsn_t applied);
    // note: the WAL insert position read after the newest commit (it settles that commit's
    // position; 0 when there is none to settle) and the flush position. Returns the newest
    // applied LSN that became durable, if any.
    std::optional<stream::lsn_t> note(uint64_t insert_position, uint64_t flush_position);
    // waiting: commits not yet known flushed (at most a few: the WAL writer flushes within a
    // second and each commit reads the flush position).
    size_t waiting() const { return unflushed_.size(); }

  private:
    bool asynchronous_commit_;
    // (target WAL position at or past the commit record, 0 while unknown; its applied LSN),
    // oldest first.
    std::deque<std::pair<uint64_t, stream::lsn_t>> unflushed_;
};

}  // namespace partshift::apply
