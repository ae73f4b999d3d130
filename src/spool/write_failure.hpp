// write_failure: writing a buffer out whole, and the one error a failed write, truncate or
// fsync in the spool directory turns into (internal to src/spool), so a full disk reads the
// same wherever it strikes.
#pragma once

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>

#include "partshift/error.hpp"

namespace partshift::spool::detail {

// write_fully writes all of bytes to fd, again after an interrupted or short write: 0, or the
// errno of the write that failed (some bytes may be written by then).
inline int write_fully(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
        const ssize_t n = ::write(fd, bytes.data(), bytes.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return n < 0 ? errno : EIO;
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return 0;
}

[[noreturn]] inline void throw_write_failure(int err, const std::string& op,
                                             const std::filesystem::path& path) {
    if (err == ENOSPC || err == EDQUOT)
        throw runtime_error("spool: no space left on device writing " + path.string() +
                            " (free space or use --spool-dir)");
    throw runtime_error("spool: " + op + " failed on " + path.string() + ": " + std::strerror(err));
}

}  // namespace partshift::spool::detail
