// replication_protocol: the CopyBoth framing of a logical replication stream (PGOUTPUT.md,
// "CopyBoth frames"). Pure functions over bytes: parse a server frame ('w' XLogData or 'k'
// keepalive), build the client's 'r' standby status update. No socket, no clock, no state —
// the streamer owns those.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "partshift/stream/pgoutput_messages.hpp"

namespace partshift::stream {

// xlog_data: a 'w' frame. payload views into the frame passed to parse_copy_data (it lives as
// long as that buffer) and holds exactly one pgoutput message. data_start is 0 for messages
// not tied to a WAL position (Relation, Type): never treat it as monotonic.
struct xlog_data {
    lsn_t data_start = 0;
    lsn_t wal_end = 0;
    int64_t send_time = 0;  // µs since 2000-01-01 UTC
    std::string_view payload;
};

// keepalive: a 'k' frame. reply_requested means: send a status update now.
struct keepalive {
    lsn_t wal_end = 0;
    int64_t send_time = 0;
    bool reply_requested = false;
};

using copy_frame = std::variant<xlog_data, keepalive>;

// parse_copy_data parses one CopyData payload received from the walsender. Throws
// decode_error (pgoutput_decoder.hpp) on a truncated frame, trailing bytes in a keepalive, or
// an unknown frame type.
copy_frame parse_copy_data(std::string_view frame);

// standby_status: the client's feedback. Only flush moves the slot; callers must never send a
// value lower than one sent before.
struct standby_status {
    lsn_t write = 0;
    lsn_t flush = 0;
    lsn_t apply = 0;
    int64_t clock = 0;  // µs since 2000-01-01 UTC (now_pg_epoch_micros())
    bool reply_requested = false;
};

inline constexpr std::size_t standby_status_size = 34;

// build_standby_status returns the 34-byte 'r' CopyData payload.
std::string build_standby_status(const standby_status& status);

}  // namespace partshift::stream
