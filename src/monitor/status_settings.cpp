// status_settings: the settings of `status` (see the header).
#include "partshift/monitor/status_settings.hpp"

#include <algorithm>

#include "partshift/monitor/human_units.hpp"
#include "partshift/state/setting_sources.hpp"

namespace partshift::monitor {
namespace {

// live_value: a live setting's value from the report's own fields.
std::string live_value(const proto::status_report& r, std::string_view key) {
    if (key == "copy_workers")
        return r.copy_workers() > 0 ? std::to_string(static_cast<int>(r.copy_workers())) : "";
    if (key == "apply_workers")
        return std::to_string(std::max(1, static_cast<int>(r.apply_workers())));
    if (key == "catch_up_pace") {
        const int percent = r.catch_up_pace() > 0 ? static_cast<int>(r.catch_up_pace()) : 100;
        return std::to_string(percent) + "%" + (percent >= 100 ? " (full speed)" : "");
    }
    if (key == "max_copy_rate")
        return r.max_copy_rate() > 0 ? human_rate(r.max_copy_rate(), "rows") : "none";
    return human_duration(r.max_lag_seconds());
}

void add(proto::status_report& report, const std::string& name, const std::string& value,
         const state::setting_source* source) {
    auto* s = report.add_settings();
    s->set_name(name);
    s->set_value(value);
    if (!source) return;
    s->set_source(source->source);
    s->set_at(source->at);
    s->set_kept_from(source->kept_from);
}

}  // namespace

void read_settings(pg::connection& conn, proto::status_report& report) {
    const auto sources = state::read_sources(conn, report.job());
    auto find = [&](const std::string& key) -> const state::setting_source* {
        const auto it = sources.find(key);
        return it == sources.end() ? nullptr : &it->second;
    };
    for (const auto& s : state::live_settings()) {
        const auto value = live_value(report, s.key);
        if (!value.empty()) add(report, std::string(s.name), value, find(std::string(s.key)));
    }
    // The run-only ones, as the last run recorded them (nothing before a run of this version).
    const std::pair<const char*, const char*> run_only[] = {{"max_lock_hold", "max lock hold"},
                                                            {"throttle_limits", "throttle limits"},
                                                            {"revert_window", "revert window"}};
    for (const auto& [key, name] : run_only)
        if (const auto* source = find(key)) add(report, name, source->value, source);
}

std::string settings_text(const proto::status_report& report) {
    std::string out;
    for (const auto& s : report.settings()) {
        const state::setting_source source{s.source(), s.at(), s.kept_from(), ""};
        const auto from = s.source().empty() ? "source unknown" : state::describe_source(source);
        out += "setting      " + s.name() + " " + s.value() + " (" + from + ")\n";
    }
    return out;
}

}  // namespace partshift::monitor
