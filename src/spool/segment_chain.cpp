// segment_chain: link records and the resume check over segment files. Must not write.
#include "partshift/spool/segment_chain.hpp"

#include <charconv>

#include "partshift/error.hpp"
#include "partshift/spool/segment_format.hpp"
#include "segment_file_reader.hpp"

namespace partshift::spool {

namespace {

using detail::segment_file_reader;

// Content: "<previous segment's file name> <its size>", or "none" for the first segment.
std::string link_content(const segment_link& link) {
    if (!link.previous) return "none";
    return segment_file_name(*link.previous) + " " + std::to_string(link.previous_size);
}

std::optional<segment_link> parse_link_content(std::string_view text) {
    if (text == "none") return segment_link{};
    auto space = text.find(' ');
    if (space == std::string_view::npos) return std::nullopt;
    auto previous = parse_segment_file_name(text.substr(0, space));
    if (!previous) return std::nullopt;
    segment_link link{previous, 0};
    auto size = text.substr(space + 1);
    auto [end, ec] = std::from_chars(size.data(), size.data() + size.size(), link.previous_size);
    if (ec != std::errc() || end != size.data() + size.size()) return std::nullopt;
    return link;
}

std::string name_of(const segment_info& s) {
    return s.path.filename().string();
}

[[noreturn]] void refuse(const std::filesystem::path& dir, const std::string& what,
                         stream::lsn_t applied_lsn) {
    throw runtime_error("spool in " + dir.string() + ": " + what +
                        "; it holds changes after the applied LSN " +
                        stream::format_lsn(applied_lsn) +
                        " that the slot already acknowledged (the server will not send them "
                        "again). Put the segment back, or run 'partshift abort' and start the "
                        "job again");
}

// first_damage: the offset of the first record of a complete segment that is not intact.
std::optional<uint64_t> first_damage(const std::filesystem::path& path) {
    segment_file_reader in(path);
    if (in.check_magic() != segment_file_reader::status::record) return 0;
    std::string_view payload;
    while (true) {
        uint64_t at = in.offset();
        auto status = in.next(payload);
        if (status == segment_file_reader::status::end) return std::nullopt;
        if (status != segment_file_reader::status::record) return at;
    }
}

}  // namespace

proto::spool_record segment_link_record(stream::lsn_t first_lsn, const segment_link& link) {
    proto::spool_record r;
    auto* m = r.mutable_message();
    m->set_transactional(false);
    m->set_lsn(first_lsn);
    m->set_prefix(segment_link_prefix);
    m->set_content(link_content(link));
    return r;
}

bool is_segment_link(const proto::spool_record& r) {
    return r.has_message() && !r.message().transactional() &&
           r.message().prefix() == segment_link_prefix;
}

std::optional<segment_link> read_segment_link(const std::filesystem::path& segment) {
    segment_file_reader in(segment);
    if (in.check_magic() != segment_file_reader::status::record) return std::nullopt;
    std::string_view payload;
    if (in.next(payload) != segment_file_reader::status::record) return std::nullopt;
    proto::spool_record r;
    if (!r.ParseFromArray(payload.data(), static_cast<int>(payload.size())) || !is_segment_link(r))
        return std::nullopt;
    return parse_link_content(r.message().content());
}

void check_segment_chain(const std::filesystem::path& dir, stream::lsn_t applied_lsn) {
    const auto segments = list_segments(dir);
    for (size_t i = 0; i < segments.size(); ++i) {
        const auto& s = segments[i];
        // Everything before a segment named at or below the applied LSN is applied: a hole
        // there loses nothing (cleanup removes such segments on purpose).
        const bool unapplied_before = s.first_lsn > applied_lsn;
        if (auto link = read_segment_link(s.path); link && unapplied_before && link->previous) {
            if (i == 0 || segments[i - 1].first_lsn != *link->previous)
                refuse(dir,
                       "segment " + segment_file_name(*link->previous) + " is missing (it came " +
                           (i == 0 ? std::string("before ")
                                   : "between " + name_of(segments[i - 1]) + " and ") +
                           name_of(s) + ")",
                       applied_lsn);
            auto size = std::filesystem::file_size(segments[i - 1].path);
            if (size != link->previous_size)
                refuse(dir,
                       "segment " + name_of(segments[i - 1]) + " has " + std::to_string(size) +
                           " bytes, but had " + std::to_string(link->previous_size) + " when " +
                           name_of(s) + " was started (cut short or overwritten)",
                       applied_lsn);
        }
        // Complete segments holding unapplied changes are read through once: a damaged
        // record there would otherwise stop the applier only when it gets to it.
        const bool last = i + 1 == segments.size();
        const bool holds_unapplied = last || segments[i + 1].first_lsn > applied_lsn;
        if (!last && holds_unapplied)
            if (auto at = first_damage(s.path))
                refuse(dir,
                       "segment " + name_of(s) + " is damaged at offset " + std::to_string(*at) +
                           " (before " + name_of(segments[i + 1]) + ")",
                       applied_lsn);
    }
}

}  // namespace partshift::spool
