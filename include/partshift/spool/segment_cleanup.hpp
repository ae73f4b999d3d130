// segment_cleanup: deletes spool segments that hold only applied transactions. Looks only at
// segment names (segment_format.hpp), never at contents, and never deletes the last segment
// (the one a writer appends to).
#pragma once

#include <cstddef>
#include <filesystem>

#include "partshift/stream/pgoutput_messages.hpp"

namespace partshift::spool {

// remove_applied_segments deletes every segment whose transactions all have end_lsn <=
// applied_lsn: segment i qualifies when segment i+1 exists and is named <= applied_lsn (every
// transaction in i ends at or before the next segment's first transaction). Returns how many
// were deleted. Throws partshift::runtime_error if a deletion fails.
std::size_t remove_applied_segments(const std::filesystem::path& dir, stream::lsn_t applied_lsn);

}  // namespace partshift::spool
