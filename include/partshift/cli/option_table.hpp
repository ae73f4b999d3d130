// option_table: every command of the CLI and every option it takes, declared once, grouped by
// concern (connection, partitioning, copy, cutover, throttling, hooks, observability, ...).
// The parser (option_parsing), --help, the man page and the shell completion are all made from
// these definitions, so none of them can drift from another. Defaults shown here are read from
// the structs that hold them (migrate::run_options, cutover::cutover_settings), not retyped.
// Must not: read or check option values (run_options_reader and the commands do).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "partshift/cli/commands.hpp"

namespace partshift::cli {

// value_kind: what an option's value is, for the parser (flag or not) and the completion.
enum class value_kind { flag, text, file, directory, choice };

struct option_def {
    std::string name;        // without the dashes: "max-lock-hold"
    std::string value_name;  // "DURATION"; empty for a flag
    std::string help;
    std::string default_text;  // "2s"; empty: no default to show
    value_kind kind = value_kind::text;
    std::vector<std::string> choices;  // value_kind::choice
};

struct option_group {
    std::string title;  // "Cutover"
    std::vector<option_def> options;
};

struct command_def {
    std::string name;
    std::string summary;               // one line, for `partshift --help`
    std::vector<std::string> usage;    // synopsis lines, each starting "partshift NAME"
    std::string description;           // a paragraph for --help and the man page
    std::vector<option_group> groups;  // the options this command takes, by concern
    int (*handler)(const arguments&);
};

// option_groups: every group with all its options and their defaults (the man page's OPTIONS).
std::vector<option_group> option_groups();

// command_table: every command in the order `partshift --help` lists them, each with the
// subset of the groups it takes (set takes --max-lag without run's default, ...).
std::vector<command_def> command_table();

// find_command: the command named `name`; nullptr when there is none.
const command_def* find_command(const std::vector<command_def>& commands, std::string_view name);

// partition_options_group: the PARTITION-OPTIONS (also read from a --spec job file).
option_group partition_options_group();

// exit_code_table: each exit code and what it means, for `partshift --help` and the man page
// (DESIGN.md §5; error.hpp's exit_code is the mapping itself).
std::vector<std::pair<int, std::string>> exit_code_table();

// The taken-out-early options (app.cpp strips them before a command parses its arguments, so
// that every command, and every error, honours them); listed in each command's help.
inline constexpr const char* log_format_option = "log-format";
inline constexpr const char* log_level_option = "log-level";

}  // namespace partshift::cli
