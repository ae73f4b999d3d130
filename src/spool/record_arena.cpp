// record_arena: see record_arena.hpp.
#include "partshift/spool/record_arena.hpp"

namespace partshift::spool {

namespace {

google::protobuf::ArenaOptions over(char* block, std::size_t size) {
    google::protobuf::ArenaOptions options;
    options.initial_block = block;
    options.initial_block_size = size;
    return options;
}

}  // namespace

record_arena::record_arena(std::size_t first_block)
    : block_(std::make_unique<char[]>(first_block)), arena_(over(block_.get(), first_block)) {}

proto::spool_record& record_arena::fresh() {
    // Reset keeps a caller-provided initial block and frees only the blocks added after it.
    arena_.Reset();
    return *google::protobuf::Arena::CreateMessage<proto::spool_record>(&arena_);
}

}  // namespace partshift::spool
