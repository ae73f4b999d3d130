// spool_writer: appends framed records to segment files, rotates at transaction boundaries,
// fsyncs on flush, and recovers a directory after a crash. Must not decode pgoutput or apply
// changes, and must never report a Commit as durable before its bytes are fsynced.
#include "partshift/spool/spool_writer.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "partshift/error.hpp"
#include "partshift/spool/segment_chain.hpp"
#include "partshift/spool/segment_format.hpp"
#include "segment_file_reader.hpp"
#include "write_failure.hpp"

namespace partshift::spool {

namespace {

using detail::segment_file_reader;

// scan_result: what recovery learns from reading one segment from the start.
struct scan_result {
    segment_file_reader::status stop = segment_file_reader::status::end;
    uint64_t valid_end = 0;  // end of the last intact record
    uint64_t boundary = 0;   // end of the last complete transaction (or record outside one)
    uint64_t file_size = 0;
    std::map<uint32_t, proto::spool_relation> relations;  // as of boundary
    std::optional<stream::lsn_t> last_commit_end;         // as of boundary
    std::optional<stream::lsn_t> last_position;           // position records, as of boundary
};

scan_result scan_segment(const std::filesystem::path& path) {
    scan_result out;
    out.file_size = std::filesystem::file_size(path);
    segment_file_reader in(path);
    out.stop = in.check_magic();
    if (out.stop != segment_file_reader::status::record) return out;
    out.valid_end = out.boundary = in.offset();

    // Relations seen inside the open transaction only count once it commits.
    std::map<uint32_t, proto::spool_relation> pending;
    bool in_transaction = false;
    std::string_view payload;
    proto::spool_record record;
    while (true) {
        out.stop = in.next(payload);
        if (out.stop != segment_file_reader::status::record) break;
        if (!record.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
            out.stop = segment_file_reader::status::corrupt;  // CRC right, bytes wrong: a bug
            break;
        }
        out.valid_end = in.offset();
        switch (record.body_case()) {
            case proto::spool_record::kBegin:
                in_transaction = true;
                break;
            case proto::spool_record::kRelation:
                pending[record.relation().relid()] = record.relation();
                break;
            case proto::spool_record::kCommit:
                in_transaction = false;
                out.last_commit_end = record.commit().end_lsn();
                break;
            case proto::spool_record::kMessage:
                if (!record.message().transactional() &&
                    record.message().prefix() == position_prefix)
                    out.last_position = record.message().lsn();
                break;
            default:
                break;
        }
        if (!in_transaction) {
            for (auto& [relid, rel] : pending) out.relations[relid] = std::move(rel);
            pending.clear();
            out.boundary = in.offset();
        }
    }
    return out;
}

std::string status_text(segment_file_reader::status s) {
    switch (s) {
        case segment_file_reader::status::torn:
            return "a torn (partially written) record";
        case segment_file_reader::status::corrupt:
            return "a record with a CRC mismatch";
        case segment_file_reader::status::bad_magic:
            return "a bad file header";
        default:
            return "an incomplete transaction";
    }
}

}  // namespace

spool_writer::spool_writer(std::filesystem::path dir, spool_options options)
    : dir_(std::move(dir)), options_(options) {
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    if (ec) {
        throw runtime_error("spool: cannot create directory " + dir_.string() + ": " +
                            ec.message() + " (use --spool-dir)");
    }
    dir_fd_.reset(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir_fd_) {
        throw runtime_error("spool: cannot open directory " + dir_.string() + ": " +
                            std::strerror(errno));
    }
    recover();
}

void spool_writer::recover() {
    auto segments = list_segments(dir_);
    while (!segments.empty()) {
        const auto& last = segments.back();
        scan_result scan = scan_segment(last.path);
        if (scan.stop == segment_file_reader::status::bad_magic) {
            throw runtime_error("spool: " + last.path.string() +
                                " is not a partshift spool segment; move it out of the spool "
                                "directory");
        }
        if (scan.boundary < scan.file_size) {
            spdlog::warn(
                "spool: {} ends with {} at offset {}; truncating {} byte(s) at offset {} "
                "(the server resends what was not acknowledged)",
                last.path.string(),
                status_text(scan.valid_end < scan.file_size ? scan.stop
                                                            : segment_file_reader::status::end),
                scan.valid_end, scan.file_size - scan.boundary, scan.boundary);
        }
        if (scan.boundary <= segment_magic.size()) {
            // Nothing complete in it (or only a torn header): drop the file, go one back.
            std::filesystem::remove(last.path);
            sync_file(dir_fd_.get(), dir_);
            segments.pop_back();
            continue;
        }
        segment_fd_.reset(::open(last.path.c_str(), O_WRONLY | O_CLOEXEC));
        if (!segment_fd_) fail_write(errno, "open", last.path);
        segment_path_ = last.path;
        segment_lsn_ = last.first_lsn;
        if (scan.boundary < scan.file_size) {
            if (::ftruncate(segment_fd_.get(), static_cast<off_t>(scan.boundary)) != 0) {
                fail_write(errno, "truncate", segment_path_);
            }
            sync_file(segment_fd_.get(), segment_path_);
        }
        if (::lseek(segment_fd_.get(), static_cast<off_t>(scan.boundary), SEEK_SET) < 0) {
            fail_write(errno, "seek", segment_path_);
        }
        segment_written_ = scan.boundary;
        relations_ = std::move(scan.relations);
        // The last commit may lie in an earlier segment when this one holds only
        // non-transactional messages.
        std::optional<stream::lsn_t> last_commit = scan.last_commit_end;
        std::optional<stream::lsn_t> last_position = scan.last_position;
        for (auto it = segments.rbegin() + 1;
             (!last_commit || !last_position) && it != segments.rend(); ++it) {
            auto earlier = scan_segment(it->path);
            if (!last_commit) last_commit = earlier.last_commit_end;
            if (!last_position) last_position = earlier.last_position;
        }
        last_commit_end_ = durable_commit_end_ = last_commit.value_or(0);
        recorded_ = durable_recorded_ = last_position.value_or(0);
        durable_position_ = written_position_ = spool_position{segment_lsn_, segment_written_};
        return;
    }
}

void spool_writer::check_usable() const {
    if (failed_) {
        throw runtime_error("spool: writer for " + dir_.string() +
                            " failed earlier; reopen the spool to recover");
    }
}

void spool_writer::append(const proto::spool_record& record) {
    check_usable();
    switch (record.body_case()) {
        case proto::spool_record::kBegin: {
            if (in_transaction_) throw runtime_error("spool: Begin inside an open transaction");
            const auto final_lsn = record.begin().final_lsn();
            if (final_lsn < last_commit_end_) {
                throw runtime_error("spool: transaction " + stream::format_lsn(final_lsn) +
                                    " is not after the last spooled commit " +
                                    stream::format_lsn(last_commit_end_) +
                                    " (a resent transaction must be skipped)");
            }
            start_unit(final_lsn);
            in_transaction_ = true;
            break;
        }
        case proto::spool_record::kCommit:
            if (!in_transaction_) throw runtime_error("spool: Commit outside a transaction");
            in_transaction_ = false;
            last_commit_end_ = record.commit().end_lsn();
            break;
        case proto::spool_record::kRelation:
            relations_[record.relation().relid()] = record.relation();
            // Before the first segment exists, the snapshot at its head will carry it.
            if (!segment_fd_) return;
            break;
        case proto::spool_record::kMessage:
            if (!record.message().transactional()) {
                if (in_transaction_) {
                    throw runtime_error("spool: non-transactional message inside a transaction");
                }
                start_unit(record.message().lsn());
            } else if (!in_transaction_) {
                throw runtime_error("spool: transactional message outside a transaction");
            }
            break;
        case proto::spool_record::kChange:
        case proto::spool_record::kTruncate:
            if (!in_transaction_) throw runtime_error("spool: change outside a transaction");
            break;
        case proto::spool_record::BODY_NOT_SET:
            throw runtime_error("spool: empty record");
    }
    write_record(record);
}

void spool_writer::record_position(stream::lsn_t lsn) {
    if (in_transaction_) throw runtime_error("spool: a position record inside a transaction");
    if (lsn <= std::max(recorded_, last_commit_end_)) return;
    proto::spool_record record;
    auto* m = record.mutable_message();
    m->set_transactional(false);
    m->set_lsn(lsn);
    m->set_prefix(position_prefix);
    append(record);
    recorded_ = lsn;
}

void spool_writer::start_unit(stream::lsn_t lsn) {
    if (segment_fd_ && segment_written_ + buffer_.size() < options_.segment_size) return;
    open_segment(lsn);
}

void spool_writer::open_segment(stream::lsn_t first_lsn) {
    segment_link link;  // the new segment names the one before it (segment_chain.hpp)
    if (segment_fd_) {
        // The old segment is complete and durable before the next one exists, so readers
        // may treat anything short in a non-last segment as corruption.
        write_out();
        link = {segment_lsn_, segment_written_};
        sync_file(segment_fd_.get(), segment_path_);
        if (dir_sync_pending_) sync_file(dir_fd_.get(), dir_);
        durable_commit_end_ = last_commit_end_;
        durable_recorded_ = recorded_;
        durable_position_ = spool_position{segment_lsn_, segment_written_};
        segment_fd_.reset();
    }
    const auto path = dir_ / segment_file_name(first_lsn);
    base::unique_fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                              0600));  // row images: owner only
    if (!fd) fail_write(errno, "create", path);
    segment_fd_ = std::move(fd);
    segment_path_ = path;
    segment_lsn_ = first_lsn;
    segment_written_ = 0;
    dir_sync_pending_ = true;
    buffer_.append(segment_magic);
    append_frame(buffer_, segment_link_record(first_lsn, link).SerializeAsString());
    for (const auto& [relid, rel] : relations_) {
        proto::spool_record r;
        *r.mutable_relation() = rel;
        append_frame(buffer_, r.SerializeAsString());
    }
}

