// status_list: every job's status as one table or one JSON array. Rendering only, over
// read_status.
#include "partshift/monitor/status_list.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <optional>

#include "partshift/monitor/byte_size.hpp"
#include "partshift/monitor/human_units.hpp"
#include "partshift/monitor/status_reader.hpp"
#include "partshift/state/job_list.hpp"
#include "partshift/state/setting_sources.hpp"

namespace partshift::monitor {

namespace {

std::optional<double> known(double seconds_left) {
    return seconds_left >= 0 ? std::optional(seconds_left) : std::nullopt;
}

// one_line: a last error on one line, cut to `width` characters (status --job has it whole).
std::string one_line(std::string text, size_t width) {
    std::replace(text.begin(), text.end(), '\n', ' ');
    if (text.size() > width) text = text.substr(0, width - 3) + "...";
    return text;
}

// short_source: where a setting came from, in a word or two (status --job says it in full).
std::string short_source(const proto::job_setting& s) {
    return s.source() == state::source_kept ? "kept" : s.source();
}

}  // namespace

std::string changed_settings(const proto::status_report& s) {
    std::string out;
    for (const auto& setting : s.settings()) {
        // Compact: a default (or, for a job of an older partshift, an unknown source) is what
        // the operator expects anyway; `status --job` lists every setting.
        if (setting.source().empty() || setting.source() == state::source_default) continue;
        out += (out.empty() ? "" : ", ") + setting.name() + " " + setting.value() + " (" +
               short_source(setting) + ")";
    }
    return out;
}

std::vector<proto::status_report> read_all_status(pg::connection& conn) {
    std::vector<proto::status_report> out;
    for (const auto& job : state::top_level_jobs(conn)) out.push_back(read_status(conn, job));
    return out;
}

std::string status_list_to_json(const std::vector<proto::status_report>& reports) {
    std::string out = "[";
    for (size_t i = 0; i < reports.size(); ++i) out += (i ? "," : "") + status_to_json(reports[i]);
    return out + "]";
}

std::string progress_cell(const proto::status_report& s) {
    const std::string& phase = s.phase();
    if (phase == "copy") {
        if (s.rows_estimate() <= 0)
            return human_count(static_cast<int64_t>(s.rows_copied())) + " rows copied";
        const double rows = s.rows_copied() + s.rows_in_flight();
        return fmt::format("{}{:.0f}% copied", s.rows_in_flight() > 0 ? "~" : "",
                           100.0 * std::min(rows, s.rows_estimate()) / s.rows_estimate());
    }
    if (phase == "index")
        return s.index_builds_total() > 0
                   ? fmt::format("index {}/{}", static_cast<int64_t>(s.index_builds_done()),
                                 static_cast<int64_t>(s.index_builds_total()))
                   : "building indexes";
    if (phase == "replay") return "replaying the spool";
    if (phase == "follow") return s.cutover_state().empty() ? "following" : s.cutover_state();
    if (phase == "done") {
        if (s.revert_state() == "broken") return "cut over, revert window broken";
        return s.revert_state() == "open" ? "cut over, revert window open" : "cut over";
    }
    return phase;
}

std::string time_left_cell(const proto::status_report& s) {
    if (!s.running() || s.phase() == "done") return "-";
    std::optional<double> left;
    if (s.phase() == "copy") left = known(s.copy_seconds_left());
    if (s.phase() == "index") left = known(s.index_seconds_left());
    if (s.phase() == "replay" || s.phase() == "follow") {
        // Only a converging catch-up has a time left; before its first estimate, none.
        if (s.catch_up() != "converging") return s.catch_up().empty() ? "-" : s.catch_up();
        left = known(s.catch_up_seconds_left());
    }
    return left ? human_eta(left) : "-";
}

std::string status_list_to_text(const std::vector<proto::status_report>& reports) {
    if (reports.empty()) return "no partshift job in this database\n";
    using row = std::array<std::string, 6>;
    std::vector<row> rows{{"JOB", "PHASE", "PROGRESS", "LAG", "TIME LEFT", "LAST ERROR"}};
    for (const auto& s : reports)
        rows.push_back(
            {s.job(), s.phase() + (s.running() || s.phase() == "done" ? "" : " (not running)"),
             progress_cell(s),
             s.phase() == "done"
                 ? "-"
                 : human_size(s.lag_bytes()) + ", " + human_duration(s.lag_seconds()),
             time_left_cell(s), s.last_error().empty() ? "-" : one_line(s.last_error(), 80)});
    std::array<size_t, 6> width{};
    for (const auto& r : rows)
        for (size_t c = 0; c < r.size(); ++c) width[c] = std::max(width[c], r[c].size());
    std::string out;
    for (size_t i = 0; i < rows.size(); ++i) {
        const auto& r = rows[i];
        std::string line;
        for (size_t c = 0; c < r.size(); ++c)
            line += c + 1 < r.size() ? fmt::format("{:<{}}  ", r[c], width[c]) : r[c];
        out += line + "\n";
        // Below its job's row, outside the columns: the settings someone changed.
        if (i == 0) continue;
        if (const auto changed = changed_settings(reports[i - 1]); !changed.empty())
            out += "  settings: " + changed + "\n";
    }
    return out;
}

}  // namespace partshift::monitor
