// stream_staging: streamed transactions on disk until their Stream Commit. Must not touch the
// spool's segments (a directory of its own) and must not hold a transaction's changes in
// memory.
#include "partshift/spool/stream_staging.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <type_traits>

#include "partshift/error.hpp"
#include "partshift/spool/record_conversion.hpp"
#include "partshift/spool/segment_format.hpp"
#include "segment_file_reader.hpp"
#include "write_failure.hpp"

namespace partshift::spool {
namespace {

namespace fs = std::filesystem;
using detail::segment_file_reader;

constexpr std::string_view staged_suffix = ".stream";

// made_by: the (sub)transaction a streamed message names, if it names one.
std::optional<uint32_t> made_by(const stream::message& msg) {
    return std::visit(
        [](const auto& m) -> std::optional<uint32_t> {
            if constexpr (requires { m.xid; }) {
                if constexpr (std::is_same_v<decltype(m.xid), std::optional<uint32_t>>)
                    return m.xid;
            }
            return std::nullopt;
        },
        msg);
}

}  // namespace

stream_staging::stream_staging(fs::path dir, std::size_t write_buffer_size, uint64_t release_step)
    : dir_(std::move(dir)), write_buffer_size_(write_buffer_size), release_step_(release_step) {
    // Inside the job's directory, which exists and is private (job_marker.hpp): owner-only,
    // whatever the umask, and a directory of its own, not a link to one.
    if (::mkdir(dir_.c_str(), S_IRWXU) != 0 && errno != EEXIST)
        detail::throw_write_failure(errno, "mkdir", dir_);
    std::error_code ec;
    if (!fs::is_directory(fs::symlink_status(dir_, ec)))
        throw runtime_error("spool: " + dir_.string() + " is not a directory");
    // A killed run's staged transactions: the server streams them again.
    for (const auto& entry : fs::directory_iterator(dir_, ec)) {
        if (entry.path().extension() == staged_suffix) fs::remove(entry.path(), ec);
    }
}

stream_staging::~stream_staging() {
    clear();
}

stream_staging::staged_transaction& stream_staging::open(uint32_t xid) {
    if (auto found = staged_.find(xid); found != staged_.end()) return found->second;
    const auto path = dir_ / (std::to_string(xid) + std::string(staged_suffix));
    base::unique_fd fd(
        ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd) detail::throw_write_failure(errno, "create", path);
    auto& txn = staged_[xid];
    txn.path = path;
    txn.fd = std::move(fd);
    txn.buffer.append(segment_magic);
    staged_bytes_ += segment_magic.size();
    return txn;
}

void stream_staging::start(uint32_t xid, bool first_segment) {
    if (first_segment) forget(xid);
}

void stream_staging::append(uint32_t xid, const stream::message& msg) {
    if (!is_spooled(msg)) return;  // Type and Origin: nothing the applier uses
    auto& txn = open(xid);
    if (auto sub = made_by(msg); sub && *sub != xid) {
        const auto seen = std::any_of(txn.subtransactions.rbegin(), txn.subtransactions.rend(),
                                      [&](const auto& s) { return s.first == *sub; });
        if (!seen) txn.subtransactions.emplace_back(*sub, txn.size());
    }
    append_record(txn, msg);
}

void stream_staging::append_record(staged_transaction& txn, const stream::message& msg) {
    if (auto* rel = std::get_if<stream::relation_msg>(&msg))
        txn.relations.emplace_back(txn.size(), *rel);
    proto::spool_record& record = arena_.fresh();
    fill_spool_record(msg, record);
    record.SerializeToString(&serialized_);
    const auto before = txn.buffer.size();
    append_frame(txn.buffer, serialized_);
    staged_bytes_ += txn.buffer.size() - before;
    if (txn.buffer.size() >= write_buffer_size_) write_out(txn);
}

void stream_staging::write_out(staged_transaction& txn) {
    if (const int err = detail::write_fully(txn.fd.get(), txn.buffer); err != 0)
        detail::throw_write_failure(err, "write", txn.path);
    txn.written += txn.buffer.size();
    txn.buffer.clear();
}

void stream_staging::abort(uint32_t xid, uint32_t subxid) {
    auto it = staged_.find(xid);
    if (it == staged_.end()) return;
    if (subxid == xid) {
        forget(xid);
        return;
    }
    auto& txn = it->second;
    auto sub = std::find_if(txn.subtransactions.begin(), txn.subtransactions.end(),
                            [&](const auto& s) { return s.first == subxid; });
    if (sub == txn.subtransactions.end()) return;  // it changed nothing that was streamed
    const uint64_t offset = sub->second;
    txn.subtransactions.erase(sub, txn.subtransactions.end());
    cut(txn, offset);
}

void stream_staging::cut(staged_transaction& txn, uint64_t offset) {
    // The Relation messages in the part cut off: pgoutput sends one once per transaction, so
    // the changes after the abort count on it. The last one of each relation is kept.
    std::vector<stream::relation_msg> kept;
    for (auto it = txn.relations.begin(); it != txn.relations.end();) {
        if (it->first < offset) {
            ++it;
            continue;
        }
        auto same = std::find_if(kept.begin(), kept.end(),
                                 [&](const auto& r) { return r.relid == it->second.relid; });
        if (same != kept.end()) kept.erase(same);
        kept.push_back(std::move(it->second));
        it = txn.relations.erase(it);
    }
    staged_bytes_ -= txn.size() - offset;
    if (offset >= txn.written) {
        txn.buffer.resize(offset - txn.written);
    } else {
        txn.buffer.clear();
        if (::ftruncate(txn.fd.get(), static_cast<off_t>(offset)) != 0 ||
            ::lseek(txn.fd.get(), static_cast<off_t>(offset), SEEK_SET) < 0)
            detail::throw_write_failure(errno, "truncate", txn.path);
        txn.written = offset;
    }
    for (const auto& rel : kept) append_record(txn, rel);
}

bool stream_staging::replay_some(uint32_t xid,
                                 const std::function<void(const stream::message&)>& each,
                                 std::size_t max_messages) {
    auto it = staged_.find(xid);
    if (it == staged_.end()) return true;
    auto& txn = it->second;
    if (!txn.reader) {
        write_out(txn);
        txn.reader = std::make_unique<segment_file_reader>(txn.path);
        if (txn.reader->check_magic() != segment_file_reader::status::record)
            throw runtime_error("spool: the streamed transaction staged in " + txn.path.string() +
                                " cannot be read back");
    }
    auto& in = *txn.reader;
    std::string_view payload;
    for (std::size_t handed = 0; handed < max_messages; ++handed) {
        const auto status = in.next(payload);
        if (status == segment_file_reader::status::end) {
            forget(xid);
            return true;
        }
        proto::spool_record& record = arena_.fresh();
        if (status != segment_file_reader::status::record ||
            !record.ParseFromArray(payload.data(), static_cast<int>(payload.size())))
            throw runtime_error("spool: the streamed transaction staged in " + txn.path.string() +
                                " cannot be read back whole");
        each(from_spool_record(record));
        if (in.offset() - txn.released >= release_step_) {
            release(txn, txn.released, in.offset());
            txn.released = in.offset();
        }
    }
    return false;
}

void stream_staging::release(staged_transaction& txn, uint64_t from, uint64_t to) {
    // The transaction is being copied into the spool, where it stays whole until it is
    // applied: without this, it would take its size twice on disk at the end of the copy.
    // Where the file system cannot punch holes the file is simply removed at the end.
    if (::fallocate(txn.fd.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                    static_cast<off_t>(from), static_cast<off_t>(to - from)) != 0 &&
        errno != EOPNOTSUPP && errno != ENOSYS)
        spdlog::debug("spool: could not release the replayed part of {}: {}", txn.path.string(),
                      std::strerror(errno));
}

void stream_staging::discard(uint32_t xid) {
    forget(xid);
}

void stream_staging::forget(uint32_t xid) {
    auto it = staged_.find(xid);
    if (it == staged_.end()) return;
    staged_bytes_ -= it->second.size();
    std::error_code ec;
    fs::remove(it->second.path, ec);
    if (ec) spdlog::warn("spool: could not remove {}: {}", it->second.path.string(), ec.message());
    staged_.erase(it);
}

void stream_staging::clear() {
    while (!staged_.empty()) forget(staged_.begin()->first);
}

}  // namespace partshift::spool
