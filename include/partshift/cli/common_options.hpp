// Options shared by several subcommands (--dsn, --job, --json, --help) and the helpers that
// read them. Wiring only.
#pragma once

#include <boost/program_options.hpp>
#include <optional>
#include <string>

#include "partshift/cli/commands.hpp"
#include "partshift/pg/connection.hpp"

namespace partshift::cli {

namespace po = boost::program_options;

// parse_or_help parses args against desc; prints usage and returns false for --help.
bool parse_or_help(const arguments& args, const po::options_description& desc,
                   const std::string& usage_line, po::variables_map& vm);

// resolve_job picks the job: --job if given, else the only job in the database.
std::string resolve_job(pg::connection& conn, const std::optional<std::string>& job);

// resolve_whole_job: resolve_job for the commands that act on a whole job (cutover, pause,
// resume, set): a table of a multi-table job is refused with the job's name (exit 2).
std::string resolve_whole_job(pg::connection& conn, const std::optional<std::string>& job);

std::optional<std::string> optional_string(const po::variables_map& vm, const char* name);

// dsn_help: --dsn's help text, the same for every command. A password written in the DSN is
// masked in ps once partshift has started, but visible until then and in the shell's history.
inline constexpr const char* dsn_help =
    "libpq connection string or URI; PG* environment variables apply as in psql. Keep the "
    "password out of it: ~/.pgpass (or PGPASSFILE) or a service file (service=NAME, "
    "PGSERVICEFILE) supply it without showing it to other users";

}  // namespace partshift::cli
