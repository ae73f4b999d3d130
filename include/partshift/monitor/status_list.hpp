// status_list: `partshift status` without --job: every job of the database in one table (or
// one JSON array), each with its phase, progress, lag, time left, last error and the settings
// someone changed, so an operator with several jobs sees them all at once. The figures are
// read_status's. Must not: read anything read_status does not (one job's status is the source of
// truth), or decide which jobs exist (state::top_level_jobs does).
#pragma once

#include <string>
#include <vector>

#include "partshift/pg/connection.hpp"
#include "status.pb.h"

namespace partshift::monitor {

// read_all_status: the status of every job a user names (state::top_level_jobs), oldest
// first; empty without partshift's schema.
std::vector<proto::status_report> read_all_status(pg::connection& conn);

// status_list_to_json: a JSON array of status_to_json's objects.
std::string status_list_to_json(const std::vector<proto::status_report>& reports);

// status_list_to_text: a header and one line a job: JOB, PHASE, PROGRESS, LAG, TIME LEFT,
// LAST ERROR; under a job whose settings are not all at their default, one line with those
// ("  settings: copy workers 3 (set), max copy rate 4,000 rows/s (kept)"). Pure, for tests.
std::string status_list_to_text(const std::vector<proto::status_report>& reports);

// progress_cell / time_left_cell: what the table shows for one job ("56% copied", "index
// 3/12", "caught up", "~1 min 12 s left", "not converging", "-").
std::string progress_cell(const proto::status_report& s);
std::string time_left_cell(const proto::status_report& s);

// changed_settings: the job's settings not at their default, "NAME VALUE (SOURCE)" joined by
// ", " (SOURCE: command line, set, cutover, kept); empty when every one is at its default.
std::string changed_settings(const proto::status_report& s);

}  // namespace partshift::monitor
