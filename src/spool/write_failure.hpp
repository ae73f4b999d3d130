// write_failure: the one error a failed write, truncate or fsync in the spool directory turns
// into (internal to src/spool), so a full disk reads the same wherever it strikes.
#pragma once

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

#include "partshift/error.hpp"

namespace partshift::spool::detail {

[[noreturn]] inline void throw_write_failure(int err, const std::string& op,
                                             const std::filesystem::path& path) {
    if (err == ENOSPC || err == EDQUOT)
        throw runtime_error("spool: no space left on device writing " + path.string() +
                            " (free space or use --spool-dir)");
    throw runtime_error("spool: " + op + " failed on " + path.string() + ": " + std::strerror(err));
}

}  // namespace partshift::spool::detail
