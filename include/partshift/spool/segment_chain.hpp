// segment_chain: the link at the head of every spool segment to the segment before it, and
// the resume check that the chain of segments holding unapplied changes is whole. Segment
// names alone cannot show a hole (LSNs skip whatever other tables wrote), so each segment
// names its predecessor and that predecessor's final size; a deleted, cut or damaged segment
// in the middle of the spool then stops a resumed run instead of leaving a hole on the target
// (the slot acknowledged those changes, the server never sends them again).
// Reads segment files only; never writes or deletes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "partshift/stream/pgoutput_messages.hpp"
#include "spool.pb.h"

namespace partshift::spool {

// segment_link_prefix: the prefix of the link record, a non-transactional message written
// right after a segment's magic. Readers skip it: it is bookkeeping, not a change.
inline constexpr const char* segment_link_prefix = "partshift.spool-previous-segment";

// segment_link: what a segment's head says about the segment written before it.
struct segment_link {
    std::optional<stream::lsn_t> previous;  // its name (first LSN); none: the first segment
    uint64_t previous_size = 0;             // its size when this segment was created
    bool operator==(const segment_link&) const = default;
};

// segment_link_record: the record the writer puts at the head of the segment `first_lsn`.
proto::spool_record segment_link_record(stream::lsn_t first_lsn, const segment_link& link);
// is_segment_link: r is such a record.
bool is_segment_link(const proto::spool_record& r);

// read_segment_link: the link at the head of a segment file. nullopt when the segment has
// none (written by an older partshift) or its head is not fully written yet.
std::optional<segment_link> read_segment_link(const std::filesystem::path& segment);

// check_segment_chain: throws partshift::runtime_error naming the gap when a segment that
// holds changes after applied_lsn is missing, was cut or grew after the next one was
// created, or has a damaged record (every segment but the last is read through; the writer's
// recovery deals with the last one). Segments without a link (older spools) are taken as
// they are.
void check_segment_chain(const std::filesystem::path& dir, stream::lsn_t applied_lsn);

}  // namespace partshift::spool
