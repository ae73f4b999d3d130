// log_setup: the process's logger: stderr, text (coloured, sharing a terminal with the copy's
// progress line) or, with --log-format json, one JSON object per line for log pipelines.
// --log-format is taken out of the arguments before the subcommand sees them, so every
// subcommand accepts it. Wiring only; the JSON encoding is json_log_formatter's.
#pragma once

#include "partshift/cli/commands.hpp"

namespace partshift::cli {

enum class log_format { text, json };

// take_log_format removes "--log-format X" / "--log-format=X" from args; text when absent.
// A value other than text or json is a usage_error.
log_format take_log_format(arguments& args);

// setup_logging installs the default logger (level info, PARTSHIFT_LOG_LEVEL overrides).
void setup_logging(log_format format);

}  // namespace partshift::cli
