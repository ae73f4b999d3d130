// durable_lsn: the flush bookkeeping of asynchronous batch commits (durable_lsn.hpp). Pure.
#include "partshift/apply/durable_lsn.hpp"

#include <algorithm>

namespace partshift::apply {

void durable_lsn::resume(uint64_t insert_position, stream::lsn_t applied) {
    unflushed_.clear();
    unflushed_.emplace_back(insert_position, applied);
}

void durable_lsn::committed(stream::lsn_t applied) {
    unflushed_.emplace_back(0, applied);
}

std::optional<stream::lsn_t> durable_lsn::note(uint64_t insert_position, uint64_t flush_position) {
    // The newest entry is the commit just made (its position not yet known): fill it in.
    if (!unflushed_.empty() && unflushed_.back().first == 0)
        unflushed_.back().first = insert_position;
    // A synchronous commit waited for its flush (the initial entry, read, may not have).
    if (!asynchronous_commit_) flush_position = std::max(flush_position, insert_position);
    std::optional<stream::lsn_t> durable;
    while (!unflushed_.empty() && unflushed_.front().first != 0 &&
           unflushed_.front().first <= flush_position) {
        durable = unflushed_.front().second;
        unflushed_.pop_front();
    }
    return durable;
}

}  // namespace partshift::apply
