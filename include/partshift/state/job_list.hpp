// job_list: which jobs a database holds, as a user names them (`status` lists them, commands
// without --job pick the only one). Must not: read a job's figures (status_reader does).
#pragma once

#include <string>
#include <vector>

#include "partshift/pg/connection.hpp"

namespace partshift::state {

// top_level_jobs: the names of the jobs a user starts and names (oldest first): not a revert
// window's reverse job nor a multi-table job's other tables, which belong to their job. Empty
// without partshift's schema.
std::vector<std::string> top_level_jobs(pg::connection& conn);

}  // namespace partshift::state
