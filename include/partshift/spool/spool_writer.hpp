// spool_writer: appends spool records to segment files (segment_format.hpp) and makes them
// durable on flush(). On open it recovers the directory: a torn or CRC-mismatching tail of the
// last segment and an incomplete trailing transaction are truncated away (the server resends
// any transaction not acknowledged). Holds at most one write buffer of records in memory,
// never a whole transaction. Not thread-safe; one writer per directory. Must not decode or
// apply anything.
#pragma once

#include <algorithm>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "partshift/base/unique_fd.hpp"
#include "partshift/stream/pgoutput_messages.hpp"
#include "spool.pb.h"

namespace partshift::spool {

// position_prefix: the prefix of the non-transactional message records that note an idle
// position (record_position). The applier ignores them like any other foreign message.
inline constexpr const char* position_prefix = "partshift.spool-position";

struct spool_options {
    // A segment is rotated at the first transaction boundary after it reaches this size, so a
    // single huge transaction may make one segment larger.
    std::size_t segment_size = 64 * 1024 * 1024;
    // append() writes to the file (no fsync) whenever this much is buffered.
    std::size_t write_buffer_size = 1024 * 1024;
};

// spool_position: a place in the spool, e.g. how far it is durable.
struct spool_position {
    stream::lsn_t segment = 0;  // the segment's first LSN (its name)
    uint64_t offset = 0;        // bytes into that segment
    auto operator<=>(const spool_position&) const = default;
};

class spool_writer {
  public:
    // Opens (creating it if missing) and recovers dir. Throws partshift::runtime_error.
    explicit spool_writer(std::filesystem::path dir, spool_options options = {});
    spool_writer(const spool_writer&) = delete;
    spool_writer& operator=(const spool_writer&) = delete;
    // Closes without flushing: what was not flushed is lost, exactly as in a crash.
    ~spool_writer() = default;

    // append adds one record. Records must form transactions: Begin, then Relation / change /
    // Truncate / transactional Message records, then Commit; Relation records and
    // non-transactional Messages may also come between transactions. Transactions must come in
    // commit order: a Begin whose final_lsn is below last_commit_end_lsn() (a transaction the
    // server resent after a reconnect) is refused — skip those before appending. Throws
    // partshift::runtime_error on misuse or a write error (e.g. ENOSPC); after a write error the
    // writer refuses further use, reopen it to recover.
    void append(const proto::spool_record& record);

    // flush writes what is buffered, fsyncs the segment (and the directory after a new
    // segment), and returns the end_lsn of the last Commit that is now durable (0 if none): the
    // LSN the slot may be acknowledged with.
    stream::lsn_t flush();

    // publish hands what is buffered to the segment file without an fsync, so a reader in
    // this process (the applier's feed) sees it at once; durable only after flush().
    void publish();

    // record_position appends a position record (outside a transaction): everything up to lsn
    // is in the spool. Durable after the next flush().
    void record_position(stream::lsn_t lsn);
    // durable_position_lsn: max(durable commit end, durable recorded position); after
    // recovery, what the recovered spool proves it holds.
    stream::lsn_t durable_position_lsn() const noexcept {
        return std::max(durable_commit_end_, durable_recorded_);
    }

    // durable_commit_end_lsn: what the last flush() returned (after recovery: the last
    // recovered Commit's end_lsn).
    stream::lsn_t durable_commit_end_lsn() const noexcept { return durable_commit_end_; }
    // last_commit_end_lsn: the last appended Commit's end_lsn, durable or not.
    stream::lsn_t last_commit_end_lsn() const noexcept { return last_commit_end_; }
    // durable_position: how far the spool is durable; a reader following this writer passes it
    // as its read limit. {0, 0} while nothing is durable.
    spool_position durable_position() const noexcept { return durable_position_; }
    // written_position: how far records are in the segment files (durable or not), always at
    // a record boundary: the read limit of a reader in this process. Reading past the
    // durable position is safe: the slot is acknowledged only up to the durable one, so what
    // a machine crash takes from the file the server sends again.
    spool_position written_position() const noexcept { return written_position_; }
    bool in_transaction() const noexcept { return in_transaction_; }
    const std::filesystem::path& dir() const noexcept { return dir_; }

  private:
    void recover();
    void start_unit(stream::lsn_t lsn);
    void open_segment(stream::lsn_t first_lsn);
    void write_record(const proto::spool_record& record);
    void write_out();
    void sync_file(int fd, const std::filesystem::path& what);
    [[noreturn]] void fail_write(int err, const std::string& op, const std::filesystem::path& path);
    void check_usable() const;

    std::filesystem::path dir_;
    spool_options options_;
    base::unique_fd dir_fd_;

    base::unique_fd segment_fd_;
    std::filesystem::path segment_path_;
    stream::lsn_t segment_lsn_ = 0;
    uint64_t segment_written_ = 0;  // bytes handed to write()
    std::string buffer_;            // framed records not yet written
    std::string serialized_;        // the record being framed (reused)
    bool dir_sync_pending_ = false;

    // Every relation seen, for the snapshot at the head of each new segment. Bounded by the
    // number of published tables.
    std::map<uint32_t, proto::spool_relation> relations_;
    bool in_transaction_ = false;
    stream::lsn_t last_commit_end_ = 0;
    stream::lsn_t durable_commit_end_ = 0;
    stream::lsn_t recorded_ = 0;          // last position record appended
    stream::lsn_t durable_recorded_ = 0;  // ... and made durable
    spool_position durable_position_;
    spool_position written_position_;
    bool failed_ = false;
};

}  // namespace partshift::spool