void spool_writer::write_record(const proto::spool_record& record) {
    // One buffer for every record's bytes: a string per record was a malloc and a free each.
    record.SerializeToString(&serialized_);
    append_frame(buffer_, serialized_);
    if (buffer_.size() >= options_.write_buffer_size) write_out();
}

void spool_writer::write_out() {
    if (const int err = detail::write_fully(segment_fd_.get(), buffer_); err != 0) {
        // Cut off the partial record so the file stays readable up to what was written: a
        // failure after a partial write truncates back to the start of the buffer.
        if (::ftruncate(segment_fd_.get(), static_cast<off_t>(segment_written_)) != 0) {
            spdlog::warn("spool: could not cut a partial write off {}", segment_path_.string());
        }
        fail_write(err, "write", segment_path_);
    }
    segment_written_ += buffer_.size();
    buffer_.clear();
    written_position_ = spool_position{segment_lsn_, segment_written_};
}

void spool_writer::publish() {
    check_usable();
    if (segment_fd_ && !buffer_.empty()) write_out();
}

stream::lsn_t spool_writer::flush() {
    check_usable();
    if (segment_fd_) {
        write_out();
        sync_file(segment_fd_.get(), segment_path_);
        if (dir_sync_pending_) {
            sync_file(dir_fd_.get(), dir_);
            dir_sync_pending_ = false;
        }
        durable_position_ = spool_position{segment_lsn_, segment_written_};
    }
    durable_commit_end_ = last_commit_end_;
    durable_recorded_ = recorded_;
    return durable_commit_end_;
}

void spool_writer::sync_file(int fd, const std::filesystem::path& what) {
    if (::fsync(fd) != 0) fail_write(errno, "fsync", what);
}

void spool_writer::fail_write(int err, const std::string& op, const std::filesystem::path& path) {
    failed_ = true;
    detail::throw_write_failure(err, op, path);
}

}  // namespace partshift::spool
