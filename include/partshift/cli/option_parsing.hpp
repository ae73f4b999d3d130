// option_parsing: a command's arguments → a variables_map, through the command's option
// definitions (option_table), with --help printed from the same definitions; and the small
// readers every command uses on the map. Values are kept as text here: checking them is the
// commands' job (one parser per kind of value: duration, byte_size, parse_count).
// Must not: connect, or know what any option means.
#pragma once

#include <boost/program_options.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "partshift/cli/commands.hpp"
#include "partshift/cli/option_table.hpp"

namespace partshift::cli {

namespace po = boost::program_options;

// describe: a group as Boost.Program_options declares it (flags as switches, values as text).
po::options_description describe(const option_group& group);

// help_text: what `partshift NAME --help` prints: usage, description, options by group.
std::string help_text(const command_def& command);

// parse_options: args against the command's options, --help included (not acted on).
po::variables_map parse_options(const command_def& command, const arguments& args);

// parse_command parses args for the command `name`. With --help it prints the help on stdout
// and returns nullopt. Unknown options and missing values throw po::error (exit 2 in app.cpp).
std::optional<po::variables_map> parse_command(std::string_view name, const arguments& args);

// flag: a switch was given.
bool flag(const po::variables_map& vm, const char* name);

// optional_string: the option's text, if given.
std::optional<std::string> optional_string(const po::variables_map& vm, const char* name);

// parse_count reads a whole number from min to max; else usage_error "--OPTION takes a number
// from MIN to MAX".
int parse_count(const std::string& text, const std::string& option, int min, int max);

// parse_catch_up_pace reads --catch-up-pace: a percent from 1 to 100, "%" optional ("50%").
int parse_catch_up_pace(const std::string& text);

}  // namespace partshift::cli
