// status_reader: reads a job's status from the database (partshift.jobs, the slot and the
// server's WAL position), from any shell, whether or not a run is active.
#pragma once

#include <string>

#include "partshift/pg/connection.hpp"
#include "status.pb.h"

namespace partshift::monitor {

// read_status throws usage_error when the job does not exist.
proto::status_report read_status(pg::connection& conn, const std::string& job);

std::string status_to_json(const proto::status_report& report);
std::string status_to_text(const proto::status_report& report);

}  // namespace partshift::monitor
