// pgoutput_decoder: one pgoutput message's bytes → stream::message (layouts in PGOUTPUT.md and
// PostgreSQL's proto.c). Pure and stateless; must not touch a connection, the catalog or any
// state across messages — the caller owns stream-block tracking and relation caches.
#include "partshift/stream/pgoutput_decoder.hpp"

#include <type_traits>

#include "byte_reader.hpp"

namespace partshift::stream {

namespace {

using detail::byte_reader;

// Smallest encodings, used to refuse counts the remaining bytes cannot hold before reserving
// memory: a fuzzed ncols of 65535 must not allocate for 65535 columns out of 10 bytes.
constexpr std::size_t min_tuple_column_bytes = 1;      // kind byte ('n' or 'u')
constexpr std::size_t min_relation_column_bytes = 10;  // flags, "" name, type oid, typmod
constexpr std::size_t relid_bytes = 4;

void check_count(byte_reader& in, std::size_t count, std::size_t min_each, const char* what) {
    if (count > in.remaining() / min_each) {
        in.fail(std::string(what) + " count " + std::to_string(count) +
                " exceeds what the remaining bytes can hold");
    }
}

std::optional<uint32_t> read_stream_xid(byte_reader& in, bool in_stream_block) {
    if (!in_stream_block) return std::nullopt;
    return in.u32();
}

tuple read_tuple(byte_reader& in) {
    const uint16_t ncols = in.u16();
    check_count(in, ncols, min_tuple_column_bytes, "column");
    tuple out;
    out.reserve(ncols);
    for (uint16_t i = 0; i < ncols; ++i) {
        tuple_value value;
        const char kind = in.byte();
        switch (kind) {
            case 'n':
                value.k = tuple_value::kind::null;
                break;
            case 'u':
                value.k = tuple_value::kind::unchanged_toast;
                break;
            case 't':
            case 'b': {
                value.k = kind == 't' ? tuple_value::kind::text : tuple_value::kind::binary;
                const int32_t len = in.i32();
                if (len < 0) in.fail("negative column length " + std::to_string(len));
                value.data = std::string(in.bytes(static_cast<std::size_t>(len)));
                break;
            }
            default:
                in.fail("unknown tuple column kind byte " +
                        std::to_string(static_cast<uint8_t>(kind)));
        }
        out.push_back(std::move(value));
    }
    return out;
}

// fail_unexpected reports a wrong marker byte. Built with += rather than a chain of +: GCC 12
// reports a false -Warray-bounds on the chain (GCC bug 105329).
[[noreturn]] void fail_unexpected(byte_reader& in, const char* expected, char got) {
    std::string why = "expected ";
    why += expected;
    why += ", got byte ";
    why += std::to_string(static_cast<uint8_t>(got));
    in.fail(why);
}

// read_old_tuple_kind reads a 'K'/'O' marker and the tuple that follows it.
char read_old_tuple_kind(byte_reader& in, char marker, tuple& old_tuple) {
    if (marker != 'K' && marker != 'O') fail_unexpected(in, "'K' or 'O'", marker);
    old_tuple = read_tuple(in);
    return marker;
}

void expect_new_tuple_marker(byte_reader& in, char got) {
    if (got != 'N') fail_unexpected(in, "'N'", got);
}

begin_msg read_begin(byte_reader& in) {
    begin_msg m;
    m.final_lsn = in.u64();
    m.commit_time = in.i64();
    m.xid = in.u32();
    return m;
}

commit_msg read_commit(byte_reader& in) {
    commit_msg m;
    m.flags = in.u8();
    m.commit_lsn = in.u64();
    m.end_lsn = in.u64();
    m.commit_time = in.i64();
    return m;
}

origin_msg read_origin(byte_reader& in) {
    origin_msg m;
    m.lsn = in.u64();
    m.name = in.cstring();
    return m;
}

relation_msg read_relation(byte_reader& in, bool in_stream_block) {
    relation_msg m;
    m.xid = read_stream_xid(in, in_stream_block);
    m.relid = in.u32();
    m.nspname = in.cstring();
    m.relname = in.cstring();
    m.replica_identity = in.byte();
    const uint16_t ncols = in.u16();
    check_count(in, ncols, min_relation_column_bytes, "relation column");
    m.columns.reserve(ncols);
    for (uint16_t i = 0; i < ncols; ++i) {
        relation_column col;
        // flags: bit 1 = part of the replica identity key; other bits are reserved.
        col.is_key = (in.u8() & 1) != 0;
        col.name = in.cstring();
        col.type_oid = in.u32();
        col.typmod = in.i32();
        m.columns.push_back(std::move(col));
    }
    return m;
}

type_msg read_type(byte_reader& in, bool in_stream_block) {
    type_msg m;
    m.xid = read_stream_xid(in, in_stream_block);
    m.oid = in.u32();
    m.nspname = in.cstring();
    m.typname = in.cstring();
    return m;
}

insert_msg read_insert(byte_reader& in, bool in_stream_block) {
    insert_msg m;
    m.xid = read_stream_xid(in, in_stream_block);
    m.relid = in.u32();
    expect_new_tuple_marker(in, in.byte());
    m.new_tuple = read_tuple(in);
    return m;
}

update_msg read_update(byte_reader& in, bool in_stream_block) {
    update_msg m;
    m.xid = read_stream_xid(in, in_stream_block);
    m.relid = in.u32();
    char marker = in.byte();
    if (marker != 'N') {
        m.old_kind = read_old_tuple_kind(in, marker, m.old_tuple);
        marker = in.byte();
    }
    expect_new_tuple_marker(in, marker);
    m.new_tuple = read_tuple(in);
    return m;
}

delete_msg read_delete(byte_reader& in, bool in_stream_block) {
    delete_msg m;
    m.xid = read_stream_xid(in, in_stream_block);
    m.relid = in.u32();
    m.old_kind = read_old_tuple_kind(in, in.byte(), m.old_tuple);
    return m;
}

truncate_msg read_truncate(byte_reader& in, bool in_stream_block) {
    truncate_msg m;
    m.xid = read_stream_xid(in, in_stream_block);
    const uint32_t nrels = in.u32();
    m.options = in.u8();
    check_count(in, nrels, relid_bytes, "relation");
    m.relids.reserve(nrels);
    for (uint32_t i = 0; i < nrels; ++i) m.relids.push_back(in.u32());
    return m;
}

logical_message_msg read_logical_message(byte_reader& in, bool in_stream_block) {
    logical_message_msg m;
    m.xid = read_stream_xid(in, in_stream_block);
    m.transactional = (in.u8() & 1) != 0;
    m.lsn = in.u64();
    m.prefix = in.cstring();
    const int32_t len = in.i32();
    if (len < 0) in.fail("negative content length " + std::to_string(len));
    m.content = std::string(in.bytes(static_cast<std::size_t>(len)));
    return m;
}

stream_start_msg read_stream_start(byte_reader& in) {
    stream_start_msg m;
    m.xid = in.u32();
    m.first_segment = in.u8() == 1;
    return m;
}

stream_commit_msg read_stream_commit(byte_reader& in) {
    stream_commit_msg m;
    m.xid = in.u32();
    m.flags = in.u8();
    m.commit_lsn = in.u64();
    m.end_lsn = in.u64();
    m.commit_time = in.i64();
    return m;
}

stream_abort_msg read_stream_abort(byte_reader& in) {
    stream_abort_msg m;
    m.xid = in.u32();
    m.subxid = in.u32();
    return m;
}

// Begin/Commit/Stream Start never appear inside a stream block; Stream Commit/Abort never do
// either (they follow Stream Stop). Seeing one there means the caller lost track.
void reject_in_stream(byte_reader& in, bool in_stream_block) {
    if (in_stream_block) in.fail("not allowed inside a stream block");
}

void reject_outside_stream(byte_reader& in, bool in_stream_block) {
    if (!in_stream_block) in.fail("only allowed inside a stream block");
}

message decode(byte_reader& in, bool in_stream_block) {
    in.set_what("pgoutput message");
    const char type = in.byte();
    switch (type) {
        case 'B':
            in.set_what("pgoutput Begin message");
            reject_in_stream(in, in_stream_block);
            return read_begin(in);
        case 'C':
            in.set_what("pgoutput Commit message");
            reject_in_stream(in, in_stream_block);
            return read_commit(in);
        case 'O':
            // Allowed in a stream block: pgoutput sends Origin right after the first Stream
            // Start of a streamed transaction (without an [xid] prefix).
            in.set_what("pgoutput Origin message");
            return read_origin(in);
        case 'R':
            in.set_what("pgoutput Relation message");
            return read_relation(in, in_stream_block);
        case 'Y':
            in.set_what("pgoutput Type message");
            return read_type(in, in_stream_block);
        case 'I':
            in.set_what("pgoutput Insert message");
            return read_insert(in, in_stream_block);
        case 'U':
            in.set_what("pgoutput Update message");
            return read_update(in, in_stream_block);
        case 'D':
            in.set_what("pgoutput Delete message");
            return read_delete(in, in_stream_block);
        case 'T':
            in.set_what("pgoutput Truncate message");
            return read_truncate(in, in_stream_block);
        case 'M':
            in.set_what("pgoutput Message message");
            return read_logical_message(in, in_stream_block);
        case 'S':
            in.set_what("pgoutput Stream Start message");
            reject_in_stream(in, in_stream_block);
            return read_stream_start(in);
        case 'E':
            in.set_what("pgoutput Stream Stop message");
            reject_outside_stream(in, in_stream_block);
            return stream_stop_msg{};
        case 'c':
            in.set_what("pgoutput Stream Commit message");
            reject_in_stream(in, in_stream_block);
            return read_stream_commit(in);
        case 'A':
            in.set_what("pgoutput Stream Abort message");
            reject_in_stream(in, in_stream_block);
            return read_stream_abort(in);
        default:
            in.fail("unknown message type byte " + std::to_string(static_cast<uint8_t>(type)));
    }
}

}  // namespace

message decode_pgoutput(std::string_view bytes, bool in_stream_block) {
    byte_reader in(bytes, "pgoutput message");
    if (bytes.empty()) in.fail("empty");
    message out = decode(in, in_stream_block);
    in.expect_end();
    return out;
}

message decode_pgoutput(std::span<const std::byte> bytes, bool in_stream_block) {
    return decode_pgoutput(
        std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()),
        in_stream_block);
}

