// json_log_formatter: spdlog formatting for --log-format json: one object per line,
// {"ts":"2026-12-01T20:30:00.123456Z","time":…,"level":"info","pid":123,"job":"events",
// "phase":"follow","event":"lag","lag_bytes":0,…,"msg":"…"}, time in UTC, the fields a line
// carries (log_event.hpp) as members of their own, the message escaped as JSON requires
// (quotes, backslashes, control characters) and bytes that are not UTF-8 (a value from the
// database, a hook's output) replaced by U+FFFD. Also the text log's formatter, which prints
// a line's sentence without its fields.
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

// make_text_log_formatter: "2026-12-01 20:30:00.123 info the sentence", the level coloured
// where the sink colours.
std::unique_ptr<spdlog::formatter> make_text_log_formatter();

}  // namespace partshift::monitor
