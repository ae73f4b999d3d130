// spool_reader: reads spool records in order across segments, one at a time, for the applier.
// Starts at the segment holding the first transaction not yet applied and skips transactions
// already applied; Relation records are always returned (the applier needs the schema even
// for what it skips). Can follow a live writer: at the end of the data it returns nothing and
// the caller asks again later. Holds one record and a small read buffer in memory. Must not
// write or delete anything.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>

#include "partshift/spool/record_arena.hpp"
#include "partshift/spool/spool_writer.hpp"
#include "partshift/stream/pgoutput_messages.hpp"
#include "spool.pb.h"

namespace partshift::spool {

namespace detail {
class segment_file_reader;
}

class spool_reader {
  public:
    // applied_lsn: the applier's checkpoint (the end_lsn of the last applied Commit, 0 for
    // none). A transaction is skipped when its Commit end_lsn <= applied_lsn, decided at its
    // Begin as final_lsn < applied_lsn (equivalent: commit records do not overlap); a
    // non-transactional Message is skipped when its lsn < applied_lsn.
    spool_reader(std::filesystem::path dir, stream::lsn_t applied_lsn);
    ~spool_reader();
    spool_reader(spool_reader&&) noexcept;
    spool_reader& operator=(spool_reader&&) noexcept;

    // next returns the next record, or nothing if no more data is available yet. With
    // readable_up_to (a live writer's durable_position()), nothing past it is read; without
    // it, a partly written record at the end of the last segment counts as not there yet.
    // Throws partshift::runtime_error on corruption (CRC mismatch, short record in a segment
    // that is not the last, unparseable record).
    std::optional<proto::spool_record> next(
        std::optional<spool_position> readable_up_to = std::nullopt);
    // next_in_place: the same without a copy: the record lives in the reader and stays valid
    // until the next call of either (the applier's feed reads every change this way).
    const proto::spool_record* next_in_place(
        std::optional<spool_position> readable_up_to = std::nullopt);

    // position: where the next record will be read from (segment 0 before the first read).
    spool_position position() const noexcept;

    // buffer_capacity: bytes held by the read buffer (for tests of bounded memory).
    std::size_t buffer_capacity() const noexcept;

  private:
    bool open_first_segment();
    bool advance_segment();
    bool later_segment_exists() const;
    bool skip(const proto::spool_record& record);

    std::filesystem::path dir_;
    stream::lsn_t applied_lsn_;
    std::unique_ptr<detail::segment_file_reader> file_;
    stream::lsn_t segment_lsn_ = 0;
    bool skipping_transaction_ = false;
    bool segment_finished_ = false;        // a later segment exists: the current one is complete
    std::unique_ptr<record_arena> arena_;  // the record last read (behind a pointer: movable)
};

}  // namespace partshift::spool
