// common_options: picking the job a command acts on (--job, or the only job in the database).
// The options themselves are declared in option_table. Wiring only.
#pragma once

#include <optional>
#include <string>

#include "partshift/pg/connection.hpp"

namespace partshift::cli {

// resolve_job picks the job: --job if given, else the only job in the database.
std::string resolve_job(pg::connection& conn, const std::optional<std::string>& job);

// resolve_whole_job: resolve_job for the commands that act on a whole job (cutover, pause,
// resume, set): a table of a multi-table job is refused with the job's name (exit 2).
std::string resolve_whole_job(pg::connection& conn, const std::optional<std::string>& job);

}  // namespace partshift::cli
