// Decoded pgoutput messages (PGOUTPUT.md): plain structs produced by the pure decoder and
// consumed by the spool and the applier. No I/O, no catalog access.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace partshift::stream {

using lsn_t = uint64_t;  // XLogRecPtr

// Formats and parses "16/B374D848".
std::string format_lsn(lsn_t lsn);
std::optional<lsn_t> parse_lsn(const std::string& text);

// tuple_value: one column of a TupleData.
struct tuple_value {
    enum class kind : char { null = 'n', unchanged_toast = 'u', text = 't', binary = 'b' };
    kind k = kind::null;
    std::string data;  // for text/binary
    bool operator==(const tuple_value&) const = default;
};
using tuple = std::vector<tuple_value>;

struct relation_column {
    bool is_key = false;
    std::string name;
    uint32_t type_oid = 0;
    int32_t typmod = -1;
    bool operator==(const relation_column&) const = default;
};

struct begin_msg {
    lsn_t final_lsn = 0;
    int64_t commit_time = 0;  // microseconds since 2000-01-01 UTC
    uint32_t xid = 0;
    bool operator==(const begin_msg&) const = default;
};
struct commit_msg {
    uint8_t flags = 0;
    lsn_t commit_lsn = 0;
    lsn_t end_lsn = 0;
    int64_t commit_time = 0;
    bool operator==(const commit_msg&) const = default;
};
struct origin_msg {
    lsn_t lsn = 0;
    std::string name;
    bool operator==(const origin_msg&) const = default;
};
struct relation_msg {
    // xid: set only inside a Stream Start ... Stop block. It is the xid of the
    // (sub)transaction that made the change — a subtransaction's xid for changes made after a
    // SAVEPOINT, not necessarily the block's toplevel xid. Group streamed changes by the
    // Stream Start xid; use this one only to drop a subtransaction's changes on a Stream Abort
    // whose subxid differs from its xid. Same meaning in every message below.
    std::optional<uint32_t> xid;
    uint32_t relid = 0;
    std::string nspname;
    std::string relname;
    char replica_identity = 'd';
    std::vector<relation_column> columns;
    bool operator==(const relation_msg&) const = default;
};
struct type_msg {
    std::optional<uint32_t> xid;
    uint32_t oid = 0;
    std::string nspname;
    std::string typname;
    bool operator==(const type_msg&) const = default;
};
struct insert_msg {
    std::optional<uint32_t> xid;
    uint32_t relid = 0;
    tuple new_tuple;
    bool operator==(const insert_msg&) const = default;
};
struct update_msg {
    std::optional<uint32_t> xid;
    uint32_t relid = 0;
    char old_kind = '\0';  // 'K' key only, 'O' whole old row, '\0' none sent
    tuple old_tuple;
    tuple new_tuple;
    bool operator==(const update_msg&) const = default;
};
struct delete_msg {
    std::optional<uint32_t> xid;
    uint32_t relid = 0;
    char old_kind = 'K';
    tuple old_tuple;
    bool operator==(const delete_msg&) const = default;
};
struct truncate_msg {
    std::optional<uint32_t> xid;
    uint8_t options = 0;  // 1 cascade, 2 restart identity
    std::vector<uint32_t> relids;
    bool operator==(const truncate_msg&) const = default;
};
struct logical_message_msg {
    std::optional<uint32_t> xid;
    bool transactional = false;
    lsn_t lsn = 0;
    std::string prefix;
    std::string content;
    bool operator==(const logical_message_msg&) const = default;
};
struct stream_start_msg {
    uint32_t xid = 0;
    bool first_segment = false;
    bool operator==(const stream_start_msg&) const = default;
};
struct stream_stop_msg {
    bool operator==(const stream_stop_msg&) const = default;
};
struct stream_commit_msg {
    uint32_t xid = 0;
    uint8_t flags = 0;
    lsn_t commit_lsn = 0;
    lsn_t end_lsn = 0;
    int64_t commit_time = 0;
    bool operator==(const stream_commit_msg&) const = default;
};
struct stream_abort_msg {
    uint32_t xid = 0;
    uint32_t subxid = 0;
    bool operator==(const stream_abort_msg&) const = default;
};

using message =
    std::variant<begin_msg, commit_msg, origin_msg, relation_msg, type_msg, insert_msg, update_msg,
                 delete_msg, truncate_msg, logical_message_msg, stream_start_msg, stream_stop_msg,
                 stream_commit_msg, stream_abort_msg>;

}  // namespace partshift::stream
