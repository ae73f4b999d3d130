// log_setup: the process's logger: stderr, text (coloured, sharing a terminal with the copy's
// progress line) or, with --log-format json, one JSON object per line for log pipelines.
// --log-format and --log-level are taken out of the arguments before the subcommand sees them,
// so every subcommand accepts them (option_table lists them in each one's help). Wiring only;
// the JSON encoding is json_log_formatter's.
#pragma once

#include <optional>
#include <string>

#include "partshift/cli/commands.hpp"

namespace partshift::cli {

enum class log_format { text, json };

struct log_options {
    log_format format = log_format::text;
    std::optional<std::string> level;  // --log-level; unset: PARTSHIFT_LOG_LEVEL, else info
};

// take_log_options removes "--log-format X" / "--log-format=X" and "--log-level X" /
// "--log-level=X" from args (the last of each counts). A format other than text or json, or a
// level spdlog does not name (trace, debug, info, warn, error, critical, off), is a usage_error.
log_options take_log_options(arguments& args);

// take_log_format: take_log_options's format alone (leaves --log-level in args).
log_format take_log_format(arguments& args);

// setup_logging installs the default logger: level `level`, else PARTSHIFT_LOG_LEVEL, else info.
void setup_logging(log_format format, const std::optional<std::string>& level = std::nullopt);

}  // namespace partshift::cli
