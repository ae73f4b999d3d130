// log_event: the fields' encoding inside a log message, and back.
// A message with fields is: RS, then `key=value` items each ended by US, then RS, then the
// sentence (RS = 0x1E, US = 0x1F: control characters no sentence starts with; values are
// cleaned of them). Decoding trusts nothing: only the known keys are kept, numbers must parse
// as numbers, strings are escaped, so a sentence that happened to start with RS still makes a
// valid JSON line.
#include "partshift/monitor/log_event.hpp"

#include <charconv>
#include <cmath>

#include "partshift/monitor/json_log_formatter.hpp"

namespace partshift::monitor {
namespace {

constexpr char record_sep = '\x1e';
constexpr char unit_sep = '\x1f';

// append_item: `key=value` and its end; the separators in a value become '?'.
void append_item(std::string& out, std::string_view key, std::string_view value) {
    out += key;
    out += '=';
    for (char c : value) out += (c == record_sep || c == unit_sep) ? '?' : c;
    out += unit_sep;
}

enum class field_type { text, integer, number };

// type_of: the known fields and their JSON types; nullopt: not a field (dropped).
std::optional<field_type> type_of(std::string_view key) {
    if (key == "job" || key == "phase" || key == "event" || key == "applied_lsn" ||
        key == "durable_lsn")
        return field_type::text;
    if (key == "lag_bytes" || key == "rows_copied" || key == "rows_total")
        return field_type::integer;
    if (key == "lag_seconds") return field_type::number;
    return std::nullopt;
}

// json_number: `value` as a JSON number, or nullopt when it is not one of `type`.
std::optional<std::string> json_number(std::string_view value, field_type type) {
    const char* end = value.data() + value.size();
    if (type == field_type::integer) {
        int64_t n = 0;
        auto [p, ec] = std::from_chars(value.data(), end, n);
        if (ec != std::errc() || p != end) return std::nullopt;
        return std::to_string(n);
    }
    double d = 0;
    auto [p, ec] = std::from_chars(value.data(), end, d);
    if (ec != std::errc() || p != end || !std::isfinite(d)) return std::nullopt;
    return fmt::format("{}", d);
}

}  // namespace

std::string encode_log_payload(const log_fields& f, std::string_view text) {
    std::string out(1, record_sep);
    if (!f.job.empty()) append_item(out, "job", f.job);
    if (!f.phase.empty()) append_item(out, "phase", f.phase);
    if (!f.event.empty()) append_item(out, "event", f.event);
    if (f.lag_bytes) append_item(out, "lag_bytes", std::to_string(*f.lag_bytes));
    // Microsecond precision is what the lag is measured in; NaN or infinity is no number.
    if (f.lag_seconds && std::isfinite(*f.lag_seconds))
        append_item(out, "lag_seconds", fmt::format("{:.6f}", *f.lag_seconds));
    if (f.rows_copied) append_item(out, "rows_copied", std::to_string(*f.rows_copied));
    if (f.rows_total) append_item(out, "rows_total", std::to_string(*f.rows_total));
    if (!f.applied_lsn.empty()) append_item(out, "applied_lsn", f.applied_lsn);
    if (!f.durable_lsn.empty()) append_item(out, "durable_lsn", f.durable_lsn);
    out += record_sep;
    out += text;
    return out;
}

std::string_view log_text_of(std::string_view payload) {
    if (payload.empty() || payload.front() != record_sep) return payload;
    const auto end = payload.find(record_sep, 1);
    return end == std::string_view::npos ? payload : payload.substr(end + 1);
}

decoded_payload decode_log_payload(std::string_view payload) {
    decoded_payload d{log_text_of(payload), {}};
    if (d.text.size() == payload.size()) return d;
    std::string_view items = payload.substr(1, payload.size() - d.text.size() - 2);
    while (!items.empty()) {
        const auto end = items.find(unit_sep);
        const auto item = items.substr(0, end);
        items = end == std::string_view::npos ? std::string_view() : items.substr(end + 1);
        const auto eq = item.find('=');
        if (eq == std::string_view::npos) continue;
        const auto key = item.substr(0, eq), value = item.substr(eq + 1);
        const auto type = type_of(key);
        if (!type) continue;
        std::string rendered;
        if (*type == field_type::text) {
            rendered = "\"";
            append_json_string_content(value, rendered);
            rendered += "\"";
        } else if (auto number = json_number(value, *type)) {
            rendered = std::move(*number);
        } else {
            continue;
        }
        const auto member = fmt::format("\"{}\":", key);
        if (d.json_members.find(member) != std::string::npos) continue;  // once each
        if (!d.json_members.empty()) d.json_members += ',';
        d.json_members += fmt::format("\"{}\":{}", key, rendered);
    }
    return d;
}

void log_event_text(spdlog::level::level_enum level, const log_fields& fields,
                    std::string_view text) {
    spdlog::default_logger_raw()->log(level,
                                      spdlog::string_view_t(encode_log_payload(fields, text)));
}

}  // namespace partshift::monitor
