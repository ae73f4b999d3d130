// segment_file_reader: sequential, buffered reading of one spool segment's framed records
// (internal to src/spool; used by spool_reader and by spool_writer's recovery). Reports a
// short tail, a bad CRC and a bad magic as statuses, leaving the policy to the caller. Never
// allocates more than the file holds, whatever a corrupted length field says. Must not
// interpret record contents.
#pragma once

#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <string_view>

#include "partshift/base/unique_fd.hpp"

namespace partshift::spool::detail {

class segment_file_reader {
  public:
    enum class status {
        record,     // payload holds the next record; offset() moved past it
        end,        // clean end of file (or of the read limit)
        torn,       // a partial header or payload at the end of the file
        corrupt,    // CRC mismatch
        bad_magic,  // the file does not start with segment_magic
    };

    // Opens the file (throws partshift::runtime_error). Call check_magic() before next().
    explicit segment_file_reader(const std::filesystem::path& path);

    // check_magic: record (= ok), torn (file shorter than the magic and a prefix of it; a
    // segment whose creation was cut short) or bad_magic.
    status check_magic();

    // next reads the record at offset(), never past limit. payload views into an internal
    // buffer, valid until the next call.
    status next(std::string_view& payload, uint64_t limit = std::numeric_limits<uint64_t>::max());

    uint64_t offset() const noexcept { return offset_; }
    const std::filesystem::path& path() const noexcept { return path_; }
    // buffer_capacity: memory held for reading, for tests of bounded memory.
    std::size_t buffer_capacity() const noexcept { return buffer_.capacity(); }

  private:
    // ensure makes n bytes from offset_ available in buffer_; false at end of file.
    bool ensure(std::size_t n);
    uint64_t file_size() const;

    std::filesystem::path path_;
    base::unique_fd fd_;
    std::string buffer_;
    uint64_t buffer_start_ = 0;  // file offset of buffer_[0]
    uint64_t offset_ = 0;
};

}  // namespace partshift::spool::detail
