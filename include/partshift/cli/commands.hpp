// The subcommands. Each parses its own options (after the subcommand name) and returns the
// process exit code, or throws partshift::error, which cli::run maps to its exit code.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace partshift::cli {

using arguments = std::vector<std::string>;

int command_plan(const arguments& args);
int command_run(const arguments& args);
int command_status(const arguments& args);
int command_cutover(const arguments& args);
int command_verify(const arguments& args);
int command_abort(const arguments& args);
int command_pause(const arguments& args);
int command_resume(const arguments& args);
int command_set(const arguments& args);
int command_revert(const arguments& args);
int command_finish(const arguments& args);
int command_help(const arguments& args);

// print_usage: `partshift --help` (and `partshift help`): the commands and the exit codes.
void print_usage(std::ostream& out);

// run is the whole CLI: dispatch, logging setup, and the one place errors become exit codes.
int run(int argc, char** argv);

}  // namespace partshift::cli
