// replication_protocol: parses walsender CopyData frames and builds standby status updates.
// Pure; must not read the clock or touch a connection (the caller passes the time in).
#include "partshift/stream/replication_protocol.hpp"

#include "byte_reader.hpp"

namespace partshift::stream {

copy_frame parse_copy_data(std::string_view frame) {
    detail::byte_reader in(frame, "replication CopyData frame");
    const char type = in.byte();
    if (type == 'w') {
        in.set_what("XLogData frame");
        xlog_data d;
        d.data_start = in.u64();
        d.wal_end = in.u64();
        d.send_time = in.i64();
        d.payload = in.bytes(in.remaining());
        return d;
    }
    if (type == 'k') {
        in.set_what("keepalive frame");
        keepalive k;
        k.wal_end = in.u64();
        k.send_time = in.i64();
        k.reply_requested = in.u8() != 0;
        in.expect_end();
        return k;
    }
    in.fail("unknown frame type byte " + std::to_string(static_cast<uint8_t>(type)));
}

namespace {
void put_u64(std::string& out, uint64_t v) {
    for (int shift = 56; shift >= 0; shift -= 8)
        out.push_back(static_cast<char>((v >> shift) & 0xFF));
}
}  // namespace

std::string build_standby_status(const standby_status& status) {
    std::string out;
    out.reserve(standby_status_size);
    out.push_back('r');
    put_u64(out, status.write);
    put_u64(out, status.flush);
    put_u64(out, status.apply);
    put_u64(out, static_cast<uint64_t>(status.clock));
    out.push_back(status.reply_requested ? 1 : 0);
    return out;
}

}  // namespace partshift::stream
