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
};
struct commit_msg {
    uint8_t flags = 0;
    lsn_t commit_lsn = 0;
    lsn_t end_lsn = 0;
    int64_t commit_time = 0;
};
struct origin_msg {
    lsn_t lsn = 0;
    std::string name;
};
struct relation_msg {
    std::optional<uint32_t> xid;  // inside a streamed block
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
};
struct insert_msg {
    std::optional<uint32_t> xid;
    uint32_t relid = 0;
    tuple new_tuple;
};
struct update_msg {
    std::optional<uint32_t> xid;
    uint32_t relid = 0;
    char old_kind = '\0';  // 'K' key only, 'O' whole old row, '\0' none sent
    tuple old_tuple;
    tuple new_tuple;
};
struct delete_msg {
    std::optional<uint32_t> xid;
    uint32_t relid = 0;
    char old_kind = 'K';
    tuple old_tuple;
};
struct truncate_msg {
    std::optional<uint32_t> xid;
    uint8_t options = 0;  // 1 cascade, 2 restart identity
    std::vector<uint32_t> relids;
};
struct logical_message_msg {
    std::optional<uint32_t> xid;
    bool transactional = false;
    lsn_t lsn = 0;
    std::string prefix;
    std::string content;
};
struct stream_start_msg {
    uint32_t xid = 0;
    bool first_segment = false;
};
struct stream_stop_msg {};
struct stream_commit_msg {
    uint32_t xid = 0;
    uint8_t flags = 0;
    lsn_t commit_lsn = 0;
    lsn_t end_lsn = 0;
    int64_t commit_time = 0;
};
struct stream_abort_msg {
    uint32_t xid = 0;
    uint32_t subxid = 0;
};

using message = std::variant<begin_msg, commit_msg, origin_msg, relation_msg, type_msg,
                             insert_msg, update_msg, delete_msg, truncate_msg,
                             logical_message_msg, stream_start_msg, stream_stop_msg,
                             stream_commit_msg, stream_abort_msg>;

}  // namespace partshift::stream
