// segment_file_reader: buffered pread()s over one segment; framing checks only.
#include "segment_file_reader.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "partshift/error.hpp"
#include "partshift/spool/segment_format.hpp"

namespace partshift::spool::detail {

namespace {
// Large enough that a typical record costs no syscall, small enough to be irrelevant in RAM.
constexpr std::size_t read_chunk = 64 * 1024;
}  // namespace

segment_file_reader::segment_file_reader(const std::filesystem::path& path)
    : path_(path), fd_(::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {
    if (!fd_) {
        throw runtime_error("spool: cannot open " + path.string() + ": " + std::strerror(errno));
    }
}

uint64_t segment_file_reader::file_size() const {
    struct stat st {};
    if (::fstat(fd_.get(), &st) != 0) {
        throw runtime_error("spool: cannot stat " + path_.string() + ": " + std::strerror(errno));
    }
    return static_cast<uint64_t>(st.st_size);
}

bool segment_file_reader::ensure(std::size_t n) {
    const uint64_t have_end = buffer_start_ + buffer_.size();
    if (offset_ >= buffer_start_ && offset_ + n <= have_end) return true;
    // Keep only the unread part, then read at least one chunk more.
    if (offset_ >= buffer_start_ && offset_ < have_end) {
        buffer_.erase(0, static_cast<std::size_t>(offset_ - buffer_start_));
    } else {
        buffer_.clear();
    }
    buffer_start_ = offset_;
    const std::size_t want = std::max(n, read_chunk);
    // Shrink after a big record so one huge value does not pin its memory.
    if (buffer_.capacity() > 4 * want) buffer_.shrink_to_fit();
    buffer_.reserve(want);
    while (buffer_.size() < n) {
        const std::size_t old = buffer_.size();
        buffer_.resize(std::max(want, n));
        const ssize_t got = ::pread(fd_.get(), buffer_.data() + old, buffer_.size() - old,
                                    static_cast<off_t>(buffer_start_ + old));
        if (got < 0) {
            buffer_.resize(old);
            if (errno == EINTR) continue;
            throw runtime_error("spool: read failed on " + path_.string() + ": " +
                                std::strerror(errno));
        }
        buffer_.resize(old + static_cast<std::size_t>(got));
        if (got == 0) break;
    }
    return buffer_.size() >= n;
}

segment_file_reader::status segment_file_reader::check_magic() {
    offset_ = 0;
    const bool complete = ensure(segment_magic.size());
    const std::string_view head(buffer_.data(), std::min(buffer_.size(), segment_magic.size()));
    if (!segment_magic.starts_with(head)) return status::bad_magic;
    if (!complete) return status::torn;
    offset_ = segment_magic.size();
    return status::record;
}

segment_file_reader::status segment_file_reader::next(std::string_view& payload, uint64_t limit) {
    if (offset_ >= limit) return status::end;
    if (!ensure(frame_header_size)) {
        return offset_ == buffer_start_ + buffer_.size() ? status::end : status::torn;
    }
    const auto pos = static_cast<std::size_t>(offset_ - buffer_start_);
    const frame_header header =
        parse_frame_header(std::string_view(buffer_.data() + pos, frame_header_size));
    const uint64_t record_end = offset_ + frame_header_size + header.length;
    // A length running past the file (or the limit) is a torn tail, or a corrupted length:
    // either way do not allocate for it.
    if (record_end > limit) return status::torn;
    // The file's size only matters for a record not read in yet (an fstat per record showed
    // in the replay's profile).
    if (record_end > buffer_start_ + buffer_.size() && record_end > file_size())
        return status::torn;
    if (!ensure(frame_header_size + header.length)) return status::torn;
    const auto start = static_cast<std::size_t>(offset_ - buffer_start_) + frame_header_size;
    payload = std::string_view(buffer_.data() + start, header.length);
    if (!frame_crc_matches(header, payload)) return status::corrupt;
    offset_ = record_end;
    return status::record;
}

}  // namespace partshift::spool::detail
