// server_features: the job's server version and which of partshift's version-dependent
// features the job uses (the origin filter on 16+, a failover slot on 17+, the idle slot
// timeout on 18), for status.
// Read-only; must not decide anything for a run (the slot is created by stream/slot_manager,
// the guard lives in throttle/).
#pragma once

#include <string>

#include "partshift/pg/connection.hpp"
#include "status.pb.h"

namespace partshift::monitor {

// read_server_features fills the report's server_* and slot_* version fields from one query
// that runs on every supported version (newer slot columns read through to_jsonb).
void read_server_features(pg::connection& conn, proto::status_report& report);

// server_features_text: the status lines about the server, its features and, for a stopped
// job on a server with idle_replication_slot_timeout, how long the slot may stay unread.
std::string server_features_text(const proto::status_report& report);

}  // namespace partshift::monitor
