// job_names: deterministic, legal names for a job's slot and publication. No I/O.
#include "partshift/state/job_names.hpp"

#include "partshift/pg/quote.hpp"

#include <boost/crc.hpp>
#include <cstdio>

namespace partshift::state {
namespace {

std::string short_hash(std::string_view text) {
    boost::crc_32_type crc;
    crc.process_bytes(text.data(), text.size());
    char buf[9];
    std::snprintf(buf, sizeof buf, "%08x", static_cast<unsigned>(crc.checksum()));
    return buf;
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
    if (changed || clean.size() > pg::max_identifier_bytes)
        return clean.substr(0, pg::max_identifier_bytes - 9) + "_" + short_hash(job);
    return clean;
}

std::string slot_name(std::string_view database, std::string_view job) {
    // pg::fit_identifier keeps it within 63 bytes, as for every other name partshift makes.
    return pg::fit_identifier(object_name(job) + "_" + short_hash(database));
}

std::string spool_dir_name(std::string_view system_identifier, std::string_view database_oid,
                           std::string_view job) {
    return std::string(system_identifier) + "-" + std::string(database_oid) + "-" +
           object_name(job);
}

std::string fence_prefix(std::string_view job) {
    return "partshift.fence:" + std::string(job);
}

}  // namespace partshift::state
