// record_conversion: stream::message <-> partshift.proto.spool_record. Pure; no I/O.
// Only what the applier needs is spooled: Begin, Commit, Relation, Insert, Update, Delete,
// Truncate and logical Message. Type and Origin carry nothing the applier uses; Stream
// Start/Stop/Commit/Abort are the streamer's business (the spool holds only committed,
// commit-ordered transactions), so they are not spooled.
#pragma once

#include "partshift/stream/pgoutput_messages.hpp"
#include "spool.pb.h"

namespace partshift::spool {

// is_spooled tells whether a message has a spool representation.
bool is_spooled(const stream::message& msg) noexcept;

// to_spool_record converts a spooled message; throws partshift::runtime_error for the others
// (check is_spooled first).
proto::spool_record to_spool_record(const stream::message& msg);
// fill_spool_record: the same into `out`, which must be empty (a record_arena's fresh one, so
// the hot path allocates nothing per record).
void fill_spool_record(const stream::message& msg, proto::spool_record& out);

// from_spool_record converts back; throws partshift::runtime_error for an empty or unknown
// record (a spool written by a newer partshift).
stream::message from_spool_record(const proto::spool_record& record);

// record_lsn: the LSN that orders a record, if it has one of its own: Begin's final_lsn, a
// non-transactional message's lsn, Commit's end_lsn.
std::optional<stream::lsn_t> record_lsn(const proto::spool_record& record) noexcept;

}  // namespace partshift::spool
