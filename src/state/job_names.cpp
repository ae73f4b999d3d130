// job_names: deterministic, legal names for a job's slot and publication. No I/O.
#include "partshift/state/job_names.hpp"

#include <boost/crc.hpp>
#include <cstdio>

namespace partshift::state {
namespace {

constexpr size_t max_identifier_bytes = 63;  // NAMEDATALEN - 1

std::string short_hash(std::string_view text) {
    boost::crc_32_type crc;
    crc.process_bytes(text.data(), text.size());
    char buf[9];
    std::snprintf(buf, sizeof buf, "%08x", static_cast<unsigned>(crc.checksum()));
    return buf;
}

// Cut at a UTF-8 character boundary so the result stays valid text.
std::string cut_utf8(std::string_view text, size_t max_bytes) {
    if (text.size() <= max_bytes) return std::string(text);
    size_t end = max_bytes;
    while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
    return std::string(text.substr(0, end));
}

}  // namespace

std::string object_name(std::string_view job) {
    std::string clean = "partshift_";
    bool changed = false;
    for (char ch : job) {
        unsigned char c = static_cast<unsigned char>(ch);
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_') {
            clean += ch;
        } else if (c >= 'A' && c <= 'Z') {
            clean += static_cast<char>(c - 'A' + 'a');
            changed = true;
        } else {
            clean += '_';
            changed = true;
        }
    }
    // Different jobs may clean to the same text ("Orders" vs "orders"); a hash of the
    // original keeps their slots apart.
    if (changed || clean.size() > max_identifier_bytes)
        return clean.substr(0, max_identifier_bytes - 9) + "_" + short_hash(job);
    return clean;
}

std::string slot_name(std::string_view database, std::string_view job) {
    return with_suffix(object_name(job), "_" + short_hash(database));
}

std::string with_suffix(std::string_view name, std::string_view suffix) {
    std::string full = std::string(name) + std::string(suffix);
    if (full.size() <= max_identifier_bytes) return full;
    std::string hash = short_hash(name);
    size_t keep = max_identifier_bytes - suffix.size() - hash.size() - 1;
    return cut_utf8(name, keep) + "_" + hash + std::string(suffix);
}

}  // namespace partshift::state
