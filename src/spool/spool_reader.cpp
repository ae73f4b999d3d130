// spool_reader: ordered, skipping, resumable reading across segments. Must not write, delete
// or buffer more than one record.
#include "partshift/spool/spool_reader.hpp"

#include "partshift/error.hpp"
#include "partshift/spool/segment_chain.hpp"
#include "partshift/spool/segment_format.hpp"
#include "segment_file_reader.hpp"

namespace partshift::spool {

using detail::segment_file_reader;

spool_reader::spool_reader(std::filesystem::path dir, stream::lsn_t applied_lsn)
    : dir_(std::move(dir)), applied_lsn_(applied_lsn), arena_(std::make_unique<record_arena>()) {}

spool_reader::~spool_reader() = default;
spool_reader::spool_reader(spool_reader&&) noexcept = default;
spool_reader& spool_reader::operator=(spool_reader&&) noexcept = default;

spool_position spool_reader::position() const noexcept {
    return {segment_lsn_, file_ ? file_->offset() : 0};
}

std::size_t spool_reader::buffer_capacity() const noexcept {
    return file_ ? file_->buffer_capacity() : 0;
}

bool spool_reader::open_first_segment() {
    const auto segments = list_segments(dir_);
    if (segments.empty()) return false;
    // The last segment named <= applied_lsn: all before it hold only applied transactions.
    const segment_info* start = &segments.front();
    for (const auto& s : segments) {
        if (s.first_lsn <= applied_lsn_) start = &s;
    }
    auto file = std::make_unique<segment_file_reader>(start->path);
    const auto status = file->check_magic();
    if (status == segment_file_reader::status::torn) return false;  // being created
    if (status != segment_file_reader::status::record) {
        throw runtime_error("spool: " + start->path.string() + " is not a spool segment");
    }
    file_ = std::move(file);
    segment_lsn_ = start->first_lsn;
    return true;
}

bool spool_reader::later_segment_exists() const {
    for (const auto& s : list_segments(dir_)) {
        if (s.first_lsn > segment_lsn_) return true;
    }
    return false;
}

// advance_segment moves to the segment after the current one, if there is one.
bool spool_reader::advance_segment() {
    for (const auto& s : list_segments(dir_)) {
        if (s.first_lsn <= segment_lsn_) continue;
        auto file = std::make_unique<segment_file_reader>(s.path);
        const auto status = file->check_magic();
        if (status == segment_file_reader::status::torn) return false;  // being created
        if (status != segment_file_reader::status::record) {
            throw runtime_error("spool: " + s.path.string() + " is not a spool segment");
        }
        // The next segment must continue the one just read: a segment missing in between (or
        // this one cut short) would otherwise be skipped without a trace.
        if (auto link = read_segment_link(s.path);
            link && link->previous &&
            (*link->previous != segment_lsn_ || link->previous_size != file_->offset())) {
            throw runtime_error("spool: " + s.path.string() + " does not continue " +
                                file_->path().filename().string() + " (it follows " +
                                segment_file_name(*link->previous) + " of " +
                                std::to_string(link->previous_size) + " bytes, read " +
                                std::to_string(file_->offset()) +
                                "): a segment is missing or was cut short");
        }
        file_ = std::move(file);
        segment_lsn_ = s.first_lsn;
        return true;
    }
    return false;
}

bool spool_reader::skip(const proto::spool_record& r) {
    switch (r.body_case()) {
        case proto::spool_record::kBegin:
            skipping_transaction_ = r.begin().final_lsn() < applied_lsn_;
            return skipping_transaction_;
        case proto::spool_record::kCommit: {
            const bool skipped = skipping_transaction_;
            skipping_transaction_ = false;
            return skipped;
        }
        case proto::spool_record::kRelation:
            return false;
        case proto::spool_record::kMessage:
            if (is_segment_link(r)) return true;  // the spool's own bookkeeping
            if (!r.message().transactional()) return r.message().lsn() < applied_lsn_;
            return skipping_transaction_;
        default:
            return skipping_transaction_;
    }
}

std::optional<proto::spool_record> spool_reader::next(std::optional<spool_position> limit) {
    if (const auto* record = next_in_place(limit)) return *record;
    return std::nullopt;
}

const proto::spool_record* spool_reader::next_in_place(std::optional<spool_position> limit) {
    if (!file_ && !open_first_segment()) return nullptr;
    std::string_view payload;
    while (true) {
        if (limit && segment_lsn_ > limit->segment) return nullptr;
        const bool limited = limit && segment_lsn_ == limit->segment;
        const auto status = limited ? file_->next(payload, limit->offset) : file_->next(payload);
        if (status == segment_file_reader::status::record) {
            proto::spool_record& record = arena_->fresh();
            if (!record.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
                throw runtime_error("spool: unparseable record in " + file_->path().string() +
                                    " before offset " + std::to_string(file_->offset()));
            }
            if (skip(record)) continue;
            return &record;
        }
        if (limited) return nullptr;  // nothing more is durable yet
        if (segment_finished_) {
            // A later segment exists, so this one was complete and fsynced before it was
            // created: anything but a clean end here is corruption.
            if (status != segment_file_reader::status::end) {
                throw runtime_error("spool: " +
                                    std::string(status == segment_file_reader::status::torn
                                                    ? "truncated"
                                                    : "corrupt") +
                                    " record in " + file_->path().string() + " at offset " +
                                    std::to_string(file_->offset()) + " (not the last segment)");
            }
            segment_finished_ = false;
            if (!advance_segment()) return nullptr;
            continue;
        }
        // The end of what is there now. If a later segment exists, read this one once more
        // (it may have grown since the read above) before moving on; if not, a short or
        // mismatching tail of the last segment may be a write in progress: try again later.
        if (!later_segment_exists()) return nullptr;
        segment_finished_ = true;
    }
}

}  // namespace partshift::spool
