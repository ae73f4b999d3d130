// json_log_formatter: spdlog formatting for --log-format json: one object per line,
// {"time":"2026-12-01T20:30:00.123456Z","level":"info","pid":123,"msg":"…"}, time in UTC, the
// message escaped as JSON requires (quotes, backslashes, control characters) and bytes that
// are not UTF-8 (a value from the database, a hook's output) replaced by U+FFFD.
// Must not: decide where the lines go (the sink does).
#pragma once

#include <spdlog/formatter.h>

#include <memory>
#include <string>
#include <string_view>

namespace partshift::monitor {

// append_json_string_content: `text` escaped for use between a JSON string's quotes.
void append_json_string_content(std::string_view text, std::string& out);

// make_json_log_formatter: the formatter to give the sinks.
std::unique_ptr<spdlog::formatter> make_json_log_formatter();

}  // namespace partshift::monitor
