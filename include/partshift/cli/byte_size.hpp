// byte_size: parses SIZE arguments (--slot-wal-limit): a whole number of bytes, or with a
// unit: k/kB/KiB, M/MB/MiB, G/GB/GiB, T/TB/TiB, any case. Units are binary (1G = 1GB = 1GiB =
// 2^30 bytes), as PostgreSQL's own settings (max_slot_wal_keep_size = 20GB) count them, so a
// limit copied from postgresql.conf means the same here. The one size parser of the CLI.
// Pure; throws usage_error naming the option on bad input.
#pragma once

#include <cstdint>
#include <string>

namespace partshift::cli {

int64_t parse_size(const std::string& text, const std::string& option);

}  // namespace partshift::cli