char message_type(const message& msg) noexcept {
    return std::visit(
        [](const auto& m) -> char {
            using T = std::decay_t<decltype(m)>;
            if constexpr (std::is_same_v<T, begin_msg>) return 'B';
            if constexpr (std::is_same_v<T, commit_msg>) return 'C';
            if constexpr (std::is_same_v<T, origin_msg>) return 'O';
            if constexpr (std::is_same_v<T, relation_msg>) return 'R';
            if constexpr (std::is_same_v<T, type_msg>) return 'Y';
            if constexpr (std::is_same_v<T, insert_msg>) return 'I';
            if constexpr (std::is_same_v<T, update_msg>) return 'U';
            if constexpr (std::is_same_v<T, delete_msg>) return 'D';
            if constexpr (std::is_same_v<T, truncate_msg>) return 'T';
            if constexpr (std::is_same_v<T, logical_message_msg>) return 'M';
            if constexpr (std::is_same_v<T, stream_start_msg>) return 'S';
            if constexpr (std::is_same_v<T, stream_stop_msg>) return 'E';
            if constexpr (std::is_same_v<T, stream_commit_msg>) return 'c';
            if constexpr (std::is_same_v<T, stream_abort_msg>) return 'A';
        },
        msg);
}

}  // namespace partshift::stream
