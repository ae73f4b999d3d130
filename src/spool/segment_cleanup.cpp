// segment_cleanup: removes applied spool segments by name. Must not open segment contents and
// must never remove the last segment.
#include "partshift/spool/segment_cleanup.hpp"

#include "partshift/error.hpp"
#include "partshift/spool/segment_format.hpp"

namespace partshift::spool {

std::size_t remove_applied_segments(const std::filesystem::path& dir, stream::lsn_t applied_lsn) {
    const auto segments = list_segments(dir);
    std::size_t removed = 0;
    for (std::size_t i = 0; i + 1 < segments.size(); ++i) {
        if (segments[i + 1].first_lsn > applied_lsn) break;
        std::error_code ec;
        std::filesystem::remove(segments[i].path, ec);
        if (ec) {
            throw runtime_error("spool: cannot remove " + segments[i].path.string() + ": " +
                                ec.message());
        }
        ++removed;
    }
    return removed;
}

}  // namespace partshift::spool
