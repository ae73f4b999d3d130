// stream_staging: the streamed transactions of a job staged on disk until their commit
// (stream/streamed_transactions.hpp says why), one file per toplevel xid in a directory of the
// job's spool. Files are framed as segments are (segment_format.hpp) and never fsynced: the
// server streams again whatever a crash loses, and the files are removed when staging starts.
// Memory per open transaction: a write buffer, the offsets of its subtransactions and of its
// Relation messages; the changes themselves are on disk.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "partshift/base/unique_fd.hpp"
#include "partshift/spool/record_arena.hpp"
#include "partshift/stream/streamed_transactions.hpp"
#include "spool.pb.h"

namespace partshift::spool {
namespace detail {
class segment_file_reader;
}

class stream_staging : public stream::streamed_transactions {
  public:
    // Creates dir (owner-only) if needed and removes what an earlier run left in it. While a
    // transaction is replayed, the disk blocks of what was read are given back (a hole punched)
    // each time release_step more was read: the spool holds the transaction by then.
    explicit stream_staging(std::filesystem::path dir, std::size_t write_buffer_size = 256 << 10,
                            uint64_t release_step = uint64_t{64} << 20);
    ~stream_staging() override;
    stream_staging(const stream_staging&) = delete;
    stream_staging& operator=(const stream_staging&) = delete;

    void start(uint32_t xid, bool first_segment) override;
    void append(uint32_t xid, const stream::message& msg) override;
    void abort(uint32_t xid, uint32_t subxid) override;
    bool replay_some(uint32_t xid, const std::function<void(const stream::message&)>& each,
                     std::size_t max_messages) override;
    void discard(uint32_t xid) override;
    void clear() override;
    uint64_t staged_bytes() const override { return staged_bytes_; }

    std::size_t open_transactions() const override { return staged_.size(); }
    const std::filesystem::path& dir() const noexcept { return dir_; }

  private:
    struct staged_transaction {
        std::filesystem::path path;
        base::unique_fd fd;
        std::string buffer;    // bytes not yet written to the file
        uint64_t written = 0;  // bytes in the file
        // Where each subtransaction's first change starts, in the order they first appeared.
        std::vector<std::pair<uint32_t, uint64_t>> subtransactions;
        // Where each Relation message starts, with the message.
        std::vector<std::pair<uint64_t, stream::relation_msg>> relations;
        // Once its commit is being replayed: where the reading stands, and up to where the
        // disk blocks were given back.
        std::unique_ptr<detail::segment_file_reader> reader;
        uint64_t released = 0;
        uint64_t size() const noexcept { return written + buffer.size(); }
    };

    staged_transaction& open(uint32_t xid);
    void append_record(staged_transaction& txn, const stream::message& msg);
    void write_out(staged_transaction& txn);
    void cut(staged_transaction& txn, uint64_t offset);
    void release(staged_transaction& txn, uint64_t from, uint64_t to);
    void forget(uint32_t xid);

    std::filesystem::path dir_;
    std::size_t write_buffer_size_;
    uint64_t release_step_;
    std::map<uint32_t, staged_transaction> staged_;
    uint64_t staged_bytes_ = 0;
    std::string serialized_;  // one buffer for every record's bytes
    record_arena arena_;      // each record written or read back is built here
};

}  // namespace partshift::spool
