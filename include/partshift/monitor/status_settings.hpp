// status_settings: the part of `status` that lists each setting in effect with where it came
// from (command line, `partshift set` and when, kept from an earlier run, default): read from
// the job's row (state/setting_sources) into the report, and its lines for people.
// Must not: change the row (status reads only).
#pragma once

#include <string>

#include "partshift/pg/connection.hpp"
#include "status.pb.h"

namespace partshift::monitor {

// read_settings fills report.settings from the row; the live values from the report's own
// fields (copy_workers, max_copy_rate, max_lag_seconds), so read_status fills those first.
void read_settings(pg::connection& conn, proto::status_report& report);

// settings_text: "setting      max copy rate 4,000 rows/s (kept from an earlier run (set at
// …))" lines, one per setting; empty when there is none.
std::string settings_text(const proto::status_report& report);

}  // namespace partshift::monitor
