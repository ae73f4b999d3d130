// verify_report: rendering only; the numbers come from the verifier.
#include "partshift/verify/verify_report.hpp"

#include <fmt/ranges.h>
#include <google/protobuf/util/json_util.h>

#include <sstream>
#include <stdexcept>

#include "verify.pb.h"

namespace partshift::verify {
namespace {

std::string render_key(const copy::key_value& key) {
    return fmt::format("({})", fmt::join(key, ", "));
}

void fill_range(proto::key_range_report& out, const range_result& in) {
    if (in.bounds.lower)
        for (const auto& v : *in.bounds.lower) out.add_lower(v);
    if (in.bounds.upper)
        for (const auto& v : *in.bounds.upper) out.add_upper(v);
    out.set_rows_left(static_cast<double>(in.rows_left));
    out.set_rows_right(static_cast<double>(in.rows_right));
    for (const auto& k : in.keys) out.add_keys(render_key(k));
}

void write_ranges(std::ostream& out, const char* title, const std::vector<range_result>& ranges) {
    if (ranges.empty()) return;
    out << title << "\n";
    for (const auto& r : ranges) {
        out << "  " << copy::describe_bounds(r.bounds) << "  rows " << r.rows_left << " / "
            << r.rows_right;
        if (!r.keys.empty()) {
            out << "  keys";
            for (size_t i = 0; i < r.keys.size(); ++i)
                out << (i ? ", " : " ") << render_key(r.keys[i]);
        }
        out << "\n";
    }
}

proto::verify_report to_message(const report& r) {
    proto::verify_report p;
    p.set_job(r.job);
    p.set_phase(r.phase);
    p.set_left(r.left);
    p.set_right(r.right);
    p.set_swapped(r.swapped);
    p.set_run_active(r.run_active);
    p.set_chunks_total(static_cast<double>(r.chunks_total));
    p.set_chunks_rechecked(static_cast<double>(r.chunks_rechecked));
    p.set_chunks_mismatched(static_cast<double>(r.mismatches.size()));
    p.set_chunks_still_changing(static_cast<double>(r.still_changing.size()));
    p.set_rows_left(static_cast<double>(r.rows_left));
    p.set_rows_right(static_cast<double>(r.rows_right));
    for (const auto& m : r.mismatches) fill_range(*p.add_mismatches(), m);
    for (const auto& s : r.still_changing) fill_range(*p.add_still_changing(), s);
    for (const auto& d : r.duplicate_keys) {
        auto* out = p.add_duplicate_keys();
        for (const auto& v : d.key) out->add_key(v);
        out->set_copies(static_cast<double>(d.copies));
    }
    p.set_duplicate_keys_total(static_cast<double>(r.duplicate_keys_total));
    p.set_ok(r.ok());
    p.set_seconds(r.seconds);
    return p;
}

std::string to_json(const google::protobuf::Message& p) {
    google::protobuf::util::JsonPrintOptions options;
    options.always_print_primitive_fields = true;
    options.preserve_proto_field_names = true;
    std::string out;
    auto st = google::protobuf::util::MessageToJsonString(p, &out, options);
    if (!st.ok())
        throw std::runtime_error("cannot render the verify report as JSON: " + st.ToString());
    return out;
}

}  // namespace

std::string report_to_json(const report& r) {
    return to_json(to_message(r));
}

std::string group_report_to_json(const std::string& job, const std::vector<report>& reports) {
    proto::verify_group_report p;
    p.set_job(job);
    for (const auto& r : reports) *p.add_tables() = to_message(r);
    return to_json(p);
}

std::string report_to_text(const report& r) {
    std::ostringstream out;
    out << "job          " << r.job << " (phase " << r.phase
        << (r.run_active ? ", running" : ", not running") << ")\n"
        << "compared     " << r.left << " with " << r.right
        << (r.swapped ? " (after cutover: the kept original with the partitioned table)" : "")
        << "\n"
        << "chunks       " << r.chunks_total << " key ranges, " << r.chunks_rechecked
        << " rechecked, " << r.mismatches.size() << " mismatched, " << r.still_changing.size()
        << " still changing\n"
        << "rows         " << r.rows_left << " in " << r.left << ", " << r.rows_right << " in "
        << r.right << "\n";
    write_ranges(out, "mismatched key ranges (rows left / right):", r.mismatches);
    if (r.duplicate_keys_total > 0) {
        out << "duplicate keys in " << r.right << ": " << r.duplicate_keys_total << "\n";
        for (const auto& d : r.duplicate_keys)
            out << "  " << render_key(d.key) << " (" << d.copies << " copies)\n";
    }
    write_ranges(out, "still changing (not compared; the source kept changing):", r.still_changing);
    if (r.swapped && !r.mismatches.empty())
        out << "note         after cutover the original is no longer written to: writes made "
               "since the swap show up as differences\n";
    if (!r.run_active && !r.swapped && !r.mismatches.empty())
        out << "note         no run of this job is active: source changes made since it stopped "
               "are not applied yet and show up as differences\n";
    // "equal" only beside equal counts: the counts come from each range's first look (one
    // snapshot per side), so while the source changes they may differ although every range
    // that differed was equal when looked at again.
    std::string verdict = "MISMATCH";
    if (r.ok() && !r.still_changing.empty())
        verdict = "OK: no difference found in the ranges compared";
    else if (r.ok() && r.rows_left != r.rows_right)
        verdict =
            "OK: no difference found; the row counts differ because rows changed while they "
            "were counted (each range that differed was equal when compared again)";
    else if (r.ok())
        verdict = "OK: the tables are equal";
    out << "result       " << verdict << " (" << r.seconds << " s)\n";
    return out.str();
}

}  // namespace partshift::verify
