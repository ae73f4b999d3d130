// record_arena: one spool record at a time on a protobuf arena whose first block is kept, so
// building or parsing a record costs no malloc and free per message, tuple, column and string.
// Those were most of partshift's allocations per change (a drain profile, session 17): an
// UPDATE record is some thirty objects. Not thread-safe; one per reader or writer.
#pragma once

#include <cstddef>
#include <memory>

#include <google/protobuf/arena.h>

#include "spool.pb.h"

namespace partshift::spool {

class record_arena {
  public:
    // first_block: bytes kept across records; a larger record takes more blocks, given back at
    // the next fresh().
    explicit record_arena(std::size_t first_block = 64 * 1024);
    record_arena(const record_arena&) = delete;
    record_arena& operator=(const record_arena&) = delete;

    // fresh: an empty record, valid until the next call (which frees it and all it holds).
    proto::spool_record& fresh();

  private:
    std::unique_ptr<char[]> block_;  // before arena_: the arena is built over it
    google::protobuf::Arena arena_;
};

}  // namespace partshift::spool
